"""Writing notifications: outbox rows and in-app rows, in the caller's transaction.

Callers (task services, account services, scheduled jobs) describe an event; this module decides who hears of
it by which channel (preferences), renders the email, and writes the rows. Delivery happens after commit.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from .models import SWITCHABLE_KINDS, Kind, Notification, NotificationPreference, OutboxEmail


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def email_render(*, kind: str, context: dict) -> RenderedEmail:
    """Render templates/email/<kind>_subject.txt, <kind>.txt and <kind>.html with the given context."""
    ctx = {"site_url": settings.SITE_URL, **context}
    subject = " ".join(render_to_string(f"email/{kind}_subject.txt", ctx).split())
    return RenderedEmail(
        subject=subject[:255],
        text=render_to_string(f"email/{kind}.txt", ctx),
        html=render_to_string(f"email/{kind}.html", ctx),
    )


def channels_for(*, user, kind: str) -> tuple[bool, bool]:
    """(email, in_app) for this user and kind; no stored preference means both on."""
    if kind not in SWITCHABLE_KINDS:
        return True, False
    pref = NotificationPreference.objects.filter(user=user, kind=kind).values_list("email", "in_app").first()
    return pref if pref else (True, True)


def delivery_enqueue_on_commit() -> None:
    """Ask a worker to deliver what is due, once the current transaction commits.

    Never a bare .delay() inside a transaction: the worker could look before the rows exist, and a rolled
    back change must not send anything. If the broker is down the rows wait for the sweep.
    """

    def _kick():
        from .tasks import deliver_outbox

        try:
            deliver_outbox.delay()
        except Exception:  # broker unreachable: the periodic sweep delivers the rows later
            import logging

            logging.getLogger(__name__).warning("could not reach the broker; the outbox sweep will deliver")

    transaction.on_commit(_kick)


def email_enqueue(*, kind: str, recipient: str, dedupe_key: str, context: dict, user=None, task=None) -> bool:
    """Write one outbox row (rendered now) unless one with this dedupe key exists. True if it was written."""
    rendered = email_render(kind=kind, context=context)
    created = bool(
        OutboxEmail.objects.bulk_create(
            [
                OutboxEmail(
                    recipient=recipient,
                    user=user,
                    subject=rendered.subject,
                    body_text=rendered.text,
                    body_html=rendered.html,
                    context=context,
                    kind=kind,
                    task=task,
                    dedupe_key=dedupe_key[:200],
                    next_attempt_at=timezone.now(),
                )
            ],
            ignore_conflicts=True,
        )
    )
    delivery_enqueue_on_commit()
    return created


def notify(*, kind: Kind, user, actor, event: str, message: str, task=None, url: str = "", context=None) -> None:
    """Tell `user` of an event by the channels they chose. Nobody is told of their own action.

    `event` names the event uniquely (for example "task:12:assigned:345", with the Activity id), so that
    the same event can never produce two emails or two in-app rows.
    """
    if user is None or not user.is_active or (actor is not None and user.pk == actor.pk):
        return
    email_on, in_app_on = channels_for(user=user, kind=kind)
    if in_app_on:
        Notification.objects.bulk_create(
            [
                Notification(
                    user=user,
                    kind=kind,
                    task=task,
                    actor=actor,
                    message=message[:300],
                    url=url,
                    dedupe_key=f"{event}:{user.pk}"[:200],
                )
            ],
            ignore_conflicts=True,
        )
    if email_on:
        email_enqueue(
            kind=kind,
            recipient=user.email,
            user=user,
            task=task,
            dedupe_key=f"{event}:{user.pk}",
            context={
                "recipient_name": user.get_short_name(),
                "actor_name": actor.get_full_name() if actor else "Aether",
                "message": message,
                "url": url,
                "task_title": task.title if task else "",
                **(context or {}),
            },
        )
