"""The one signal receiver here: anymail's tracking webhook (a framework hook), handed straight to a service."""

from anymail.signals import tracking
from django.dispatch import receiver

from .services import outbox_record_tracking


@receiver(tracking, dispatch_uid="notifications.outbox_tracking")
def outbox_tracking_event(sender, event, esp_name, **kwargs):
    """A provider reports what became of an email (delivered, bounced, complained, ...)."""
    outbox_record_tracking(
        event_type=event.event_type,
        message_id=event.message_id,
        description=event.description or event.mta_response or event.reject_reason or "",
    )
