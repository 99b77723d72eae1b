"""The raw SQL of tasks: only what the ORM cannot say, each statement tested on small data
(tasks/tests/test_sql.py). docs/performance.md ("Scheduled jobs: overdue detection") has the
figures.

- `deadline_notices_claim`: INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING. The ORM can insert only rows
  it holds (bulk_create), and with ignore_conflicts it cannot tell which rows it inserted: exactly what the
  claim must know, as the rows this run inserted are the notices it alone owns. The SELECT is the ORM's own
  query (the caller's queryset, compiled), so the deadline rules stay in tasks/deadlines.py.
- `occurrences_claim`: the same claim for the dates of a repeating task (INSERT … VALUES … ON CONFLICT DO
  NOTHING RETURNING), for the same reason: the dates it returns are the occurrences this run alone makes.
  `occurrences_claim_many` claims the dates of many series in one statement (the job's chunks).
- `occurrences_link`, `recurrences_next_on_set`: UPDATE … FROM (VALUES …), many rows to one value each.
- `advisory_xact_lock_try`: pg_try_advisory_xact_lock, which the ORM has no word for.
- `commit_without_flush`: SET LOCAL synchronous_commit TO OFF, for a job's one large transaction.
- `calendar_day_firsts`: the first few tasks of each day of a range, by a LATERAL subquery a day over a series
  of days. The ORM has no LATERAL: its forms were a window over every task of the range (870 ms at a million
  tasks) or a UNION of a query a day (40 ms of Python to build and 10 ms for PostgreSQL to plan, for six
  weeks); this is one small statement, a few index entries a day. The subquery is the ORM's (the caller's
  queryset, compiled), so the user's scope and the filters stay where they are.
"""

from __future__ import annotations

from array import array
from datetime import date

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from .models import DeadlineNotice, Occurrence, Recurrence

# The database's clock, as Django's Now() is on PostgreSQL (rows are stamped with it, as elsewhere).
_NOW = "STATEMENT_TIMESTAMP()"
_FETCH = 10_000


def deadline_notices_claim(*, kind: str, candidates: QuerySet) -> array:
    """Claim a `kind` notice for each task of `candidates` (a Task queryset; its `id` and `due_date` are read)
    not claimed yet for its due date; return the ids of the tasks this call claimed, in id order.

    Insertion is in task id order, so that concurrent runs wait for each other's rows instead of deadlocking;
    a row a concurrent transaction inserted first is skipped once that transaction commits (the unique
    deadline_notice_once). The ids come back as a compact array: 8 bytes a task."""
    try:
        select, params = candidates.values("id", "due_date").query.get_compiler(connection=connection).as_sql()
    except EmptyResultSet:  # a window that can hold no task (no team exists yet)
        return array("q")
    table = DeadlineNotice._meta.db_table
    sql = (
        f"INSERT INTO {table} (task_id, kind, due_date, created_at) "  # noqa: S608 -- a model's table name; values are parameters
        f"SELECT c.id, %s, c.due_date, {_NOW} FROM ({select}) c ORDER BY c.id "
        "ON CONFLICT (task_id, kind, due_date) DO NOTHING RETURNING task_id"
    )
    claimed = array("q")
    with connection.cursor() as cursor:
        cursor.execute(sql, [kind, *params])
        while rows := cursor.fetchmany(_FETCH):
            claimed.extend(row[0] for row in rows)
    return array("q", sorted(claimed))


def occurrences_claim(*, recurrence_id: int, dates: list[date], rule: str) -> list[date]:
    """Claim each of `dates` of the recurrence not claimed yet (the unique occurrence_once); return the dates
    this call claimed, in order. A date a concurrent transaction inserted first is skipped once it commits;
    inserting in date order makes concurrent runs wait for each other instead of deadlocking."""
    if not dates:
        return []
    dates = sorted(set(dates))
    table = Occurrence._meta.db_table
    values = ", ".join([f"(%s, %s, %s, {_NOW})"] * len(dates))
    sql = (
        f"INSERT INTO {table} (recurrence_id, on_date, rule, created_at) VALUES {values} "  # noqa: S608 -- a model's table name; values are parameters
        "ON CONFLICT (recurrence_id, on_date) DO NOTHING RETURNING on_date"
    )
    params = [p for d in dates for p in (recurrence_id, d, rule)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return sorted(r[0] for r in rows)


_CLAIM_ROWS = 5000  # rows per INSERT: 3 parameters each, well under PostgreSQL's 65,535 a statement


def occurrences_claim_many(rows: list[tuple[int, date, str]]) -> list[tuple[int, int, date]]:
    """`occurrences_claim` for many series at once: claim each (recurrence id, date, rule) of `rows` not
    claimed yet; return (occurrence id, recurrence id, date) of the rows this call claimed, in (recurrence,
    date) order. Rows are inserted in that order, so concurrent claims wait for each other, never deadlock."""
    rows = sorted({(r, d): rule for r, d, rule in rows}.items())
    table = Occurrence._meta.db_table
    claimed = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _CLAIM_ROWS):
            part = rows[start : start + _CLAIM_ROWS]
            values = ", ".join([f"(%s, %s, %s, {_NOW})"] * len(part))
            cursor.execute(
                f"INSERT INTO {table} (recurrence_id, on_date, rule, created_at) VALUES {values} "  # noqa: S608 -- a model's table name; values are parameters
                "ON CONFLICT (recurrence_id, on_date) DO NOTHING RETURNING id, recurrence_id, on_date",
                [p for (r, d), rule in part for p in (r, d, rule)],
            )
            claimed += cursor.fetchall()
    return sorted(claimed, key=lambda row: (row[1], row[2]))


def occurrences_link(pairs: list[tuple[int, int]]) -> None:
    """Set the task of each (occurrence id, task id) of `pairs`: one UPDATE … FROM (VALUES …) a chunk, where the
    ORM's bulk_update (a CASE with one WHEN a row, built in Python) took two fifths of the recurrence job's
    time. Rows are updated in id order (no deadlock between runs)."""
    _update_from_values(Occurrence, "task_id", "bigint", pairs)


def recurrences_next_on_set(pairs: list[tuple[int, date | None]]) -> None:
    """Set `next_on` of each (recurrence id, date or None) of `pairs` and stamp `updated_at`, as
    `occurrences_link` does."""
    _update_from_values(Recurrence, "next_on", "date", pairs, stamp="updated_at")


def _update_from_values(model, column: str, cast: str, pairs, *, stamp: str | None = None) -> None:
    if not pairs:
        return
    table = model._meta.db_table
    extra = f", {stamp} = {_NOW}" if stamp else ""
    with connection.cursor() as cursor:
        for start in range(0, len(pairs), _CLAIM_ROWS):
            part = pairs[start : start + _CLAIM_ROWS]
            values = ", ".join(["(%s, %s)"] * len(part))
            cursor.execute(
                f"UPDATE {table} t SET {column} = v.value::{cast}{extra} "  # noqa: S608 -- our table and column names; values are parameters
                f"FROM (VALUES {values}) AS v(id, value) WHERE t.id = v.id::bigint",
                [p for pair in sorted(pair for pair in part) for p in pair],
            )


def advisory_xact_lock_try(key: int) -> bool:
    """Take the transaction-level advisory lock `key` if nobody holds it; False if another transaction holds
    it. Call in a transaction: the lock is released at its end."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [key])
        return bool(cursor.fetchone()[0])


def commit_without_flush() -> None:
    """This transaction's COMMIT returns before its WAL is flushed to disk (SET LOCAL, so only this
    transaction). For the deadline jobs' one large transaction, whose flush was a sixth of the run
    (docs/performance.md), and the recurrence job's chunks. Nothing is lost or sent twice by it: a server
    crash in the next moment loses the claims together with the rows they wrote (one transaction), and the
    next run claims them again; and no email of the transaction can go out before it is on disk, because the
    delivery worker's claim commits synchronously (notifications/delivery.py), which flushes the WAL up to and
    including this commit."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit TO OFF")


def calendar_day_firsts(day_tasks: QuerySet, *, start: date, end: date, per_day: int) -> RawSQL:
    """The ids of the first `per_day` tasks of `day_tasks` (a Task queryset, in its order) due on each day from
    `start` to `end`, as a subquery for `pk__in`.

    Each day's subquery is `day_tasks` with `due_date` equal to that day and a LIMIT: read in the order of an
    index on (due_date, that order), it stops after `per_day` entries, so the statement reads at most
    per_day rows a day however many tasks the days have."""
    day = RawSQL("calendar_days.day", ())
    try:
        select, params = (
            day_tasks.filter(due_date=day).values("id")[:per_day].query.get_compiler(connection=connection).as_sql()
        )
    except EmptyResultSet:  # a queryset that can hold no task: a series of no days
        return RawSQL("SELECT NULL::bigint WHERE FALSE", ())
    sql = (
        "SELECT firsts.id FROM (SELECT %s::date + n AS day FROM generate_series(0, %s) AS n) calendar_days "  # noqa: S608 -- the ORM's compiled SQL; values are parameters
        f"CROSS JOIN LATERAL ({select}) firsts"
    )
    return RawSQL(sql, (start, (end - start).days, *params))  # noqa: S611 -- as above
