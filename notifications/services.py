"""Writing notifications: outbox rows and in-app rows, in the caller's transaction; reading them as read;
preferences; the outbox operations of the admin; provider tracking events.

Other apps describe what happened as `Event`s and call `notify_many` (or `notify` for one): this module
decides who hears of it by which channel (preferences; only current members of the event's team, asked of
settings.NOTIFICATIONS_AUDIENCE_CHECK, since notifications never reads accounts' tables) and writes the rows
set-based (notifications/sql.py on PostgreSQL). An email may be written held, for a batch of quick updates on
one task or for the person's daily digest (EmailPreference; combined later by notifications/merging.py), or not
at all ("off"); in-app rows never wait. Their emails are rendered by the delivery worker from kind and
context; `email_enqueue` (invitations, password resets) renders the subject at once and leaves the body,
whose link is a credential, to the delivery worker. Delivery happens after commit
(notifications/delivery.py, driven by notifications/tasks.py), and checks the audience again before sending.
"""

from __future__ import annotations

import logging
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from itertools import islice
from typing import Any

from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import Value
from django.db.models.functions import Concat, Now
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.module_loading import import_string

from aether.changes import record

from . import sql
from .models import (
    BATCHED_KINDS,
    HELD_STATES,
    LINK_AT_DELIVERY_KINDS,
    SWITCHABLE_KINDS,
    EmailCadence,
    EmailPreference,
    Kind,
    Notification,
    NotificationPreference,
    OutboxEmail,
    OutboxState,
)

log = logging.getLogger(__name__)

# A web request must not wait long on a broker that is down: one quick retry, then the sweep's turn.
_KICK_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.1}


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def email_subject(*, kind: str, context: dict) -> str:
    ctx = {"site_url": settings.SITE_URL, **context}
    return " ".join(render_to_string(f"email/{kind}_subject.txt", ctx).split())[:255]


def email_render(*, kind: str, context: dict) -> RenderedEmail:
    """Render templates/email/<kind>_subject.txt, <kind>.txt and <kind>.html with the given context."""
    ctx = {"site_url": settings.SITE_URL, **context}
    return RenderedEmail(
        subject=email_subject(kind=kind, context=context),
        text=render_to_string(f"email/{kind}.txt", ctx),
        html=render_to_string(f"email/{kind}.html", ctx),
    )


# --- delivery kicks -------------------------------------------------------------------------------------


def _kick(ids: list[int] | None) -> None:
    from .tasks import deliver_outbox, deliver_outbox_emails

    try:
        if ids is None:
            deliver_outbox.apply_async(retry=True, retry_policy=_KICK_RETRY_POLICY)
        elif ids:
            deliver_outbox_emails.apply_async(args=[ids], retry=True, retry_policy=_KICK_RETRY_POLICY)
    except Exception as exc:  # broker unreachable: the periodic sweep delivers the rows later
        log.warning("could not reach the broker (%s); the outbox sweep will deliver %s", exc, ids or "them")


class _PendingKick:
    """Rows written on this connection and not yet handed to a worker. Every write registers `flush` with
    on_commit; the first flush at commit sends one message for all of the transaction's rows, the others find
    nothing left. Ids written in a savepoint that rolled back may ride along: harmless, the worker finds no
    such row."""

    def __init__(self):
        self.ids: set[int] = set()
        self.sweep = False

    def add(self, ids: Iterable[int] | None) -> None:
        if ids is None:
            self.sweep = True
        else:
            self.ids.update(ids)

    def flush(self) -> None:
        ids, sweep = sorted(self.ids), self.sweep
        self.ids, self.sweep = set(), False
        if ids:
            _kick(ids)
        if sweep:
            _kick(None)


def delivery_enqueue_on_commit(ids: Iterable[int] | None = None) -> None:
    """Once the current transaction commits, ask a worker to deliver the rows `ids` (or, without ids, every
    row that is due). All the calls of one transaction become one message.

    Never a bare .delay() inside a transaction: the worker could look before the rows exist, and a rolled
    back change must not send anything. If the broker is down the message is dropped with a warning: the rows
    are committed, and the periodic sweep (notifications.deliver_outbox) delivers them.
    """
    conn = transaction.get_connection()
    pending = conn.__dict__.get("_aether_outbox_kick")
    # Start afresh unless this transaction already queued our flush (reads Django's list of commit callbacks,
    # run_on_commit; without it the only cost is that ids of a rolled-back transaction ride along).
    if pending is None or not any(
        getattr(entry[1], "__self__", None) is pending for entry in getattr(conn, "run_on_commit", ())
    ):
        pending = conn._aether_outbox_kick = _PendingKick()
    pending.add(ids)
    transaction.on_commit(pending.flush)  # outside a transaction this runs at once


# --- the outbox -----------------------------------------------------------------------------------------


def _insert_unless_duplicate(row: OutboxEmail) -> int | None:
    """INSERT the row unless its dedupe key exists; its new id, or None for a duplicate. One statement.

    Django's bulk_create(ignore_conflicts=True) can say neither whether the row was new nor its id, and a
    savepoint around create() costs three round trips; ON CONFLICT DO NOTHING RETURNING answers both. A
    concurrent, uncommitted insert of the same key makes this one wait for that transaction, then skip: two
    transactions can never both write an event's email.
    """
    meta = OutboxEmail._meta
    conn = connections[router.db_for_write(OutboxEmail)]
    qn = conn.ops.quote_name
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    values = [f.get_db_prep_save(f.pre_save(row, True), conn) for f in fields]
    sql = (
        f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) "  # noqa: S608 -- model metadata only
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        f"ON CONFLICT ({qn(meta.get_field('dedupe_key').column)}) DO NOTHING RETURNING {qn(meta.pk.column)}"
    )
    with conn.cursor() as cursor:
        cursor.execute(sql, values)
        got = cursor.fetchone()
    return got[0] if got else None


def email_enqueue(*, kind: str, recipient: str, dedupe_key: str, context: dict, user=None, task=None) -> bool:
    """Write one outbox row, rendered now, in the caller's transaction, unless a row with this dedupe key
    exists. True if it was written; the row is delivered after commit (a rollback leaves nothing).

    An email of LINK_AT_DELIVERY_KINDS gets its subject only: its link (a credential) is made and its body
    rendered when it is sent, so neither `context` nor the row may carry a link ("url" is refused)."""
    secret_link = kind in LINK_AT_DELIVERY_KINDS
    if secret_link and "url" in context:
        raise ValueError(f"a {kind} email's link is made when it is sent: give a reference, not the link")
    rendered = email_render(kind=kind, context=context) if not secret_link else None
    row_id = _insert_unless_duplicate(
        OutboxEmail(
            recipient=recipient,
            user=user,
            subject=rendered.subject if rendered else email_subject(kind=kind, context=context),
            body_text=rendered.text if rendered else "",
            body_html=rendered.html if rendered else "",
            context=context,
            kind=kind,
            task=task,
            dedupe_key=dedupe_key[:200],
            status=OutboxState.PENDING,
            next_attempt_at=timezone.now(),
        )
    )
    if row_id is None:
        return False
    delivery_enqueue_on_commit([row_id])
    return True


def outbox_send_again(*, actor, ids: Iterable[int]) -> int:
    """Queue rows to be sent once more (admin): a fresh set of attempts, due now. A row a worker holds right
    now (sending) is left alone. Returns how many rows were queued."""
    with transaction.atomic():
        rows = OutboxEmail.objects.filter(pk__in=list(ids)).exclude(status=OutboxState.SENDING)
        queued = list(rows.values_list("pk", flat=True))
        rows.update(
            status=OutboxState.PENDING,
            attempts=0,
            next_attempt_at=Now(),
            claimed_until=None,
            sent_at=None,
            provider_message_id="",
            provider_event="",
            last_error="",
        )
        if queued:
            log.info("outbox rows %s queued again by %s", queued, getattr(actor, "email", actor))
            delivery_enqueue_on_commit(queued)
    return len(queued)


def outbox_mark_dead(*, actor, ids: Iterable[int]) -> int:
    """Give up on rows not yet sent (admin), held ones included. Sent and merged rows and rows a worker holds
    right now are left alone.
    The reason names who gave up; an earlier error is kept after it."""
    waiting = [OutboxState.PENDING, OutboxState.FAILED, *HELD_STATES]
    rows = OutboxEmail.objects.filter(pk__in=list(ids), status__in=waiting)
    return rows.update(
        status=OutboxState.DEAD,
        claimed_until=None,
        last_error=Concat(Value(f"Marked dead by {getattr(actor, 'email', actor)}. "), "last_error"),
    )


# Tracking events that say the email did not (or should no longer) reach the person.
_BAD_EVENTS = {"bounced", "complained", "rejected", "failed", "unsubscribed"}
# Events worth recording; queued/sent only repeat what the row already says.
_RECORDED_EVENTS = _BAD_EVENTS | {"delivered", "deferred", "opened", "clicked"}


def outbox_record_tracking(*, event_type: str, message_id: str | None, description: str = "") -> int:
    """Record a provider's tracking event (from anymail's webhook) on the row with this provider message id.

    A bounce or complaint is kept, with the provider's description as the last error; a later, milder event
    (delivered, opened) never hides it. Returns how many rows were marked.
    """
    if not message_id or event_type not in _RECORDED_EVENTS:
        return 0
    rows = OutboxEmail.objects.filter(provider_message_id=message_id).exclude(provider_message_id="")  # the index
    if event_type in _BAD_EVENTS:
        marked = rows.update(provider_event=event_type, last_error=f"{event_type}: {description}"[:2000])
        log.warning("outbox email %s %s: %s", message_id, event_type, description)
        return marked
    return rows.exclude(provider_event__in=_BAD_EVENTS).update(provider_event=event_type)


# --- in-app notifications -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """Something one person should hear of. The caller (another app) says who, about which team, and what;
    notifications decides by which channels (the person's preferences) and writes the rows.

    `key` names the event uniquely (for example "task:12:overdue:2026-12-01", or "task:12:assigned:345" with
    the Activity id); rows are deduplicated on f"{key}:{user_id}", so an event told twice is written once.
    `email` and `name` come from the caller: notifications never reads accounts' tables."""

    kind: str  # a notifications.models.Kind
    key: str
    user_id: int  # the recipient
    email: str  # the recipient's address
    name: str  # the recipient's short name, for the greeting
    team_id: int | None  # the team the event is about (None for invitations and password resets)
    message: str
    url: str = ""
    actor_id: int | None = None
    actor_name: str = "Aether"
    task_id: int | None = None
    task_title: str = ""
    context: Mapping[str, Any] = field(default_factory=dict)  # extra template context (JSON values)
    preview: str = ""  # plain text of what happened (a comment's words), under the in-app message


@dataclass(frozen=True)
class NotifyCounts:
    """Rows written: outbox emails and in-app notifications (events already told are not counted)."""

    emails: int = 0
    in_app: int = 0


NOT_A_MEMBER = "Not sent: the recipient is no longer a member of the team."

_SWITCHABLE = frozenset(str(k) for k in SWITCHABLE_KINDS)
_BATCHED = frozenset(str(k) for k in BATCHED_KINDS)
# Up to this many new emails in one call, the worker is handed their ids (it goes straight to them); a bigger
# burst (a scheduled job) is handed to the sweep, which claims due rows batch by batch, rather than a message
# carrying every id.
_KICK_IDS_MAX = 500


def audience_current(pairs: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
    """The (user_id, team_id) pairs whose user is a current member of the team, asked of the function named by
    settings.NOTIFICATIONS_AUDIENCE_CHECK (a dotted path, like EMAIL_BACKEND; one query). notifications may
    not read accounts' tables, so accounts answers. With the setting empty, every pair is current."""
    pairs = set(pairs)
    path = getattr(settings, "NOTIFICATIONS_AUDIENCE_CHECK", "")
    if not pairs or not path:
        return pairs
    return set(import_string(path)(pairs)) & pairs


def notify_many(events: Iterable[Event], *, chunk: int = 2000) -> NotifyCounts:
    """Tell each event's recipient by the channels they chose, set-based: per chunk of events, one query for
    the recipients' preferences, one for the audience check, and a few statements per kind of row. Runs in
    one transaction (the caller's, if any); delivery is asked for once, after commit.

    Dropped: events about the recipient's own action (actor_id == user_id), events about a team the
    recipient is not a current member of, and channels the recipient switched off. Invitations and password
    resets are always emailed and never in-app. Memory is bounded by `chunk`: `events` may be a generator.
    """
    emails = in_app = 0
    kick_ids: list[int] = []
    with transaction.atomic():
        it = iter(events)
        while batch := list(islice(it, chunk)):
            e, n, ids = _notify_chunk(batch, want_ids=emails < _KICK_IDS_MAX)
            emails += e
            in_app += n
            kick_ids.extend(ids)
        if emails:
            delivery_enqueue_on_commit(kick_ids if emails <= _KICK_IDS_MAX else None)
    return NotifyCounts(emails=emails, in_app=in_app)


def _notify_chunk(batch: list[Event], *, want_ids: bool) -> tuple[int, int, list[int]]:
    """Write one chunk: (emails written, in-app rows written, the new emails' ids if wanted)."""
    outbox, notes = _rows_for(batch)
    if not outbox and not notes:
        return 0, 0, []
    ids = sql.outbox_insert(outbox)  # one statement each, returning what was new (notifications/sql.py)
    new = sql.notifications_insert(notes)
    record(notifications=new)
    return len(ids), len(new), ids if want_ids else []


def next_digest_at(now: datetime, *, hour: int, time_zone: str) -> datetime:
    """The first `hour`:00 in `time_zone` strictly after `now`, in UTC: 08:00 local is 08:00 on the wall clock
    whatever the season. An hour that a DST change skips that day (02:00 in spring in most of Europe) is the
    first instant after the gap."""
    zone = zoneinfo.ZoneInfo(time_zone)
    day = now.astimezone(zone).date()
    for offset in (0, 1, 2):
        local = datetime.combine(day + timedelta(days=offset), dtime(hour), tzinfo=zone)
        # Round-trip through UTC: a wall time inside a DST gap does not exist, its conversion lands after the gap.
        at = local.astimezone(UTC)
        if at > now:
            return at
    raise AssertionError("unreachable: some day within two has the hour after now")


def _email_timing(users: set[int], now: datetime):
    """The email cadence of `users` (one query, of those who chose a digest or no email), as a function of an
    event: (the state of its outbox row, when it is due), or (None, None) for no email. As it happens, the
    BATCHED_KINDS about a task wait AETHER_EMAIL_BATCH_SECONDS for more of the same (person, task) to share one
    email (notifications/merging.py); with the setting 0 they go at once, as do reminders."""
    chosen = {}
    if users:
        chosen = {user_id: (cadence, hour, zone) for user_id, cadence, hour, zone in sql.email_cadences(sorted(users))}
    window = settings.AETHER_EMAIL_BATCH_SECONDS
    batch_until = now + timedelta(seconds=window)
    digests: dict[int, datetime] = {}

    def timing(ev: Event, kind: str, now: datetime) -> tuple[OutboxState | None, datetime | None]:
        chose = chosen.get(ev.user_id)
        if chose is None:  # as it happens: the common case, first
            if window > 0 and ev.task_id is not None and kind in _BATCHED:
                return OutboxState.BATCHED, batch_until
            return OutboxState.PENDING, now
        cadence, hour, zone = chose
        if cadence == EmailCadence.OFF:
            return None, None
        if ev.user_id not in digests:
            digests[ev.user_id] = next_digest_at(now, hour=hour, time_zone=zone)
        return OutboxState.DIGEST, digests[ev.user_id]

    return timing


def _rows_for(batch: list[Event]) -> tuple[list[dict], list[dict]]:
    """The outbox and in-app rows (dicts of column values, see notifications/sql.py) for a chunk of events:
    one per event and dedupe key, without events about the recipient's own action or about a team they are
    not a current member of, by the channels they chose, each email pending, held or left out by the
    recipient's cadence (_email_timing). Three queries: the audience check, the preferences, the cadences."""
    by_key: dict[str, Event] = {}
    for ev in batch:
        if ev.actor_id is not None and ev.actor_id == ev.user_id:
            continue  # nobody is told of their own action
        by_key.setdefault(f"{ev.key}:{ev.user_id}"[:200], ev)
    pairs = {(ev.user_id, ev.team_id) for ev in by_key.values() if ev.team_id is not None}
    current = audience_current(pairs)
    if current != pairs:
        by_key = {k: ev for k, ev in by_key.items() if ev.team_id is None or (ev.user_id, ev.team_id) in current}
    if not by_key:
        return [], []
    kinds = {str(ev.kind) for ev in by_key.values()} & _SWITCHABLE
    prefs = {}
    if kinds:
        users = {ev.user_id for ev in by_key.values() if str(ev.kind) in kinds}
        prefs = {
            (user_id, kind): (email, in_app)
            for user_id, kind, email, in_app in NotificationPreference.objects.filter(
                user_id__any=list(users),
                kind__in=kinds,  # the ids as one array (aether/lookups.py)
            ).values_list("user_id", "kind", "email", "in_app")
        }
    now = timezone.now()
    timing = _email_timing({ev.user_id for ev in by_key.values() if str(ev.kind) in kinds}, now)
    outbox: list[dict] = []
    notes: list[dict] = []
    for dedupe_key, ev in by_key.items():
        kind = str(ev.kind)
        email_on, in_app_on = prefs.get((ev.user_id, kind), (True, True)) if kind in _SWITCHABLE else (True, False)
        status, send_at = timing(ev, kind, now) if kind in _SWITCHABLE else (OutboxState.PENDING, now)
        if email_on and status is not None:
            outbox.append(
                {
                    "recipient": ev.email,
                    "user_id": ev.user_id,
                    "subject": ev.message[:255],  # a placeholder for the admin: the worker renders the real one
                    # body_text and body_html stay blank: the delivery worker renders them from kind and context
                    "context": {
                        "recipient_name": ev.name,
                        "actor_name": ev.actor_name,
                        "message": ev.message,
                        "url": ev.url,
                        "task_title": ev.task_title,
                        **ev.context,
                    },
                    "kind": kind,
                    "task_id": ev.task_id,
                    "team_id": ev.team_id,
                    "dedupe_key": dedupe_key,
                    "status": status.value,
                    "next_attempt_at": send_at,
                    "created_at": now,
                }
            )
        if in_app_on:
            notes.append(
                {
                    "user_id": ev.user_id,
                    "kind": kind,
                    "task_id": ev.task_id,
                    "team_id": ev.team_id,
                    "actor_id": ev.actor_id,
                    "message": ev.message[:300],
                    "preview": ev.preview[:200],
                    "url": ev.url[:300],
                    "dedupe_key": dedupe_key,
                    "created_at": now,
                }
            )
    return outbox, notes


def notify(
    *, kind: Kind, user, actor, event: str, message: str, task=None, url: str = "", context=None, preview: str = ""
) -> None:
    """Tell `user` of one event by the channels they chose: notify_many for one event. Nobody is told of their
    own action; an inactive user is told nothing; about a task, only a current member of its team is told.

    `event` names the event uniquely (for example "task:12:assigned:345", with the Activity id), so that
    the same event can never produce two emails or two in-app rows.
    """
    if user is None or not user.is_active:
        return
    notify_many(
        [
            Event(
                kind=kind,
                key=event,
                user_id=user.pk,
                email=user.email,
                name=user.get_short_name(),
                team_id=task.project.team_id if task is not None else None,
                message=message,
                url=url,
                actor_id=actor.pk if actor is not None else None,
                actor_name=actor.get_full_name() if actor is not None else "Aether",
                task_id=task.pk if task is not None else None,
                task_title=task.title if task is not None else "",
                context=context or {},
                preview=preview,
            )
        ]
    )


def notifications_withdraw(*, user_id: int, team_id: int) -> tuple[int, int]:
    """A member left a team: nothing more about it reaches them. Their emails about the team still waiting
    (pending or failed) become dead with the reason, and their in-app notifications about it are deleted
    (the bell and the list never show a team the person has left). Call in the removal's transaction.
    Returns (emails withheld, notifications deleted). An email a worker holds right now is checked again by
    the worker before it sends (notifications/delivery.py); rows held for a batch or a digest are withheld
    here like waiting ones."""
    with transaction.atomic():  # the caller's, normally
        waiting = OutboxEmail.objects.filter(
            user_id=user_id, team_id=team_id, status__in=[OutboxState.PENDING, OutboxState.FAILED, *HELD_STATES]
        )
        # Locked in id order first, as the merge job locks held rows (notifications/merging.py): never a deadlock.
        ids = list(waiting.select_for_update().order_by("pk").values_list("pk", flat=True))
        withheld = waiting.filter(pk__in=ids).update(
            status=OutboxState.DEAD, claimed_until=None, last_error=NOT_A_MEMBER
        )
    return withheld, _notifications_delete(Notification.objects.filter(user_id=user_id, team_id=team_id))


def notifications_of_tasks_delete(*, task_ids: list[int]) -> int:
    """Delete the in-app notifications about these tasks (they are about to be deleted for good: a project's
    trashed tasks, tasks/services/project.py), reporting each. Returns how many. Call in the caller's
    transaction."""
    return _notifications_delete(Notification.objects.filter(task_id__in=task_ids)) if task_ids else 0


def _notifications_delete(rows) -> int:
    with transaction.atomic():
        gone = dict(rows.select_for_update().order_by("pk").values_list("pk", "user_id"))
        Notification.objects.filter(pk__in=gone).delete()
        record(notifications=gone)
    return len(gone)


def notification_mark_read(*, actor, notification: Notification) -> bool:
    """Mark one of the actor's notifications read. True if it was unread. Someone else's is refused with
    Notification.DoesNotExist (callers fetch through selectors, so this is a second lock on the door)."""
    if notification.user_id != actor.pk:
        raise Notification.DoesNotExist
    now = timezone.now()
    with transaction.atomic():
        marked = sql.notifications_mark_read(actor.pk, now, [notification.pk])
        record(notifications=dict.fromkeys(marked, actor.pk))
    if marked:
        notification.read_at = now
    return bool(marked)


def notifications_mark_all_read(*, actor) -> int:
    """Mark every unread notification of the actor read; returns how many."""
    with transaction.atomic():
        marked = sql.notifications_mark_read(actor.pk, timezone.now())
        record(notifications=dict.fromkeys(marked, actor.pk))
    return len(marked)


def preferences_update(*, actor, choices: Mapping[str, tuple[bool, bool]]) -> None:
    """Store the actor's (email, in_app) choice for each given switchable kind, in one statement.

    A kind that is not switchable is refused (ValueError); kinds not given keep their current choice."""
    unknown = set(choices) - set(SWITCHABLE_KINDS)
    if unknown:
        raise ValueError(f"Not a switchable kind: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        NotificationPreference.objects.bulk_create(
            [
                NotificationPreference(user=actor, kind=kind, email=bool(email), in_app=bool(in_app))
                for kind, (email, in_app) in choices.items()
            ],
            update_conflicts=True,
            unique_fields=["user", "kind"],
            update_fields=["email", "in_app"],
        )
        record(inboxes=[actor.pk])


def email_preference_update(*, actor, cadence: str, digest_hour: int, time_zone: str) -> EmailPreference:
    """Store how the actor's emails reach them (EmailCadence), the digest hour (0-23) and its time zone.

    Emails already held for the actor's digest follow the choice: with a digest still chosen they wait for
    the new hour; otherwise they are due at once, and the next merge run sends what was held as one last
    digest (nothing already told is dropped). Rows held for a batch keep their few minutes. Refuses bad
    values with a ValidationError naming the field; nothing is written then. One transaction; the held rows
    are locked in id order, as the merge job locks them, so the two never deadlock."""
    pref = EmailPreference.objects.filter(user=actor).first() or EmailPreference(user=actor)
    pref.cadence, pref.digest_hour, pref.time_zone = cadence, digest_hour, time_zone
    pref.full_clean(exclude=["user"])
    with transaction.atomic():
        pref.save()
        held = list(
            OutboxEmail.objects.select_for_update()
            .filter(user=actor, status=OutboxState.DIGEST)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if held:
            now = timezone.now()
            due = now
            if cadence == EmailCadence.DIGEST:
                due = next_digest_at(now, hour=digest_hour, time_zone=time_zone)
            OutboxEmail.objects.filter(pk__in=held, status=OutboxState.DIGEST).update(next_attempt_at=due)
        record(inboxes=[actor.pk])
    return pref
