"""What the pages read of the kept forecasts (analytics.models.Forecast and ForecastCalibration, written by the
forecast engine only): a project's summary, a dashboard scope's at-risk tasks and its teams' calibration.

Each is one query whatever the number of tasks, scoped by what the caller already checked: a Project from
tasks.selectors.projects_visible_to, or an analytics.selectors.Scope from dashboard_scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Q

from tasks.forecast_text import ProjectSummary, calibration_words, day_text
from tasks.models import Status

from .models import Forecast, ForecastCalibration, ProjectForecast
from .selectors import Scope

AT_RISK_LIMIT = 10  # rows of the dashboard's at-risk list; the rest are one link away (the list's filter)
# How far the at-risk tasks are counted: past it the page says "999+". A team where most open tasks are late had
# 412,000 at-risk rows on the 1M bench; counting them all was most of the list's time (docs/performance.md).
AT_RISK_COUNT_CAP = 999


def project_forecast(project_id: int) -> ProjectSummary:
    """The project's forecast as the engine keeps it (its ProjectForecast row: the distribution of its last open
    task's finish) and how many of its open tasks are at risk, counted up to AT_RISK_COUNT_CAP + 1 in the
    partial index analytics_forecast_risk_prj. Two queries, whatever the project's size (an aggregate over its
    Forecast rows instead read 450,000 of them: 38 ms, docs/performance.md)."""
    kept = ProjectForecast.objects.filter(project_id=project_id).first()
    at_risk = Forecast.objects.filter(project_id=project_id, at_risk=True).order_by()[: AT_RISK_COUNT_CAP + 1].count()
    if kept is None:
        return ProjectSummary(None, None, at_risk, 0, 0, kept=False, at_risk_capped=at_risk > AT_RISK_COUNT_CAP)
    return ProjectSummary(
        p50=kept.p50,
        p85=kept.p85,
        at_risk=min(at_risk, AT_RISK_COUNT_CAP),
        forecast=kept.forecast,
        undated=kept.unforecast,
        reason=kept.reason,
        at_risk_capped=at_risk > AT_RISK_COUNT_CAP,
    )


@dataclass(frozen=True)
class AtRiskTask:
    task_id: int
    title: str
    assignee: str  # "" when nobody
    due_date: date | None
    p85: date
    late_days: int
    p85_text: str
    due_text: str


def _scope_filter(scope: Scope) -> Q:
    """The scope's forecasts: a project's, a team's, or my tasks' in my teams (and one assignee's if asked)."""
    if scope.kind == "project":
        # With its team: the team's at-risk index is in the list's order, where the project's would need a sort
        # of all its at-risk rows (5 ms against 100 ms on the 1M bench).
        where = Q(team_id=scope.project.team_id, project_id=scope.project.pk)
    elif scope.kind == "team":
        where = Q(team_id=scope.team.pk)
    else:
        where = Q(team_id__in=[t.pk for t in scope.teams])
    if scope.assignee_id is not None:
        where &= Q(task__assignee_id=scope.assignee_id)
    return where


def at_risk_tasks(scope: Scope, *, limit: int = AT_RISK_LIMIT) -> tuple[list[AtRiskTask], int]:
    """The scope's open tasks at risk of missing their due date, latest 85 % date first (the partial index
    analytics_forecast_risk is in that order per team, so the first `limit` are a short range of it), with how
    many there are, counted up to AT_RISK_COUNT_CAP + 1. Two queries; trashed, archived and completed tasks are
    left out even if a row lingers.

    Tasks with the same 85 % date come in the index's order: an id after the date would make PostgreSQL sort
    every row of the first date (9,000 on the 1M bench) to pick ten."""
    live = Q(task__deleted_at__isnull=True, task__archived_at__isnull=True) & ~Q(task__status=Status.COMPLETED)
    risky = Forecast.objects.filter(_scope_filter(scope), live, at_risk=True)
    rows = list(
        risky.order_by("-p85").values_list(
            "task_id", "task__title", "task__assignee__full_name", "task__assignee__email", "task__due_date", "p85"
        )[:limit]
    )
    total = risky.order_by()[: AT_RISK_COUNT_CAP + 1].count()  # always asked: a fixed number of queries
    today = scope.today
    found = [
        AtRiskTask(
            task_id=task_id,
            title=title,
            assignee=full_name or email or "",
            due_date=due,
            p85=p85,
            late_days=(p85 - due).days if due else 0,  # at_risk means p85 > due, so a due date is there
            p85_text=day_text(p85, today),
            due_text=day_text(due, today) if due else "",
        )
        for task_id, title, full_name, email, due, p85 in rows
    ]
    return found, total


@dataclass(frozen=True)
class Calibration:
    team_name: str
    replayed: int
    within_p85: int
    words: str


def calibrations(scope: Scope) -> list[Calibration]:
    """How well the forecasts of the scope's team (each of my teams, for my work) would have done, in words:
    "Of the last 412 finished tasks, 86 % finished by their 85 % date". A team the backtest has not reached yet
    is said so. One query."""
    teams = [scope.team] if scope.team is not None else list(scope.teams)
    kept = {c.team_id: c for c in ForecastCalibration.objects.filter(team_id__in=[t.pk for t in teams])}
    found = []
    for team in teams:
        c = kept.get(team.pk)
        replayed, within = (c.replayed, c.within_p85) if c else (0, 0)
        words = (
            calibration_words(replayed, within)
            if c
            else "The forecasts have not been checked against finished tasks yet, so there is no measure of their "
            "accuracy."
        )
        found.append(Calibration(team.name, replayed, within, words))
    return found
