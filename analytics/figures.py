"""What each task contributes to the kept figures (analytics/models.py), and the observer that keeps them in
step with every task write, in the write's transaction.

A task's contribution is a set of (table, key, sums) rows computed from the task and its stages alone. The
observer (registered in AnalyticsConfig.ready) reads the changing tasks before and after the write
(tasks.changes.task_rows_changing holds their row locks), subtracts the old contribution, adds the new, and
writes each table's net difference with one `INSERT ... ON CONFLICT (key) DO UPDATE SET n = n + excluded.n`:
an increment in the database, so two writers of different tasks that land on the same row both count. A
write costs two reads before, two after and at most one statement per table, whatever the tables' size.
"""

from __future__ import annotations

import zoneinfo
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import lru_cache

from django.db import connections

from tasks.models import Stage, Status, Task

from .forecasts.workdays import log_millionths, working_days
from .models import (
    KEPT_MODELS,
    LEAD_BUCKETS,
    NO_ASSIGNEE,
    NO_DUE_DATE,
    PACE_CLAMP,
    RATIO_CLAMP,
    STATUS_PRIORITY,
    CompletedDay,
    CompletedShape,
    CreatedDay,
    OpenByDue,
    StageDay,
)

# Lead-time histogram: bucket 0 is [0, 1 hour); bucket k >= 1 is [2^((k-1)/4), 2^(k/4)) hours; the last,
# bucket 60, is open-ended from 2^(59/4) hours (3.2 years). Reported at a bucket's geometric middle, a median is within
# 2^(1/8) - 1 = 9.05% of the true one (0.5 hour below one hour). Bounds are whole seconds, so Python and SQL
# (width_bucket) put a task in the same bucket.
LEAD_BOUNDS: tuple[int, ...] = tuple(round(3600 * 2 ** (k / 4)) for k in range(LEAD_BUCKETS - 1))


def lead_bucket(seconds: int) -> int:
    """The number of bounds at or below `seconds` (0 below one hour)."""
    return bisect_right(LEAD_BOUNDS, seconds)


def bucket_middle_hours(bucket: int) -> float:
    if bucket == 0:
        return 0.5
    return 2 ** ((bucket - 1) / 4 + 1 / 8)


@lru_cache(maxsize=512)
def _zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def _local(when: datetime, tz: str) -> datetime:
    return when.astimezone(_zone(tz))


TASK_FIELDS = (
    "pk",
    "project_id",
    "project__team_id",
    "project__team__time_zone",
    "status",
    "priority",
    "assignee_id",
    "created_at",
    "started_at",
    "completed_at",
    "due_date",
    "deleted_at",
)
STAGE_FIELDS = ("task_id", "name", "status", "estimated_hours", "actual_hours", "completed_at")

Rows = dict[type, dict[tuple, list[int]]]


def _add(rows: Rows, model, key: tuple, values: Iterable[int], sign: int = 1) -> None:
    table = rows.setdefault(model, {})
    current = table.get(key)
    values = [sign * v for v in values]
    if current is None:
        table[key] = values
    else:
        for i, v in enumerate(values):
            current[i] += v


def contribute(rows: Rows, task: tuple, stages: Iterable[tuple], sign: int = 1) -> None:
    """Add (sign=1) or subtract (sign=-1) one task's contribution. `task` is a TASK_FIELDS tuple and `stages`
    STAGE_FIELDS tuples of its stages."""
    (_, project, team, tz, status, priority, assignee, created, started, completed, due, deleted) = task
    if deleted is not None:
        return  # the trash counts for nothing
    stages = [s for s in stages if s[2] == Status.COMPLETED]
    who = assignee or NO_ASSIGNEE
    created_values = [1] + [0] * len(STATUS_PRIORITY)
    created_values[1 + STATUS_PRIORITY.index(f"{status}_{priority}")] = 1
    _add(rows, CreatedDay, (team, project, who, _local(created, tz).date()), created_values, sign)
    if status != Status.COMPLETED:
        _add(rows, OpenByDue, (team, project, who, due or NO_DUE_DATE), (1,), sign)
    else:
        local = _local(completed, tz)
        day = local.date()
        lead = (completed - created) // timedelta(seconds=1)
        cycle = (completed - started) // timedelta(seconds=1) if started is not None else None
        delay = (day - due).days if due is not None else None
        # The forecasts' pace: stage hours per working day, start day to completion day (local, inclusive).
        worked = sum(int(s[4] * 100) for s in stages)
        pace = None
        if started is not None and worked > 0:
            days = working_days(_local(started, tz).date(), day)
            pace = log_millionths(worked / 100 / days, *PACE_CLAMP)
        hours, buckets = [0] * 24, [0] * LEAD_BUCKETS
        hours[local.hour] = 1
        buckets[lead_bucket(lead)] = 1
        values = [
            1,
            lead,
            lead * lead,
            0 if cycle is None else 1,
            cycle or 0,
            (cycle or 0) ** 2,
            0 if delay is None else 1,
            delay or 0,
            (delay or 0) ** 2,
            1 if delay is not None and delay <= 0 else 0,
            0 if pace is None else 1,
            pace or 0,
            (pace or 0) ** 2,
        ]
        _add(rows, CompletedDay, (team, project, who, day, priority), values, sign)
        _add(rows, CompletedShape, (team, project, who, day), [1, *hours, *buckets], sign)
    for _, name, _status, estimated, actual, stage_completed in stages:
        est, act = int(estimated * 100), int(actual * 100)
        err = act - est
        day = _local(stage_completed, tz).date()
        ratio = log_millionths(act / est, -RATIO_CLAMP, RATIO_CLAMP) if est > 0 and act > 0 else None
        values = (1, est, act, err, err * err, 0 if ratio is None else 1, ratio or 0, (ratio or 0) ** 2)
        _add(rows, StageDay, (team, project, who, day, name), values, sign)


def contributions_of(task_ids: list[int], *, sign: int = 1, rows: Rows | None = None, using=None) -> Rows:
    """The contributions of these tasks as they are now (two queries)."""
    rows = {} if rows is None else rows
    if not task_ids:
        return rows
    tasks = Task.objects.using(using).filter(pk__in=task_ids).order_by().values_list(*TASK_FIELDS)
    stages: dict[int, list[tuple]] = defaultdict(list)
    for stage in (
        Stage.objects.using(using)
        .filter(task_id__in=task_ids, status=Status.COMPLETED)
        .order_by()
        .values_list(*STAGE_FIELDS)
    ):
        stages[stage[0]].append(stage)
    for task in tasks:
        contribute(rows, task, stages.get(task[0], ()), sign)
    return rows


def _extra(model, key: tuple) -> tuple:
    """Columns that follow from the key (CompletedShape's weekday)."""
    if model is CompletedShape:
        return (key[3].isoweekday(),)
    return ()


def rows_upsert(rows: Rows, *, using: str = "default") -> None:
    """Write rows: add them to the kept ones (an increment in the database, safe beside concurrent writers).
    One statement per table (in chunks of 2,000 rows)."""
    conn = connections[using]
    for model in KEPT_MODELS:
        table = rows.get(model)
        if not table:
            continue
        # In key order (None, an unassigned task's assignee, first): two transactions that add to the same
        # rows (two recurrence job runs, each making hundreds of tasks at once) then wait, never deadlock.
        items = sorted(((k, v) for k, v in table.items() if any(v)), key=lambda kv: [(c is not None, c) for c in kv[0]])
        if not items:
            continue
        extra = getattr(model, "EXTRA", ())
        columns = [*model.KEY, *extra, *model.SUMS]
        name = model._meta.db_table
        qn = conn.ops.quote_name
        updates = ", ".join(f"{qn(c)} = {name}.{qn(c)} + excluded.{qn(c)}" for c in model.SUMS)
        placeholder = "(" + ", ".join(["%s"] * len(columns)) + ")"
        for start in range(0, len(items), 2000):
            chunk = items[start : start + 2000]
            params: list = []
            for key, values in chunk:
                params += [*key, *_extra(model, key), *values]
            sql = (
                f"INSERT INTO {name} ({', '.join(qn(c) for c in columns)}) VALUES "  # noqa: S608 -- names are ours
                + ", ".join([placeholder] * len(chunk))
                + f" ON CONFLICT ({', '.join(qn(c) for c in model.KEY)}) DO UPDATE SET {updates}"
            )
            with conn.cursor() as cursor:
                cursor.execute(sql, params)


class FiguresObserver:
    """Keeps the figures in step with every task write (see tasks/changes.py for the contract)."""

    def snapshot(self, task_ids: list[int]) -> Rows:
        return contributions_of(task_ids, sign=-1)

    def apply(self, task_ids: list[int], before: Rows) -> None:
        rows_upsert(contributions_of(task_ids, sign=1, rows=before))


observer = FiguresObserver()
