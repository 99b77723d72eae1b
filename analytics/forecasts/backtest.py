"""How well the forecasts would have done: replay a team's completed tasks as they stood at their start.

Contract: `backtest(team_id, limit=N)` takes the team's N most recently completed live tasks that had stages
and a start, and forecasts each one as at its team-local start day, with all its stages remaining and only the
history kept before that day (history.TeamHistory.at(start day): prefix sums over the kept figures, read once,
no query per task), with the draws of that team and day, exactly as a live forecast made that morning would
have been. It counts the tasks whose actual local completion day is on or before the forecast's p50 and p85.
Tasks that had no date at their start (too little history, or a finish beyond the horizon) are counted in
`thin`, not replayed. `backtest_team` writes the result to ForecastCalibration (one row per team).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from accounts.models import Team
from tasks.deadlines import deadlines_at
from tasks.models import Stage, Status, Task

from ..figures import _local
from ..models import CalibrationShares, ForecastCalibration
from .history import TeamHistory
from .method import Draws, TaskInput, forecast_tasks

LIMIT = 500


@dataclass(frozen=True)
class Backtest(CalibrationShares):
    replayed: int
    within_p50: int
    within_p85: int
    thin: int


def backtest(team_id: int, *, limit: int = LIMIT) -> Backtest:
    time_zone = Team.objects.values_list("time_zone", flat=True).get(pk=team_id)
    tasks = list(
        Task.objects.filter(
            project__team_id=team_id,
            status=Status.COMPLETED,
            deleted_at__isnull=True,
            started_at__isnull=False,
            stages__isnull=False,
        )
        .distinct()
        .order_by("-completed_at", "-pk")
        .values_list("pk", "assignee_id", "started_at", "completed_at")[:limit]
    )
    stages: dict[int, list] = defaultdict(list)
    for task_id, order, name, est in Stage.objects.filter(task_id__in=[t[0] for t in tasks]).values_list(
        "task_id", "order", "name", "estimated_hours"
    ):
        stages[task_id].append((order, name, float(est)))
    by_day: dict = defaultdict(list)
    for task_id, assignee, started, completed in tasks:
        start_day = _local(started, time_zone).date()
        finish_day = _local(completed, time_zone).date()
        by_day[start_day].append((TaskInput(task_id, assignee, None, True, sorted(stages[task_id])), finish_day))
    history = TeamHistory.load(team_id)
    replayed = within_p50 = within_p85 = thin = 0
    for start_day, items in by_day.items():
        results = forecast_tasks([i for i, _ in items], history.at(start_day), Draws(team_id, start_day), start_day)
        for result, (_, finish_day) in zip(results, items, strict=True):
            if result.p85 is None:
                thin += 1
                continue
            replayed += 1
            within_p50 += finish_day <= result.p50
            within_p85 += finish_day <= result.p85
    return Backtest(replayed, within_p50, within_p85, thin)


def backtest_team(team_id: int, *, limit: int = LIMIT, now: datetime | None = None) -> ForecastCalibration:
    """Run the backtest and keep its figures (ForecastCalibration, as of the team-local day of `now`)."""
    now = now or timezone.now()
    result = backtest(team_id, limit=limit)
    time_zone = Team.objects.values_list("time_zone", flat=True).get(pk=team_id)
    calibration, _ = ForecastCalibration.objects.update_or_create(
        team_id=team_id,
        defaults={
            "as_of": deadlines_at(now).today(time_zone),
            "replayed": result.replayed,
            "within_p50": result.within_p50,
            "within_p85": result.within_p85,
            "thin": result.thin,
            "computed_at": now,
        },
    )
    return calibration
