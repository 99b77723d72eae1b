"""The raw SQL of notifications: the two inserts of notify_many, and its read of email cadences.

Why not the ORM here (docs/performance.md, "notify_many"): bulk_create(ignore_conflicts=True) sends a chunk
as one multi-row VALUES list with a parameter per field and row, which PostgreSQL took about three times as
long to run as the same rows given as one parameter; it needs a model instance per row (the largest Python
cost of a chunk); and it can say neither which rows were new nor their ids, which costs two more queries per
chunk (the stored dedupe keys before, the new ids after). Here a chunk's rows are one JSON parameter
(json_to_recordset), and one statement per kind of row inserts them, skips duplicates (ON CONFLICT
(dedupe_key) DO NOTHING) and returns what was new.

notifications/tests/test_sql.py checks that each statement writes the rows it is given, column for column,
and skips those already stored; bench/notify_bench.py --orm times the ORM form against them. Table and
column names come from the models' metadata; every value is in the parameter.
"""

from __future__ import annotations

import json
from datetime import datetime

from django.db import connections, router

from .models import EmailCadence, EmailPreference, Notification, OutboxEmail

# The columns a row gives, with their SQL types; the other columns take the constants below.
OUTBOX_COLUMNS = {
    "recipient": "text",
    "user_id": "bigint",
    "subject": "text",
    "context": "jsonb",
    "kind": "text",
    "task_id": "bigint",
    "team_id": "bigint",
    "dedupe_key": "text",
    "status": "text",
    "next_attempt_at": "timestamptz",
    "created_at": "timestamptz",
}
_OUTBOX_CONSTANTS = {
    "body_text": "''",
    "body_html": "''",
    "attempts": "0",
    "last_error": "''",
    "provider_message_id": "''",
    "provider_event": "''",
}
NOTIFICATION_COLUMNS = {
    "user_id": "bigint",
    "kind": "text",
    "task_id": "bigint",
    "team_id": "bigint",
    "actor_id": "bigint",
    "message": "text",
    "preview": "text",
    "url": "text",
    "dedupe_key": "text",
    "created_at": "timestamptz",
}
_NOTIFICATION_CONSTANTS = {"read_at": "NULL"}


def _insert(model, columns: dict[str, str], constants: dict[str, str], rows: list[dict], returning: str) -> list:
    conn = connections[router.db_for_write(model)]
    qn = conn.ops.quote_name
    names = [*columns, *constants]
    sql = (
        f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(qn(n) for n in names)}) "  # noqa: S608 -- model metadata only
        f"SELECT {', '.join([*(f'x.{qn(n)}' for n in columns), *constants.values()])} "
        f"FROM json_to_recordset(%s::json) AS x({', '.join(f'{qn(n)} {t}' for n, t in columns.items())}) "
        f"ON CONFLICT ({qn('dedupe_key')}) DO NOTHING RETURNING {returning}"
    )
    with conn.cursor() as cursor:
        cursor.execute(sql, [json.dumps(rows, default=_iso)])
        return cursor.fetchall()


def _iso(value):
    """Datetimes to full ISO 8601 (DjangoJSONEncoder would cut them to milliseconds)."""
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def outbox_insert(rows: list[dict]) -> list[int]:
    """Insert outbox rows (dicts of OUTBOX_COLUMNS) unless their dedupe key is stored; the ids of the rows that
    were new. One statement."""
    if not rows:
        return []
    return [pk for (pk,) in _insert(OutboxEmail, OUTBOX_COLUMNS, _OUTBOX_CONSTANTS, rows, "id")]


def notifications_insert(rows: list[dict]) -> dict[int, int]:
    """Insert in-app rows (dicts of NOTIFICATION_COLUMNS) unless their dedupe key is stored; the new rows'
    {id: user id}. One statement."""
    if not rows:
        return {}
    return dict(_insert(Notification, NOTIFICATION_COLUMNS, _NOTIFICATION_CONSTANTS, rows, "id, user_id"))


def notifications_mark_read(user_id: int, when, ids: list[int] | None = None) -> list[int]:
    """Mark the user's unread notifications read (only those of `ids`, if given); the ids marked. One
    statement."""
    qs = Notification.objects.filter(user_id=user_id, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    table = Notification._meta.db_table
    where, params = qs.query.get_compiler(qs.db).compile(qs.query.where)
    with connections[qs.db].cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET read_at = %s WHERE {where} RETURNING id", [when, *params])  # noqa: S608
        return [pk for (pk,) in cursor.fetchall()]


def email_cadences(user_ids: list[int]) -> list[tuple[int, str, int, str]]:
    """(user_id, cadence, digest_hour, time_zone) of those of `user_ids` who chose a digest or no email. One
    statement, the ids as one array parameter: a chunk's 2,000 ids as 2,000 parameters of an IN list (the ORM's
    form) took PostgreSQL ten times as long to plan and run."""
    if not user_ids:
        return []
    conn = connections[router.db_for_write(EmailPreference)]
    qn = conn.ops.quote_name
    sql = (
        f"SELECT {qn('user_id')}, {qn('cadence')}, {qn('digest_hour')}, {qn('time_zone')} "  # noqa: S608 -- model metadata only
        f"FROM {qn(EmailPreference._meta.db_table)} WHERE {qn('user_id')} = ANY(%s) AND {qn('cadence')} = ANY(%s)"
    )
    with conn.cursor() as cursor:
        cursor.execute(sql, [list(user_ids), [EmailCadence.DIGEST.value, EmailCadence.OFF.value]])
        return [tuple(row) for row in cursor.fetchall()]
