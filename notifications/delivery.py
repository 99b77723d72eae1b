"""Delivering outbox rows: claim a batch under a lease, send each through Django's email API, record the result.

The contract that makes "never lost, never twice for one event" hold:

- Claiming is one short transaction: SELECT ... FOR UPDATE SKIP LOCKED picks due rows no other worker is
  claiming, and the same transaction marks them `sending` with a lease (`claimed_until`, also written to
  `next_attempt_at`, so "due" is one index range: status still to deliver and next_attempt_at <= now).
  Two workers never hold the same row.
- A worker sends only while its lease has at least half its length left (measured on its own monotonic clock
  from before the claim, so no clock skew can stretch it); rows it has not reached by then go back to the
  queue. With EMAIL_TIMEOUT far below half a lease, no row is ever sent by a worker whose lease expired.
- A row is marked `sent` (with the provider's message id) right after the backend accepted it, one commit per
  row, so a worker killed at any instant can leave at most the one row it was sending in doubt; that row is
  retaken when its lease expires and may then be sent twice. That is the only duplicate the design allows, and
  it is the same message: the Message-ID is the row's (notifications/headers.py `message_id`), the same at
  every attempt.
- A worker that died holding rows leaves them `sending`; when the lease expires they are due again. Each
  such loss counts as an attempt, so a row that kills its workers (a poison message) ends up dead, not in an
  endless loop.
- Just before sending a claimed batch, the worker asks again who is still a member of the team each row is
  about (one query, settings.NOTIFICATIONS_AUDIENCE_CHECK): a row whose recipient has left is not sent but
  marked dead, its last error saying why, so an email queued before a removal never reaches the leaver.
- An invitation or a password reset (LINK_AT_DELIVERY_KINDS) is rendered here with a link made just now
  (settings.NOTIFICATIONS_LINK_AT_DELIVERY: accounts makes it from the reference the row holds), and its row
  is marked sent without the body: the link, a credential, exists only in the email as sent. A link that no
  longer applies (the invitation was withdrawn, the account deactivated) leaves the row dead, not sent.
- A failed send is retried with capped exponential backoff and jitter; after AETHER_OUTBOX_MAX_ATTEMPTS the
  row is dead, its last error kept. Retry times live in the rows: the periodic sweep finds them.

Lease and retry times are the database's clock (Now()), so workers on several hosts agree; sent_at, only
ever read by people, is the worker's.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.module_loading import import_string

from .headers import email_headers
from .models import LINK_AT_DELIVERY_KINDS, OutboxEmail, OutboxState
from .services import NOT_A_MEMBER, audience_current, email_render

log = logging.getLogger(__name__)

BATCH = 100  # rows per claim: large enough that claims cost little, small enough to spread over workers
BACKOFF_BASE = 60  # seconds before the first retry (nominal; jitter takes it to 30-60 s)
BACKOFF_FACTOR = 4  # 1, 4, 16, 60 minutes nominal: a provider outage of an hour or so loses nothing
BACKOFF_CAP = 60 * 60
SWEEP_BUDGET = 120  # seconds one sweep task sends before handing the rest to a fresh task (< soft time limit)


class LinkNoLongerValid(Exception):
    """The link of an invitation or reset email no longer applies; the email is not sent."""


# Exceptions that no retry will cure: the address itself is refused, the link is void. The row goes dead at once.
try:
    from anymail.exceptions import AnymailInvalidAddress, AnymailRecipientsRefused

    PERMANENT_ERRORS: tuple[type[Exception], ...] = (AnymailInvalidAddress, AnymailRecipientsRefused, LinkNoLongerValid)
except ImportError:  # pragma: no cover - anymail is a dependency; kept importable without it
    PERMANENT_ERRORS = (LinkNoLongerValid,)

_STILL_TO_DELIVER = [OutboxState.PENDING, OutboxState.FAILED, OutboxState.SENDING]


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    released: int = 0  # claimed but handed back unsent because the lease or the task's budget ran short
    withheld: int = 0  # not sent: the recipient is no longer a member of the team the email is about
    more: bool = False  # stopped with work perhaps left: the caller may queue another run

    def __iadd__(self, other: DeliveryReport) -> DeliveryReport:
        self.sent += other.sent
        self.failed += other.failed
        self.dead += other.dead
        self.released += other.released
        self.withheld += other.withheld
        self.more = self.more or other.more
        return self


def lease_seconds() -> int:
    return settings.AETHER_OUTBOX_LEASE_SECONDS


def retry_delay(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: exponential, capped, with "equal jitter" (half fixed,
    half random), so retries of many rows failed together spread out yet each wait is never shorter than the
    previous one's longest."""
    nominal = min(BACKOFF_CAP, BACKOFF_BASE * BACKOFF_FACTOR ** max(attempts - 1, 0))
    return timedelta(seconds=nominal / 2 + random.uniform(0, nominal / 2))


def _due() -> Q:
    return Q(status__in=_STILL_TO_DELIVER, next_attempt_at__lte=Now())


def outbox_claim(*, limit: int = BATCH, ids: list[int] | None = None) -> list[OutboxEmail]:
    """Claim up to `limit` due rows (among `ids` if given) for this worker: mark them `sending` under a lease
    and return them. A pending row among `ids` is taken even if the writer's clock put it a moment ahead.

    Rows whose previous worker's lease expired count that loss as an attempt; those out of attempts are
    marked dead here, not returned.
    """
    lease = timedelta(seconds=lease_seconds())
    wanted = _due() if ids is None else Q(pk__in=ids) & (_due() | Q(status=OutboxState.PENDING))
    with transaction.atomic():
        _this_commit_waits_for_disk()
        qs = OutboxEmail.objects.filter(wanted).order_by("next_attempt_at", "id").select_for_update(skip_locked=True)
        rows = list(qs[:limit])
        if not rows:
            return []
        max_attempts = settings.AETHER_OUTBOX_MAX_ATTEMPTS
        lost = [r for r in rows if r.status == OutboxState.SENDING]
        for row in lost:
            row.attempts += 1
        exhausted = [r.pk for r in lost if r.attempts >= max_attempts]
        if exhausted:
            OutboxEmail.objects.filter(pk__in=exhausted).update(
                status=OutboxState.DEAD,
                attempts=F("attempts") + 1,
                claimed_until=None,
                last_error="The worker sending it was lost (lease expired) too many times.",
            )
            log.error("outbox rows %s dead: their workers were lost %s times", exhausted, max_attempts)
        claimed = [r for r in rows if r.pk not in set(exhausted)]
        if claimed:
            OutboxEmail.objects.filter(pk__in=[r.pk for r in claimed]).update(
                status=OutboxState.SENDING,
                attempts=Case(
                    When(status=OutboxState.SENDING, then=F("attempts") + 1),
                    default=F("attempts"),
                    output_field=OutboxEmail._meta.get_field("attempts"),
                ),
                claimed_until=Now() + Value(lease),
                next_attempt_at=Now() + Value(lease),
            )
    return claimed


def _release(rows: list[OutboxEmail]) -> int:
    """Hand claimed rows back unsent, due at once (pending if never tried, else failed)."""
    if not rows:
        return 0
    return OutboxEmail.objects.filter(pk__in=[r.pk for r in rows], status=OutboxState.SENDING).update(
        status=Case(When(attempts=0, then=Value(OutboxState.PENDING)), default=Value(OutboxState.FAILED)),
        claimed_until=None,
        next_attempt_at=Now(),
    )


def _message_for(row: OutboxEmail, conn) -> tuple[EmailMultiAlternatives, str]:
    headers = email_headers(row)  # threading, List-Unsubscribe (made now, never stored), List-Id, Auto-Submitted
    msg = EmailMultiAlternatives(
        row.subject,
        row.body_text,
        settings.DEFAULT_FROM_EMAIL,
        [row.recipient],
        connection=conn,
        headers=headers,
    )
    if row.body_html:
        msg.attach_alternative(row.body_html, "text/html")
    return msg, headers["Message-ID"]


def outbox_send(row: OutboxEmail, conn) -> str:
    """Send one claimed row (rendering it first if it was written with context only) and return the
    provider's message id (anymail), or the Message-ID header we set (SMTP and the rest). Raises unless the
    backend accepted the message."""
    if row.kind in LINK_AT_DELIVERY_KINDS:
        url = import_string(settings.NOTIFICATIONS_LINK_AT_DELIVERY)(row.kind, row.context, row.user_id)
        if url is None:
            raise LinkNoLongerValid("Not sent: its link no longer applies (withdrawn, used, expired or deactivated).")
        rendered = email_render(kind=row.kind, context={**row.context, "url": url})
        row.subject, row.body_text, row.body_html = rendered.subject, rendered.text, rendered.html
        # Not _rendered_now: the row keeps no body, so the link exists only in the email as sent.
    elif not row.body_text:
        rendered = email_render(kind=row.kind, context=row.context)
        row.subject, row.body_text, row.body_html = rendered.subject, rendered.text, rendered.html
        row._rendered_now = True
    msg, message_id = _message_for(row, conn)
    if msg.send() != 1:
        raise RuntimeError("The email backend did not accept the message.")
    status = getattr(msg, "anymail_status", None)
    if status is not None and status.message_id is not None:
        return str(status.message_id)
    return message_id


def _record_sent(row: OutboxEmail, message_id: str) -> None:
    """Mark one row sent, in its own commit. This runs once per email, so it is a single prepared-shape
    statement rather than an ORM update (which costs about as much Python as the send itself)."""
    table = connection.ops.quote_name(OutboxEmail._meta.db_table)
    if getattr(row, "_rendered_now", False):  # keep exactly what was sent
        extra, params = ", subject = %s, body_text = %s, body_html = %s", [row.subject, row.body_text, row.body_html]
    else:
        extra, params = "", []
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, attempts = %s, sent_at = %s, claimed_until = NULL, "  # noqa: S608 -- constant SQL
            f"provider_message_id = %s, last_error = ''{extra} WHERE id = %s",
            [OutboxState.SENT, row.attempts + 1, timezone.now(), message_id[:255], *params, row.pk],
        )


def _record_failure(row: OutboxEmail, exc: Exception) -> bool:
    """Count the failed attempt; schedule the next with backoff, or give up. True if the row is now dead."""
    attempts = row.attempts + 1
    dead = attempts >= settings.AETHER_OUTBOX_MAX_ATTEMPTS or isinstance(exc, PERMANENT_ERRORS)
    OutboxEmail.objects.filter(pk=row.pk).update(
        attempts=attempts,
        status=OutboxState.DEAD if dead else OutboxState.FAILED,
        next_attempt_at=Now() if dead else Now() + Value(retry_delay(attempts)),
        claimed_until=None,
        last_error=f"{type(exc).__name__}: {exc}"[:2000],
    )
    log.warning("outbox row %s failed (attempt %s%s): %s", row.pk, attempts, ", dead" if dead else "", exc)
    return dead


def _commit_without_waiting_for_disk(on: bool) -> None:
    """This session's commits return before their WAL reaches the disk (synchronous_commit off).

    Each sent row is committed on its own, so that a killed worker leaves at most one row in doubt; waiting
    for a disk flush at each of those commits would cap delivery at the disk's flush rate (about 200 rows a
    second on the benchmark machine). The trade: if the PostgreSQL server itself crashes, the last moment's
    "sent" marks (at most about 3 x wal_writer_delay, 0.6 s by default) can be lost, and those rows are sent
    again when their lease expires. A killed worker loses nothing (its commits are in the server already), and
    the database's consistency is never at risk. Reset at the end: the connection may serve other tasks.
    """
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF" if on else "RESET synchronous_commit")


def _this_commit_waits_for_disk() -> None:
    """The current transaction (a claim) commits only once its WAL is on disk, whatever the session
    says. A claim is the step before any send, and flushing the WAL up to this commit also flushes every
    earlier commit: so the transaction that wrote a row (the deadline jobs commit without waiting, see
    tasks/sql.py) is durable before its email can leave, and a server crash cannot undo a row that was sent.
    One flush per claimed batch, not per email."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit TO ON")


class _Mailer:
    """One email connection kept open across a batch (SMTP's handshake is the costly part), opened at the first
    send, so a sweep with nothing to send opens none; dropped after a failure in case the failure broke it."""

    def __init__(self):
        self._conn = None

    @property
    def conn(self):
        if self._conn is None:
            self._conn = get_connection()
            try:
                self._conn.open()
            except Exception as exc:  # the send reports it, row by row
                log.warning("could not open the email connection: %s", exc)
        return self._conn

    def reset(self):
        self.close()

    def close(self):
        if self._conn is None:
            return
        try:
            self._conn.close()
        except Exception:  # closing a broken connection: nothing left to save
            log.debug("closing the email connection failed", exc_info=True)
        self._conn = None


def _withhold_from_former_members(rows: list[OutboxEmail]) -> tuple[list[OutboxEmail], int]:
    """Check the claimed rows' audience again, just before sending (one query per batch): a row about a team
    its recipient has left since it was written is not sent but marked dead with the reason (visible in the
    outbox admin). Returns the rows still to send and how many were withheld."""
    pairs = {(r.user_id, r.team_id) for r in rows if r.user_id is not None and r.team_id is not None}
    if not pairs:
        return rows, 0
    left = pairs - audience_current(pairs)
    gone = {r.pk for r in rows if (r.user_id, r.team_id) in left}
    if not gone:
        return rows, 0
    OutboxEmail.objects.filter(pk__in=gone, status=OutboxState.SENDING).update(
        status=OutboxState.DEAD, claimed_until=None, next_attempt_at=Now(), last_error=NOT_A_MEMBER
    )
    log.info("outbox rows %s not sent: their recipients left the team", sorted(gone))
    return [r for r in rows if r.pk not in gone], len(gone)


def _send_claimed(rows: list[OutboxEmail], mailer: _Mailer, stop_at: float) -> DeliveryReport:
    report = DeliveryReport()
    rows, report.withheld = _withhold_from_former_members(rows)
    for i, row in enumerate(rows):
        if time.monotonic() >= stop_at:
            report.released += _release(rows[i:])
            break
        try:
            message_id = outbox_send(row, mailer.conn)
        except SoftTimeLimitExceeded:
            _release(rows[i:])
            raise
        except Exception as exc:  # any provider or rendering error: retried with backoff, then dead
            if _record_failure(row, exc):
                report.dead += 1
            else:
                report.failed += 1
            mailer.reset()
            continue
        _record_sent(row, message_id)
        report.sent += 1
    return report


def outbox_deliver(*, ids: list[int] | None = None, budget: float = SWEEP_BUDGET) -> DeliveryReport:
    """Deliver rows: the given `ids` (those still due), or, without ids, every due row batch by batch.

    Stops claiming once `budget` seconds have passed (`more` in the report then says work may be left).
    Safe to run any number of times, anywhere, at once.
    """
    report = DeliveryReport()
    started = time.monotonic()
    half_lease = lease_seconds() / 2
    chunks = [ids[i : i + BATCH] for i in range(0, len(ids), BATCH)] if ids is not None else None
    mailer = _Mailer()
    _commit_without_waiting_for_disk(True)
    try:
        while True:
            if time.monotonic() - started >= budget:
                report.more = True
                break
            claim_started = time.monotonic()
            if chunks is not None:
                if not chunks:
                    break
                rows = outbox_claim(ids=chunks.pop(0))
            else:
                rows = outbox_claim()
                if not rows:
                    break
            report += _send_claimed(rows, mailer, min(claim_started + half_lease, started + budget))
    finally:
        _commit_without_waiting_for_disk(False)
        mailer.close()
    report.more = report.more or report.released > 0
    if report.sent or report.failed or report.dead or report.withheld:
        log.info(
            "outbox: %s sent, %s failed, %s dead, %s withheld, %s released",
            report.sent, report.failed, report.dead, report.withheld, report.released,
        )  # fmt: skip
    return report
