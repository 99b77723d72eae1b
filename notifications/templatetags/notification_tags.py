from django import template

from notifications import selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_notification_count(context) -> int:
    """The signed-in user's unread count for the bell: one query, run only where the bell is drawn."""
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    return selectors.unread_count(user) if user is not None else 0


@register.filter
def open_url(notification) -> str:
    """The link that opens a notification: marks it read, then redirects to its URL."""
    from django.urls import reverse

    from notifications.views import open_token

    return reverse("notifications:open", args=[notification.pk]) + "?t=" + open_token(notification)


@register.filter
def what_happened(notification) -> str:
    """The label of a notification in the list: what happened ("New comment"), not the settings' sentence."""
    from notifications.models import WHAT_HAPPENED

    return WHAT_HAPPENED.get(notification.kind, notification.get_kind_display())
