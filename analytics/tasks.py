"""Celery tasks of the forecasts. Thin: each calls one function of analytics/forecasts/refresh.py and is safe
to run twice, or twice at once: a team's refresh runs one at a time (an advisory lock) and the daily job
claims each (team, day) once."""

from celery import shared_task

from .forecasts.refresh import forecasts_daily, team_refresh


@shared_task(name="analytics.forecasts_refresh_team", ignore_result=True)
def forecasts_refresh_team(team_id: int) -> int:
    """Refresh a team's forecasts if a change asked for it (ForecastTeamState). Returns the forecasts changed."""
    return team_refresh(team_id).changed


@shared_task(name="analytics.forecasts_daily", ignore_result=True)
def forecasts_daily_run() -> int:
    """Each team once per its local day: calibration (backtest) and a refresh as of the new day."""
    return len(forecasts_daily().claimed)
