"""Deadline notices: overdue detection and due-soon reminders, each exactly once per (task, kind, due date).

One run of a job is one transaction of set-based statements:

1. claim: ``INSERT INTO notifications_deadlinenotice … SELECT <tasks in the window> ON CONFLICT DO NOTHING
   RETURNING task_id, due_date``. The unique (task, kind, due_date) row is the claim: whichever run inserts it
   owns the notice; a concurrent run blocks on the uncommitted row, then skips it.
2. for exactly the returned tasks: one outbox row (if the recipient has email on for this kind) and one
   in-app row (if in-app is on), preferences joined in SQL. The outbox row carries only `context`; the
   delivery worker renders blank rows before sending (notifications/delivery.py).
3. after commit: ask a worker to deliver.

"Today" is per team time zone: the distinct zones of all teams become a VALUES list (zone, today, horizon)
joined to the tasks, so one statement serves every zone. A transaction-level advisory lock lets an
overlapping run on PostgreSQL skip its wasted work, but nothing rests on it: the unique claim and the
deterministic dedupe keys of the outbox and in-app rows (per task, kind, due date and user) are what make
duplicates impossible, on SQLite as on PostgreSQL.

On PostgreSQL the three inserts are one statement (data-modifying CTEs), so no task id ever reaches Python
and memory does not grow with the number of tasks. SQLite has no data-modifying CTEs: there the claimed
(task, due date) pairs come back to Python and are handed to the two inserts as one JSON parameter; the
embedded SQLite set-up is small, and its IMMEDIATE transactions serialise writers anyway.

Rows are stamped with the database's clock, as the outbox worker compares them with it (notifications/
delivery.py); the caller's `now` only decides which day it is in each time zone.
"""

from __future__ import annotations

import json
import logging
import zlib
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Team
from tasks.models import Status

from .models import Kind, NoticeKind, OutboxState
from .services import delivery_enqueue_on_commit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeadlineRun:
    """What one run did: notices claimed, outbox rows and in-app rows written; `skipped` if another run held
    the advisory lock (PostgreSQL only)."""

    kind: str
    claimed: int = 0
    emails: int = 0
    in_app: int = 0
    skipped: bool = False


@dataclass(frozen=True)
class _Job:
    notice_kind: str  # DeadlineNotice.kind
    kind: str  # Notification / OutboxEmail kind, and the NotificationPreference kind
    window: str  # SQL condition on t.due_date and the zone's z.today / z.horizon
    message: str  # SQL expression of the message, over the `recipients` columns


# Messages are built in SQL; {due} is the due date as YYYY-MM-DD text.
_JOBS = {
    NoticeKind.OVERDUE: _Job(
        notice_kind=NoticeKind.OVERDUE,
        kind=Kind.TASK_OVERDUE,
        window="t.due_date < z.today",
        message="'“' || title || '” was due on ' || {due} || ' and is overdue.'",
    ),
    NoticeKind.DUE_SOON: _Job(
        notice_kind=NoticeKind.DUE_SOON,
        kind=Kind.TASK_DUE_SOON,
        window="t.due_date >= z.today AND t.due_date <= z.horizon",
        message="'“' || title || '” is due on ' || {due} || '.'",
    ),
}

# What differs between the two databases, and nothing else.
_DIALECT = {
    "postgresql": {
        "date_param": "CAST(%s AS date)",
        "date_text": "to_char({}, 'YYYY-MM-DD')",
        "strpos": "strpos({}, {})",
        "json_object": "jsonb_build_object",
        "now": "now()",
    },
    "sqlite": {
        "date_param": "%s",  # dates are ISO text in SQLite; CAST(... AS date) would make them numbers
        "date_text": "{}",
        "strpos": "instr({}, {})",
        "json_object": "json_object",
        "now": "strftime('%%Y-%%m-%%d %%H:%%M:%%f', 'now')",  # what Django's Now() is on SQLite
    },
}


def overdue_notify(*, now: datetime | None = None, skip_if_busy: bool = True) -> DeadlineRun:
    """Notify, once per due date, every open, live, unarchived task whose due date is before today in its
    team's time zone. `now` is injectable so tests can stand at any instant without freezing the clock."""
    return _notify(_JOBS[NoticeKind.OVERDUE], now=now or timezone.now(), horizon_hours=0, skip_if_busy=skip_if_busy)


def due_soon_notify(*, now: datetime | None = None, hours: int | None = None, skip_if_busy: bool = True) -> DeadlineRun:
    """Remind, once per due date, every open, live, unarchived task that is due soon: its due day has begun
    or begins within the next `hours` (default AETHER_DUE_SOON_HOURS, 24: tasks due today or tomorrow) in its
    team's time zone. A task already overdue is not "due soon"; the overdue job speaks for it."""
    hours = settings.AETHER_DUE_SOON_HOURS if hours is None else hours
    return _notify(
        _JOBS[NoticeKind.DUE_SOON], now=now or timezone.now(), horizon_hours=hours, skip_if_busy=skip_if_busy
    )


def zone_dates(now: datetime, *, horizon_hours: int = 0) -> list[tuple[str, date, date]]:
    """(time zone name, today, horizon) for every distinct team time zone. A name zoneinfo does not know
    (only possible by writing the row around the form's validation) is judged in the site's time zone."""
    site = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    later = now + timedelta(hours=horizon_hours)
    zones = []
    for name in Team.objects.order_by().values_list("time_zone", flat=True).distinct():
        try:
            tz = zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            log.warning("team time zone %r is unknown; using %s", name, settings.TIME_ZONE)
            tz = site
        zones.append((name, now.astimezone(tz).date(), later.astimezone(tz).date()))
    return zones


def _advisory_key(job: _Job) -> int:
    return zlib.crc32(f"aether:deadlines:{job.notice_kind}".encode())


def _notify(job: _Job, *, now: datetime, horizon_hours: int, skip_if_busy: bool) -> DeadlineRun:
    zones = zone_dates(now, horizon_hours=horizon_hours)
    if not zones:
        return DeadlineRun(kind=job.notice_kind)
    postgres = connection.vendor == "postgresql"
    with transaction.atomic(), connection.cursor() as cursor:
        if postgres and skip_if_busy:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_advisory_key(job)])
            if not cursor.fetchone()[0]:
                log.info("%s notices: another run is in progress; skipping", job.notice_kind)
                return DeadlineRun(kind=job.notice_kind, skipped=True)
        sql = _Sql(job, zones)
        if postgres:
            cursor.execute(*sql.postgresql())
            claimed, emails, in_app = cursor.fetchone()
        else:
            cursor.execute(*sql.sqlite_claim())
            pairs = [[task_id, str(due)] for task_id, due in cursor.fetchall()]
            claimed, emails, in_app = len(pairs), 0, 0
            if pairs:
                # changes(), not rowcount: Python's sqlite3 reports -1 for a statement that begins with WITH.
                cursor.execute(*sql.sqlite_insert("outbox", pairs))
                cursor.execute("SELECT changes()")
                emails = cursor.fetchone()[0]
                cursor.execute(*sql.sqlite_insert("in_app", pairs))
                cursor.execute("SELECT changes()")
                in_app = cursor.fetchone()[0]
        if emails:
            delivery_enqueue_on_commit()
    run = DeadlineRun(kind=job.notice_kind, claimed=claimed, emails=emails, in_app=in_app)
    log.info("%s notices: %s claimed, %s emails, %s in-app", job.notice_kind, claimed, emails, in_app)
    return run


class _Sql:
    """The statements of one run, written once and specialised by the _DIALECT fragments.

    Parameters are listed in the order their placeholders appear in the text, fragment by fragment."""

    def __init__(self, job: _Job, zones: list[tuple[str, date, date]]):
        self.job = job
        self.zones = zones
        self.d = _DIALECT["sqlite" if connection.vendor == "sqlite" else "postgresql"]
        self.now = self.d["now"]
        sentinel = "987654321"
        self.url_prefix, self.url_suffix = reverse("tasks:task_detail", args=[sentinel]).split(sentinel)

    # --- fragments ----------------------------------------------------------------------------------------

    def _zones(self) -> tuple[str, list]:
        p = self.d["date_param"]
        rows = ", ".join(f"(%s, {p}, {p})" for _ in self.zones)
        adapt = connection.ops.adapt_datefield_value
        params = [v for name, today, horizon in self.zones for v in (name, adapt(today), adapt(horizon))]
        return f"zones (time_zone, today, horizon) AS (VALUES {rows})", params

    def _claim(self) -> tuple[str, list]:
        # Ordered by task id so that concurrent runs insert in the same order and wait for each other instead
        # of deadlocking; NOT EXISTS spares the insert attempt for the usual, long since claimed task.
        sql = f"""
            INSERT INTO notifications_deadlinenotice (task_id, kind, due_date, created_at)
            SELECT t.id, %s, t.due_date, {self.now}
            FROM tasks_task t
            JOIN tasks_project p ON p.id = t.project_id
            JOIN accounts_team tm ON tm.id = p.team_id
            JOIN zones z ON z.time_zone = tm.time_zone
            WHERE t.status <> %s AND t.deleted_at IS NULL AND t.archived_at IS NULL AND t.due_date IS NOT NULL
              AND {self.job.window}
              AND NOT EXISTS (
                  SELECT 1 FROM notifications_deadlinenotice n
                  WHERE n.task_id = t.id AND n.kind = %s AND n.due_date = t.due_date
              )
            ORDER BY t.id
            ON CONFLICT (task_id, kind, due_date) DO NOTHING
            RETURNING task_id, due_date
        """  # noqa: S608 -- constant fragments of this module; every value is a parameter
        return sql, [self.job.notice_kind, Status.COMPLETED, self.job.notice_kind]

    def _outgoing(self) -> tuple[str, list]:
        """`recipients`: per claimed task, its recipient (the assignee, else the creator; active users only)
        and the recipient's channels for this kind (no preference row: both on). `outgoing`: what is written."""
        due = self.d["date_text"].format("due_date")
        space = self.d["strpos"].format("full_name || ' '", "' '")
        first_word = f"substr(full_name, 1, {space} - 1)"
        sql = f"""
            recipients AS (
                SELECT c.task_id, c.due_date, t.title, u.id AS user_id, u.email, u.full_name,
                       COALESCE(np.email, TRUE) AS email_on, COALESCE(np.in_app, TRUE) AS in_app_on
                FROM claimed c
                JOIN tasks_task t ON t.id = c.task_id
                JOIN accounts_user u ON u.id = COALESCE(t.assignee_id, t.created_by_id)
                LEFT JOIN notifications_notificationpreference np ON np.user_id = u.id AND np.kind = %s
                WHERE u.is_active
            ),
            outgoing AS (
                SELECT task_id, user_id, email, title, email_on, in_app_on, {due} AS due,
                       {self.job.message.format(due=due)} AS message,
                       %s || task_id || %s AS url,
                       'task:' || task_id || ':{self.job.notice_kind}:' || {due} || ':' || user_id AS dedupe_key,
                       COALESCE(NULLIF({first_word}, ''), email) AS recipient_name
                FROM recipients WHERE TRUE
            )
        """  # noqa: S608 -- constant fragments of this module; every value is a parameter
        return sql, [self.job.kind, self.url_prefix, self.url_suffix]

    def _outbox(self) -> tuple[str, list]:
        # body_text stays blank: the delivery worker renders the email from kind and context before sending.
        subject = "Overdue: " if self.job.notice_kind == NoticeKind.OVERDUE else "Due soon: "
        context = (
            f"{self.d['json_object']}('recipient_name', recipient_name, 'actor_name', 'Aether', "
            "'message', message, 'url', url, 'task_title', title, 'due_date', due)"
        )
        sql = f"""
            INSERT INTO notifications_outboxemail (
                recipient, user_id, subject, body_text, body_html, context, kind, task_id, dedupe_key, status,
                attempts, next_attempt_at, claimed_until, last_error, provider_message_id, provider_event,
                created_at, sent_at)
            SELECT email, user_id, %s || title, '', '', {context}, %s, task_id, dedupe_key, %s,
                   0, {self.now}, NULL, '', '', '', {self.now}, NULL
            FROM outgoing WHERE email_on
            ON CONFLICT (dedupe_key) DO NOTHING
        """  # noqa: S608 -- constant fragments of this module; every value is a parameter
        return sql, [subject, self.job.kind, OutboxState.PENDING]

    def _in_app(self) -> tuple[str, list]:
        sql = f"""
            INSERT INTO notifications_notification (
                user_id, kind, task_id, actor_id, message, url, dedupe_key, created_at, read_at)
            SELECT user_id, %s, task_id, NULL, message, url, dedupe_key, {self.now}, NULL
            FROM outgoing WHERE in_app_on
            ON CONFLICT (dedupe_key) DO NOTHING
        """  # noqa: S608 -- constant fragments of this module; every value is a parameter
        return sql, [self.job.kind]

    # --- whole statements ---------------------------------------------------------------------------------

    def postgresql(self) -> tuple[str, list]:
        """Claim, outbox rows and in-app rows in one statement, returning the three counts."""
        (zones, p1), (claim, p2), (outgoing, p3), (outbox, p4), (in_app, p5) = (
            self._zones(),
            self._claim(),
            self._outgoing(),
            self._outbox(),
            self._in_app(),
        )
        sql = f"""
            WITH {zones}, claimed AS ({claim}), {outgoing},
            outbox AS ({outbox} RETURNING 1),
            in_app AS ({in_app} RETURNING 1)
            SELECT (SELECT count(*) FROM claimed), (SELECT count(*) FROM outbox), (SELECT count(*) FROM in_app)
        """  # noqa: S608 -- constant fragments of this module; every value is a parameter
        return sql, [*p1, *p2, *p3, *p4, *p5]

    def sqlite_claim(self) -> tuple[str, list]:
        (zones, p1), (claim, p2) = self._zones(), self._claim()
        return f"WITH {zones} {claim}", [*p1, *p2]

    def sqlite_insert(self, which: str, pairs: list) -> tuple[str, list]:
        """Outbox or in-app rows for the claimed (task id, due date) pairs, given as one JSON parameter."""
        claimed = (
            "claimed (task_id, due_date) AS ("
            "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(%s))"
        )
        outgoing, p_rows = self._outgoing()
        insert, p_insert = self._outbox() if which == "outbox" else self._in_app()
        return f"WITH {claimed}, {outgoing} {insert}", [json.dumps(pairs), *p_rows, *p_insert]
