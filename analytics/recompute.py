"""The kept figures computed in full, straight from the task tables: `figures_rebuild` (after an import or a
restore, and at the end of seed_demo) and `figures_verify` (compare every kept figure with a full recompute).

The rebuild is one INSERT ... SELECT ... GROUP BY per table. The verify streams the tasks through the same
Python contribution the observer uses, so it checks the SQL rebuild and the incremental path against a third
computation.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.db import connections, transaction
from django.db.models import BigIntegerField, Sum

from accounts.models import Team
from aether.changes import record
from tasks.models import Task

from .figures import LEAD_BOUNDS, Rows, contributions_of
from .forecasts.workdays import sql_weekdays_before
from .models import BUCKETS, HOURS, KEPT_MODELS, LEAD_BUCKETS, NO_DUE_DATE, PACE_CLAMP, RATIO_CLAMP, STATUS_PRIORITY

CHUNK = 5000


def _task_id_chunks(using: str) -> Iterator[list[int]]:
    last = 0
    while True:
        ids = list(Task.objects.using(using).filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:CHUNK])
        if not ids:
            return
        yield ids
        last = ids[-1]


def figures_recompute(*, using: str = "default") -> Rows:
    """Every figure from the task tables, in memory (one entry per kept key, a few per project and day)."""
    rows: Rows = {}
    for ids in _task_id_chunks(using):
        contributions_of(ids, rows=rows, using=using)
    return rows


def figures_kept(*, using: str = "default") -> Rows:
    """The kept figures, summed by key (a key has one row; summing also drops the zero rows the increments
    leave behind)."""
    rows: Rows = {}
    for model in KEPT_MODELS:
        table = rows.setdefault(model, {})
        sums = {f"s_{c}": Sum(c, output_field=BigIntegerField()) for c in model.SUMS}
        for row in model.objects.using(using).order_by().values(*model.KEY).annotate(**sums):
            table[tuple(row[c] for c in model.KEY)] = [int(row[f"s_{c}"]) for c in model.SUMS]
    return rows


@dataclass(frozen=True)
class Difference:
    table: str
    key: dict
    kept: list[int] | None
    expected: list[int] | None
    columns: tuple[str, ...] = ()

    def __str__(self) -> str:
        kept = self.kept or [0] * len(self.columns)
        expected = self.expected or [0] * len(self.columns)
        changed = ", ".join(
            f"{c} kept {k}, expected {e}" for c, k, e in zip(self.columns, kept, expected, strict=True) if k != e
        )
        key = " ".join(f"{name}={value}" for name, value in self.key.items())
        return f"{self.table} {key}: {changed}"


def figures_verify(*, using: str = "default") -> list[Difference]:
    """Every difference between the kept figures and a full recompute (empty when they agree)."""
    with transaction.atomic(using=using):
        with connections[using].cursor() as cursor:
            # Task writers wait until both reads are done, so a concurrent write is in both or in neither.
            cursor.execute("LOCK TABLE tasks_task, tasks_stage IN SHARE MODE")
        kept, expected = figures_kept(using=using), figures_recompute(using=using)
    differences = []
    for model in KEPT_MODELS:
        a = {k: v for k, v in kept.get(model, {}).items() if any(v)}
        b = {k: v for k, v in expected.get(model, {}).items() if any(v)}
        for key in sorted(a.keys() | b.keys(), key=repr):
            if a.get(key) != b.get(key):
                named = dict(zip(model.KEY, key, strict=True))
                differences.append(Difference(model._meta.db_table, named, a.get(key), b.get(key), model.SUMS))
    return differences


def figures_rebuild(*, using: str = "default") -> None:
    """Replace every kept figure by a full recompute, in one transaction.

    Task writers wait while it runs (a SHARE lock on the task and stage tables), so that a write either is in
    the rebuild or is applied after it, never lost or counted twice."""
    with transaction.atomic(using=using):
        with connections[using].cursor() as cursor:
            cursor.execute("LOCK TABLE tasks_task, tasks_stage IN SHARE MODE")
            for model in KEPT_MODELS:
                cursor.execute(f"DELETE FROM {model._meta.db_table}")  # noqa: S608 -- our table names
            for sql in _REBUILD:
                cursor.execute(sql, {"no_due": NO_DUE_DATE, "bounds": list(LEAD_BOUNDS), **_CLAMPS})
            # Fresh statistics, or the planner believes the new rows are a handful.
            cursor.execute("ANALYZE " + ", ".join(m._meta.db_table for m in KEPT_MODELS))
        # Every team's dashboards change (their ETags move on), those of teams left with no figures too.
        record(teams=Team.objects.using(using).values_list("pk", flat=True))


_CLAMPS = {"ratio_low": -RATIO_CLAMP, "ratio_high": RATIO_CLAMP, "pace_low": PACE_CLAMP[0], "pace_high": PACE_CLAMP[1]}
_BASE = """
    FROM tasks_task t
    JOIN tasks_project p ON p.id = t.project_id
    JOIN accounts_team tm ON tm.id = p.team_id
    WHERE t.deleted_at IS NULL
"""
_COMPLETED_SELECT = f"""
    SELECT p.team_id, t.project_id, COALESCE(t.assignee_id, 0) AS assignee_id,
                  (t.completed_at AT TIME ZONE tm.time_zone)::date AS day, t.priority,
           floor(extract(epoch FROM t.completed_at - t.created_at))::bigint AS lead,
           floor(extract(epoch FROM t.completed_at - t.started_at))::bigint AS cycle,
           ((t.completed_at AT TIME ZONE tm.time_zone)::date - t.due_date) AS delay,
           extract(hour FROM t.completed_at AT TIME ZONE tm.time_zone)::int AS hour,
           width_bucket(floor(extract(epoch FROM t.completed_at - t.created_at))::bigint, %(bounds)s::bigint[])
               AS bucket,
           CASE WHEN t.started_at IS NOT NULL AND w.worked > 0 THEN LEAST(GREATEST(round(ln(
               w.worked::float8 / 100 / GREATEST(1,
                   {sql_weekdays_before("(t.completed_at AT TIME ZONE tm.time_zone)::date + 1")}
                   - {sql_weekdays_before("(t.started_at AT TIME ZONE tm.time_zone)::date")})
           ) * 1000000)::bigint, %(pace_low)s), %(pace_high)s) END AS pace
    {_BASE} AND t.status = 'completed'
"""  # noqa: S608 -- fixed text: our table names, no input
# Each completed task's stage hours (the pace), joined before the WHERE of _BASE.
_COMPLETED = _COMPLETED_SELECT.replace(
    "WHERE",
    """CROSS JOIN LATERAL (SELECT COALESCE(sum((s.actual_hours * 100)::bigint), 0) AS worked FROM tasks_stage s
                          WHERE s.task_id = t.id AND s.status = 'completed') w WHERE""",
    1,
)
_CREATED_COUNTS = ", ".join(
    f"count(*) FILTER (WHERE t.status = '{c.rsplit('_', 1)[0]}' AND t.priority = {c.rsplit('_', 1)[1]})"
    for c in STATUS_PRIORITY
)
_HOUR_COUNTS = ", ".join(f"count(*) FILTER (WHERE hour = {h})" for h in range(24))
_BUCKET_COUNTS = ", ".join(f"count(*) FILTER (WHERE bucket = {b})" for b in range(LEAD_BUCKETS))
_REBUILD = [
    f"""INSERT INTO analytics_createdday (team_id, project_id, assignee_id, day, n, {", ".join(STATUS_PRIORITY)})
        SELECT p.team_id, t.project_id, COALESCE(t.assignee_id, 0), (t.created_at AT TIME ZONE tm.time_zone)::date,
               count(*), {_CREATED_COUNTS}
        {_BASE} GROUP BY 1, 2, 3, 4""",
    f"""INSERT INTO analytics_openbydue (team_id, project_id, assignee_id, due_date, n)
        SELECT p.team_id, t.project_id, COALESCE(t.assignee_id, 0), COALESCE(t.due_date, %(no_due)s), count(*)
        {_BASE} AND t.status <> 'completed' GROUP BY 1, 2, 3, 4""",
    f"""INSERT INTO analytics_completedday (team_id, project_id, assignee_id, day, priority, n, lead_sum,
            lead_sq, cycle_n, cycle_sum, cycle_sq, due_n, delay_sum, delay_sq, on_time, pace_n, pace_sum, pace_sq)
        SELECT team_id, project_id, assignee_id, day, priority, count(*), sum(lead),
               sum(lead::numeric * lead), count(cycle), COALESCE(sum(cycle), 0),
               COALESCE(sum(cycle::numeric * cycle), 0),
               count(delay), COALESCE(sum(delay), 0), COALESCE(sum(delay::bigint * delay), 0),
               count(*) FILTER (WHERE delay <= 0),
               count(pace), COALESCE(sum(pace), 0), COALESCE(sum(pace::numeric * pace), 0)
        FROM ({_COMPLETED}) c GROUP BY 1, 2, 3, 4, 5""",  # noqa: S608
    f"""INSERT INTO analytics_completedshape (team_id, project_id, assignee_id, day, weekday, n, {", ".join(HOURS)},
            {", ".join(BUCKETS)})
        SELECT team_id, project_id, assignee_id, day, extract(isodow FROM day)::int, count(*), {_HOUR_COUNTS},
               {_BUCKET_COUNTS}
        FROM ({_COMPLETED}) c GROUP BY 1, 2, 3, 4""",  # noqa: S608
    f"""INSERT INTO analytics_stageday (team_id, project_id, assignee_id, day, name, n, est_sum, act_sum, err_sum,
            err_sq, ratio_n, ratio_sum, ratio_sq)
        SELECT team_id, project_id, assignee_id, day, name, count(*), sum(est), sum(act), sum(act - est),
               sum((act - est)::numeric * (act - est)), count(ratio), COALESCE(sum(ratio), 0),
               COALESCE(sum(ratio::numeric * ratio), 0)
        FROM (SELECT p.team_id, t.project_id, COALESCE(t.assignee_id, 0) AS assignee_id,
                     (s.completed_at AT TIME ZONE tm.time_zone)::date AS day, s.name,
                     (s.estimated_hours * 100)::bigint AS est, (s.actual_hours * 100)::bigint AS act,
                     CASE WHEN s.estimated_hours > 0 AND s.actual_hours > 0 THEN LEAST(GREATEST(round(ln(
                         (s.actual_hours * 100)::bigint::float8 / (s.estimated_hours * 100)::bigint
                     ) * 1000000)::bigint, %(ratio_low)s), %(ratio_high)s) END AS ratio
              {_BASE.replace("WHERE", "JOIN tasks_stage s ON s.task_id = t.id WHERE")} AND s.status = 'completed') st
        GROUP BY 1, 2, 3, 4, 5""",  # noqa: S608
]
