"""Celery tasks of the outbox. Thin: they take ids (or nothing), call one service, and are safe to run twice."""

from celery import shared_task

from . import delivery


@shared_task(name="notifications.deliver_outbox", ignore_result=True)
def deliver_outbox() -> int:
    """Deliver every outbox row that is due. Sent after commit by the services, and by the sweep."""
    return delivery.outbox_deliver_due()
