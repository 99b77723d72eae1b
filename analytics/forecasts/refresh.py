"""Forecasts written and kept in step: in a task write's transaction, by a team refresh, and by the daily job.

Contract:

- `ForecastObserver` (registered in AnalyticsConfig.ready, after the figures' observer, so it reads the kept
  history the write has just updated): in `apply`, in the writer's transaction with the tasks' row locks
  held, it rewrites the changed tasks' Forecast rows (an open, live, unarchived task has one; any other has
  none) and, when the write moved the team's history (the kept ln-ratio / ln-pace sums of its tasks) or a
  forecast, bumps ForecastTeamState.wanted and, after commit, asks a worker to refresh the team. The tasks
  themselves are reported by tasks.changes.task_rows_changing, as for any task write.
- `team_refresh(team_id)`: one refresh of a team at a time (a transaction-level advisory lock; a second caller
  returns at once, and the holder looks at `wanted` again after its commit, so no bump is missed), a
  transaction per pass: it reads the forecasts' row versions (xmin) first, then the open tasks, their stages and
  the kept history, computes every forecast (method.py, vectorised) and writes only the rows whose values
  changed, each only if no writer touched it since it was read (the writer's value, computed with the row
  lock held, is the newer). It reports exactly those tasks through aether.changes.record(tasks=...), and the
  team when its project forecasts changed.
- `forecasts_daily()`: per team, once per team-local day (the ForecastDailyRun row, inserted in the run's
  transaction, is the claim: a second worker or scheduler skips it), the backtest (calibration) and a refresh
  as of the new day; and, every run, the refresh of any team whose `wanted` is ahead of `done` (a request lost
  with the broker or a killed worker), so a lost request delays a refresh by at most the run's interval.
"""

from __future__ import annotations

import logging
import zlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from aether.changes import record
from tasks.deadlines import deadlines_at
from tasks.models import Status, Task

from ..figures import contributions_of
from ..models import CompletedDay, Forecast, ForecastDailyRun, ForecastTeamState, ProjectForecast, StageDay
from .history import history_at
from .method import Draws, Result, TaskInput, forecast_project, forecast_tasks

log = logging.getLogger(__name__)

CHUNK = 2000
_FIELDS = ("p50", "p85", "at_risk", "basis", "reason", "remaining_hours")


# --- reading ---------------------------------------------------------------------------------------------

_OPEN = "t.deleted_at IS NULL AND t.archived_at IS NULL AND t.status <> 'completed'"


def _open_inputs(where: str, params: list) -> tuple[list[TaskInput], dict[int, int]]:
    """Open tasks (and their stages) matching `where` over tasks_task t / tasks_project p: two queries."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT t.id, t.project_id, t.assignee_id, t.due_date FROM tasks_task t "  # noqa: S608 -- our text
            f"JOIN tasks_project p ON p.id = t.project_id WHERE {where} AND {_OPEN} ORDER BY t.id",
            params,
        )
        tasks = cursor.fetchall()
        cursor.execute(
            f"SELECT s.task_id, s.order, s.name, s.status, s.estimated_hours::float8 FROM tasks_stage s "  # noqa: S608
            f"JOIN tasks_task t ON t.id = s.task_id JOIN tasks_project p ON p.id = t.project_id "
            f"WHERE {where} AND {_OPEN}",
            params,
        )
        stages: dict[int, list] = defaultdict(list)
        for task_id, order, name, status, est in cursor.fetchall():
            stages[task_id].append((order, name, status, est))
    inputs = []
    for task_id, _project, assignee, due in tasks:
        own = stages.get(task_id, [])
        remaining = sorted((o, n, e) for o, n, s, e in own if s != Status.COMPLETED)
        inputs.append(TaskInput(task_id, assignee, due, bool(own), remaining))
    return inputs, {t[0]: t[1] for t in tasks}


def _forecast(team_id: int, time_zone: str, inputs: list[TaskInput], now: datetime) -> tuple[date, list[Result]]:
    as_of = deadlines_at(now).today(time_zone)
    history = history_at(team_id, date.fromordinal(as_of.toordinal() + 1))
    draws = Draws(team_id, as_of)
    results: list[Result] = []
    for start in range(0, len(inputs), CHUNK):
        results += forecast_tasks(inputs[start : start + CHUNK], history, draws, as_of)
    return as_of, results


def _values(result: Result) -> tuple:
    return (result.p50, result.p85, result.at_risk, result.basis, result.reason, result.remaining_hours)


# --- writing ---------------------------------------------------------------------------------------------

_COLUMNS = "task_id, team_id, project_id, as_of, p50, p85, at_risk, basis, reason, remaining_hours, computed_at"
_TYPES = ("bigint", "bigint", "bigint", "date", "date", "date", "boolean", "text", "text", "numeric", "timestamptz")
# The rows travel as one array per column (unnest), not as VALUES with 11 placeholders a row: the driver's
# handling of 100,000 placeholders cost more than the statement itself.
_UNNEST = "unnest(" + ", ".join(f"%s::{t}[]" for t in _TYPES) + ")"


def _columns(rows: list[tuple], extra: int = 0) -> list[list]:
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in range(11 + extra)]


def _row(result: Result, team_id: int, project_id: int, as_of: date, now: datetime) -> tuple:
    return (result.task_id, team_id, project_id, as_of, *_values(result), now)


def _upsert(rows: list[tuple]) -> None:
    """Write these rows whatever is there (the observer, holding the tasks' row locks)."""
    if not rows:
        return
    sets = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS.split(", ")[1:])
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO analytics_forecast ({_COLUMNS}) SELECT * FROM {_UNNEST} "  # noqa: S608 -- our text
            f"ON CONFLICT (task_id) DO UPDATE SET {sets}",
            _columns(rows),
        )


def _update_unless_touched(rows: list[tuple], seen: dict[int, str]) -> list[int]:
    """Rewrite existing rows that nobody rewrote since we read their version `seen` (xmin)."""
    if not rows:
        return []
    sets = ", ".join(f"{c} = v.{c}" for c in _COLUMNS.split(", ")[1:])
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE analytics_forecast f SET {sets} FROM {_UNNEST[:-1]}, %s::text[]) "  # noqa: S608
            f"AS v({_COLUMNS}, seen) WHERE f.task_id = v.task_id AND f.xmin = v.seen::xid RETURNING f.task_id",
            [*_columns(rows), [seen[r[0]] for r in rows]],
        )
        return [r[0] for r in cursor.fetchall()]


def _insert_if_open(rows: list[tuple]) -> list[int]:
    """New rows, for tasks still open once their writers (if any) committed (FOR SHARE waits for them)."""
    if not rows:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO analytics_forecast ({_COLUMNS}) SELECT v.* FROM {_UNNEST} AS v({_COLUMNS}) "  # noqa: S608
            f"WHERE v.task_id IN (SELECT t.id FROM tasks_task t WHERE t.id = ANY(%s) AND {_OPEN} FOR SHARE) "
            f"ON CONFLICT (task_id) DO NOTHING RETURNING task_id",
            [*_columns(rows), [r[0] for r in rows]],
        )
        return [r[0] for r in cursor.fetchall()]


def _delete_unless_touched(seen: dict[int, str]) -> list[int]:
    if not seen:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM analytics_forecast f USING unnest(%s::bigint[], %s::text[]) AS v(task_id, seen) "
            "WHERE f.task_id = v.task_id AND f.xmin = v.seen::xid RETURNING f.task_id",
            [list(seen), list(seen.values())],
        )
        return [r[0] for r in cursor.fetchall()]


def _bump(team_ids) -> None:
    """Ask for a refresh of these teams once the current transaction commits (in it: a rollback asks nothing)."""
    teams = sorted(set(team_ids))
    if not teams:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO analytics_forecastteamstate (team_id, wanted, done) SELECT unnest(%s::bigint[]), 1, 0 "
            "ON CONFLICT (team_id) DO UPDATE SET wanted = analytics_forecastteamstate.wanted + 1",
            [teams],
        )
    conn = transaction.get_connection()
    pending: set[int] | None = conn.__dict__.get("_aether_forecast_refresh")
    if pending is None or not any(
        getattr(entry[1], "__self__", None) is pending for entry in getattr(conn, "run_on_commit", ())
    ):
        pending = conn._aether_forecast_refresh = _PendingRefresh()
        transaction.on_commit(pending.flush)
    pending.update(teams)


_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.1}


class _PendingRefresh(set):
    def flush(self) -> None:
        from ..tasks import forecasts_refresh_team

        teams, _ = sorted(self), self.clear()
        for team in teams:
            try:  # one quick retry, as the outbox's kick: a request must not wait on a broker that is down
                forecasts_refresh_team.apply_async(args=[team], retry=True, retry_policy=_RETRY_POLICY)
            except Exception:  # the broker is down: the change is committed, the daily job refreshes the team
                log.warning("could not ask for the forecast refresh of team %s", team, exc_info=True)


# --- the observer ----------------------------------------------------------------------------------------


def _history_part(task_ids: list[int]) -> dict[tuple, tuple]:
    """What these tasks put in the forecasts' kept history (ratio and pace sums, by key): two queries."""
    rows = contributions_of(task_ids)
    part: dict[tuple, tuple] = {}
    for key, values in rows.get(StageDay, {}).items():
        if values[5]:
            part[("stage", *key)] = tuple(values[5:8])
    for key, values in rows.get(CompletedDay, {}).items():
        if values[10]:
            part[("pace", *key)] = tuple(values[10:13])
    return part


class ForecastObserver:
    """Rewrites the forecasts of the tasks a write changed, in its transaction (see the module's contract)."""

    def snapshot(self, task_ids: list[int]):
        if not task_ids:
            return None
        stored = {
            f.task_id: (f.team_id, _values_of(f)) for f in Forecast.objects.filter(task_id__in=task_ids).order_by()
        }
        return _history_part(task_ids), stored

    def apply(self, task_ids: list[int], before) -> None:
        if not task_ids:
            return
        history_before, stored = before or ({}, {})
        teams = dict(
            Task.objects.filter(pk__in=task_ids).values_list("project__team_id", "project__team__time_zone").distinct()
        )
        now = timezone.now()
        rows: list[tuple] = []
        for team_id, time_zone in teams.items():
            inputs, projects = _open_inputs("p.team_id = %s AND t.id = ANY(%s)", [team_id, list(task_ids)])
            as_of, results = _forecast(team_id, time_zone, inputs, now)
            rows += [_row(r, team_id, projects[r.task_id], as_of, now) for r in results]
        _upsert(rows)  # always written: the row's new version tells a running team refresh to leave it
        gone = set(stored) - {r[0] for r in rows}
        if gone:
            Forecast.objects.filter(task_id__in=gone).delete()
        # The team's refresh follows when the history moved (every open task's forecast may) or a forecast did
        # (its project's forecast may): for the teams the tasks were in before the write and after it.
        moved = _history_part(task_ids) != history_before or bool(gone)
        moved = moved or any(stored.get(r[0], (None, None))[1] != tuple(r[4:10]) for r in rows)
        if moved:
            _bump({team for team, _ in stored.values()} | set(teams))


def _values_of(f: Forecast) -> tuple:
    return tuple(getattr(f, name) for name in _FIELDS)


observer = ForecastObserver()


# --- the team refresh ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RefreshRun:
    team_id: int
    passes: int = 0
    open_tasks: int = 0
    changed: int = 0
    skipped: bool = False


def _advisory_key(team_id: int) -> int:
    return zlib.crc32(f"aether:forecasts:{team_id}".encode())


def team_refresh(team_id: int, *, force: bool = False, now: datetime | None = None) -> RefreshRun:
    """Refresh every open task's forecast of the team, and its projects', until no bump is left uncovered.
    `force`: at least one pass even if nothing asked for one (the command, the daily job). Call outside a
    transaction (each pass is one)."""
    passes = open_tasks = changed = 0
    while True:
        with transaction.atomic():
            if not _try_lock(team_id):
                return RefreshRun(team_id, passes, open_tasks, changed, skipped=passes == 0)
            wanted, done = _state(team_id)
            if wanted <= done and not (force and passes == 0):
                return RefreshRun(team_id, passes, open_tasks, changed)
            n, c = _pass_covering(team_id, wanted, now=now)
        passes, open_tasks, changed = passes + 1, n, changed + c


def _try_lock(team_id: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_advisory_key(team_id)])
        return bool(cursor.fetchone()[0])


def _state(team_id: int) -> tuple[int, int]:
    row = ForecastTeamState.objects.filter(team_id=team_id).values_list("wanted", "done").first()
    return row or (0, 0)


def _pass_covering(team_id: int, wanted: int, *, now: datetime | None) -> tuple[int, int]:
    """One pass (refresh_locked), then every request up to `wanted` (read before the pass) counted as done."""
    result = refresh_locked(team_id, now=now)
    ForecastTeamState.objects.filter(team_id=team_id, done__lt=wanted).update(done=wanted)
    return result


def refresh_locked(team_id: int, *, now: datetime | None = None) -> tuple[int, int]:
    """One pass, in the caller's transaction, holding the team's advisory lock: (open tasks, forecasts changed)."""
    from accounts.models import Team

    now = now or timezone.now()
    time_zone = Team.objects.filter(pk=team_id).values_list("time_zone", flat=True).first()
    if time_zone is None:
        Forecast.objects.filter(team_id=team_id).delete()
        ProjectForecast.objects.filter(team_id=team_id).delete()
        return 0, 0
    # The row versions first: a writer that touches a row after this read wins over this pass's value.
    stored: dict[int, tuple[str, tuple]] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT task_id, xmin::text, p50, p85, at_risk, basis, reason, remaining_hours "
            "FROM analytics_forecast WHERE team_id = %s",
            [team_id],
        )
        for task_id, xmin, *values in cursor.fetchall():
            stored[task_id] = (xmin, tuple(values))
    inputs, projects = _open_inputs("p.team_id = %s", [team_id])
    as_of, results = _forecast(team_id, time_zone, inputs, now)
    seen = {task: xmin for task, (xmin, _) in stored.items()}
    updates, inserts = [], []
    for result in results:
        old = stored.pop(result.task_id, None)
        if old is not None and old[1] == _values(result):
            continue
        (inserts if old is None else updates).append(_row(result, team_id, projects[result.task_id], as_of, now))
    changed = _update_unless_touched(updates, seen)
    changed += _insert_if_open(inserts)
    changed += _delete_unless_touched({task: xmin for task, (xmin, _) in stored.items()})
    if changed:
        record(tasks=dict.fromkeys(changed, (team_id,)))
    if _projects_write(team_id, as_of, results, projects, now):
        record(teams=[team_id])
    return len(inputs), len(changed)


def _projects_write(team_id: int, as_of: date, results: list[Result], projects: dict[int, int], now) -> bool:
    """Each project's forecast from its open tasks' draws; True if any stored project forecast changed."""
    by_project: dict[int, list[Result]] = defaultdict(list)
    for result in results:
        by_project[projects[result.task_id]].append(result)
    stored = {
        p.project_id: (p.p50, p.p85, p.at_risk, p.forecast, p.unforecast, p.reason)
        for p in ProjectForecast.objects.filter(team_id=team_id)
    }
    rows = []
    for project_id, own in by_project.items():
        f = forecast_project(own, as_of)
        values = (f.p50, f.p85, any(r.at_risk for r in own), f.forecast, f.unforecast, f.reason)
        if stored.pop(project_id, None) != values:
            rows.append(
                ProjectForecast(
                    project_id=project_id,
                    team_id=team_id,
                    as_of=as_of,
                    computed_at=now,
                    p50=f.p50,
                    p85=f.p85,
                    at_risk=values[2],
                    forecast=f.forecast,
                    unforecast=f.unforecast,
                    reason=f.reason,
                )
            )
    if rows:
        ProjectForecast.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["project_id"],
            update_fields=[
                "team_id",
                "as_of",
                "p50",
                "p85",
                "at_risk",
                "forecast",
                "unforecast",
                "reason",
                "computed_at",
            ],
        )
    if stored:  # projects with no open task left
        ProjectForecast.objects.filter(project_id__in=list(stored)).delete()
    return bool(rows or stored)


# --- the daily job ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DailyRun:
    claimed: list[int]
    changed: int = 0


def forecasts_daily(*, now: datetime | None = None) -> DailyRun:
    """For each team not yet done today (its local day): claim (team, day), recompute its calibration and
    refresh its forecasts as of today, in one transaction per team; exactly once per (team, day)."""
    from accounts.models import Team

    from .backtest import backtest_team

    now = now or timezone.now()
    claimed, changed = [], 0
    teams = Team.objects.order_by("pk").values_list("pk", "time_zone")
    done_today = set(
        ForecastDailyRun.objects.filter(day__gte=(now - timedelta(days=1)).date()).values_list("team_id", "day")
    )
    for team_id, time_zone in teams:
        day = deadlines_at(now).today(time_zone)
        if (team_id, day) in done_today:
            continue  # the common case of a run every quarter hour: two reads, no write
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO analytics_forecastdailyrun (team_id, day, ran_at) VALUES (%s, %s, %s) "
                    "ON CONFLICT (team_id, day) DO NOTHING RETURNING id",
                    [team_id, day, now],
                )
                if cursor.fetchone() is None:
                    continue  # another run did (or is doing) this team's day
            backtest_team(team_id, now=now)
            if _try_lock(team_id):  # else a refresh is running now, as of today: it covers the day
                changed += _pass_covering(team_id, _state(team_id)[0], now=now)[1]
        claimed.append(team_id)
    # A refresh asked for and never done: the broker was down at the commit, or the worker died in the pass.
    # This run, every quarter hour, does it (the advisory lock and wanted/done keep it to once).
    behind = ForecastTeamState.objects.filter(done__lt=F("wanted")).order_by("team_id")
    for team_id in behind.values_list("team_id", flat=True):
        changed += team_refresh(team_id, now=now).changed
    log.info("forecasts daily: %s teams refreshed, %s forecasts changed", len(claimed), changed)
    return DailyRun(claimed, changed)
