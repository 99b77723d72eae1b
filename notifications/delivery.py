"""Delivering outbox rows: claim a batch with a lease, send each through Django's email API, record the result.

Claiming uses SELECT ... FOR UPDATE SKIP LOCKED (where the database has it), so two workers never take the
same row; a row whose worker died keeps its lease only until `claimed_until`, then any worker may retake it.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from .models import OutboxEmail
from .services import email_render

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=5)
BATCH = 100


def _claim(batch: int) -> list[OutboxEmail]:
    now = timezone.now()
    due = Q(status__in=[OutboxEmail.State.PENDING, OutboxEmail.State.FAILED], next_attempt_at__lte=now) | Q(
        status=OutboxEmail.State.SENDING, claimed_until__lt=now
    )
    with transaction.atomic():
        qs = OutboxEmail.objects.filter(due).order_by("next_attempt_at", "id")
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        rows = list(qs[:batch])
        ids = [r.pk for r in rows]
        OutboxEmail.objects.filter(pk__in=ids).update(status=OutboxEmail.State.SENDING, claimed_until=now + LEASE)
    return rows


def _send(row: OutboxEmail, conn) -> str:
    if not row.body_text:
        rendered = email_render(kind=row.kind, context=row.context)
        row.subject, row.body_text, row.body_html = rendered.subject, rendered.text, rendered.html
    msg = EmailMultiAlternatives(
        row.subject, row.body_text, settings.DEFAULT_FROM_EMAIL, [row.recipient], connection=conn
    )
    if row.body_html:
        msg.attach_alternative(row.body_html, "text/html")
    msg.send()
    status = getattr(msg, "anymail_status", None)
    return (status.message_id or "") if status else ""


def outbox_deliver_due(batch: int = BATCH) -> int:
    """Send due rows batch by batch until none is left. Returns how many were sent."""
    sent = 0
    conn = get_connection()
    while rows := _claim(batch):
        for row in rows:
            try:
                message_id = _send(row, conn)
            except Exception as exc:  # any provider error: retried with backoff, then dead
                attempts = row.attempts + 1
                dead = attempts >= settings.AETHER_OUTBOX_MAX_ATTEMPTS
                OutboxEmail.objects.filter(pk=row.pk).update(
                    attempts=attempts,
                    status=OutboxEmail.State.DEAD if dead else OutboxEmail.State.FAILED,
                    next_attempt_at=timezone.now() + timedelta(seconds=min(3600, 30 * 2**attempts)),
                    claimed_until=None,
                    last_error=f"{type(exc).__name__}: {exc}"[:2000],
                )
                log.warning("outbox row %s failed (attempt %s): %s", row.pk, attempts, exc)
                continue
            OutboxEmail.objects.filter(pk=row.pk).update(
                status=OutboxEmail.State.SENT,
                attempts=row.attempts + 1,
                sent_at=timezone.now(),
                claimed_until=None,
                provider_message_id=message_id,
                subject=row.subject,
                body_text=row.body_text,
                body_html=row.body_html,
            )
            sent += 1
    return sent
