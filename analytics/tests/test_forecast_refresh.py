"""Forecasts kept through the services (the observer), the team refresh, the daily job and the backtest, on a
history made by hand: every Build stage took 1.5x its estimate and every task 2 working days (6 h a day)."""

from __future__ import annotations

import contextlib
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from unittest import mock

import pytest
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.tests.factories import MembershipFactory, TeamFactory, UserFactory
from analytics.forecasts.backtest import backtest, backtest_team
from analytics.forecasts.refresh import forecasts_daily, team_refresh
from analytics.models import (
    Forecast,
    ForecastCalibration,
    ForecastDailyRun,
    ForecastTeamState,
    ProjectForecast,
    StageDay,
)
from analytics.recompute import figures_verify
from tasks import services
from tasks.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db

FIRST_MONDAY = datetime(2026, 10, 5, 9, tzinfo=UTC)
NOW = datetime(2026, 11, 9, 10, tzinfo=UTC)  # the Monday after five weeks of history


@contextmanager
def at(when: datetime):
    with mock.patch.object(timezone, "now", return_value=when):
        yield


@pytest.fixture
def world():
    team = TeamFactory(name="Acme", time_zone="UTC")
    lead, dev = UserFactory(email="lead@acme.test"), UserFactory(email="dev@acme.test")
    MembershipFactory(team=team, user=lead, role="admin")
    MembershipFactory(team=team, user=dev, role="member")
    return {"team": team, "lead": lead, "dev": dev, "project": ProjectFactory(team=team, name="Apollo")}


def finished(w, start: datetime, end: datetime, *, est="8", actual="12", name="Build"):
    with at(start):
        task, _ = services.task_create(
            actor=w["lead"], project=w["project"], title=f"Done {start:%x}", assignee=w["dev"],
            stages=[{"name": name, "estimated_hours": est}],
        )  # fmt: skip
        services.stage_start(actor=w["dev"], stage=task.stages.get())
    with at(end):
        services.stage_complete(actor=w["dev"], stage=task.stages.get(), actual_hours=actual)
    return task


def weeks_of_history(w, weeks: int = 5):
    """A task a week: started Monday 9:00, done Tuesday 15:00 (2 working days), 8 h estimated, 12 h actual."""
    for week in range(weeks):
        monday = FIRST_MONDAY + timedelta(weeks=week)
        finished(w, monday, monday + timedelta(days=1, hours=6))


def open_task(w, *stages, due=None):
    with at(NOW):
        task, _ = services.task_create(
            actor=w["lead"], project=w["project"], title="Open", assignee=w["dev"], due_date=due,
            stages=[{"name": n, "estimated_hours": e} for n, e in stages],
        )  # fmt: skip
    return task


def test_a_new_task_gets_its_forecast_in_its_own_write(world):
    weeks_of_history(world)
    task = open_task(world, ("Build", "11"), due=date(2026, 11, 10))
    f = Forecast.objects.get(task=task)
    # 11 h x 1.5 = 16.5 h at 6 h a day = 2.75 working days, to the nearest day 3: the 3rd counting Monday 9
    # November as the first: Wednesday.
    assert (f.as_of, f.p50, f.p85) == (date(2026, 11, 9), date(2026, 11, 11), date(2026, 11, 11))
    assert f.at_risk is True
    assert f.basis == "stages"
    assert f.remaining_hours == 11
    assert figures_verify() == []  # the kept history (ratio and pace sums) agrees with a recompute


def test_too_little_history_says_so(world):
    weeks_of_history(world, weeks=2)
    f = Forecast.objects.get(task=open_task(world, ("Build", "10")))
    assert f.p50 is None
    assert f.p85 is None
    assert f.basis == "none"
    assert (
        f.reason == "Too little history: the team has 2 finished tasks with stage hours, and a date needs at least 5."
    )


def test_bad_inputs_are_reasons_or_no_row_never_an_error(world):
    weeks_of_history(world)
    # A stage whose actual is far beyond its estimate counts, clamped at 20x: the next forecast still has dates.
    finished(world, FIRST_MONDAY + timedelta(weeks=5), FIRST_MONDAY + timedelta(weeks=5, days=1), est="1", actual="900")
    assert StageDay.objects.filter(ratio_sum=2_995_732).exists()
    assert Forecast.objects.get(task=open_task(world, ("Build", "10"))).p85 is not None
    with at(NOW):
        bare, _ = services.task_create(actor=world["lead"], project=world["project"], title="No stages")
    assert "no stages" in Forecast.objects.get(task=bare).reason
    with at(NOW):
        done, _ = services.task_create(
            actor=world["lead"], project=world["project"], title="x", stages=[{"name": "Build", "estimated_hours": 2}]
        )
        assert Forecast.objects.filter(task=done).exists()
        services.task_complete_with_stages(actor=world["lead"], task=done, actual_hours={done.stages.get().pk: "2"})
        assert not Forecast.objects.filter(task=done).exists()  # completed: no forecast
        services.task_delete(actor=world["lead"], task=bare)
        assert not Forecast.objects.filter(task=bare).exists()  # trashed: none either


def test_a_completed_stage_asks_for_one_team_refresh_and_a_rollback_for_none(world):
    weeks_of_history(world)
    task = open_task(world, ("Build", "3"), ("Review", "2"))
    wanted = ForecastTeamState.objects.get(team_id=world["team"].pk).wanted
    with mock.patch("analytics.tasks.forecasts_refresh_team.apply_async") as delay, at(NOW):
        with contextlib.suppress(RuntimeError), transaction.atomic():
            services.task_complete_with_stages(
                actor=world["dev"], task=task, actual_hours={s.pk: "1" for s in task.stages.all()}
            )
            raise RuntimeError("the request fails: nothing commits")
        assert delay.call_count == 0
        assert ForecastTeamState.objects.get(team_id=world["team"].pk).wanted == wanted
        services.task_complete_with_stages(
            actor=world["dev"], task=task, actual_hours={s.pk: "1" for s in task.stages.all()}
        )  # two stages and the task completed: one transaction, one refresh asked
    assert delay.call_count == 1
    assert delay.call_args.kwargs["args"] == [world["team"].pk]
    assert ForecastTeamState.objects.get(team_id=world["team"].pk).wanted == wanted + 1


def test_the_team_refresh_covers_every_bump_once_and_reports_only_what_changed(world):
    weeks_of_history(world)
    tasks = [open_task(world, ("Build", "11")), open_task(world, ("Build", "21"))]
    with at(NOW):
        assert team_refresh(world["team"].pk).passes == 1  # the bumps of the writes above
        assert team_refresh(world["team"].pk).passes == 0  # nothing new asked: nothing done
        Forecast.objects.filter(task=tasks[0]).update(p50=None, p85=None, reason="stale")  # behind the observers' back
        with mock.patch("analytics.forecasts.refresh.record") as record:
            run = team_refresh(world["team"].pk, force=True)
        assert (run.passes, run.open_tasks, run.changed) == (1, 2, 1)
        record.assert_any_call(tasks={tasks[0].pk: (world["team"].pk,)})
        assert Forecast.objects.get(task=tasks[0]).p85 == date(2026, 11, 11)
    project = ProjectForecast.objects.get(project_id=world["project"].pk)
    # Its last task: 20 h x 1.5 = 30 h / 6 = 5 days... (kept values are rounded: 5 +- 1e-7) the 5th or 6th day.
    assert project.p85 in (date(2026, 11, 13), date(2026, 11, 16))
    assert project.forecast == 2


def test_the_daily_job_runs_once_per_team_and_day(world):
    weeks_of_history(world, weeks=10)
    open_task(world, ("Build", "11"))
    first = forecasts_daily(now=NOW)
    second = forecasts_daily(now=NOW + timedelta(hours=3))  # a second scheduler, the same day
    assert world["team"].pk in first.claimed
    assert second.claimed == []
    assert ForecastDailyRun.objects.filter(team_id=world["team"].pk).count() == 1
    assert ForecastCalibration.objects.get(team_id=world["team"].pk).replayed == 5
    assert world["team"].pk in forecasts_daily(now=NOW + timedelta(days=1)).claimed  # the next day: again
    f = Forecast.objects.get(task__title="Open")  # a day later, the same work ends a day later
    assert (f.as_of, f.p85) == (date(2026, 11, 10), date(2026, 11, 12))


def test_a_refresh_request_lost_with_the_broker_is_done_by_the_next_scheduled_run(world):
    weeks_of_history(world, weeks=10)
    task = open_task(world, ("Build", "11"))
    forecasts_daily(now=NOW)  # today's run for the team is done
    team = world["team"].pk
    Forecast.objects.filter(task=task).delete()  # as if a change's refresh never ran ...
    ForecastTeamState.objects.filter(team_id=team).update(wanted=F("done") + 1)  # ... its request lost
    run = forecasts_daily(now=NOW + timedelta(minutes=15))
    assert run.claimed == []  # not the day's run again
    assert Forecast.objects.filter(task=task).exists()
    state = ForecastTeamState.objects.get(team_id=team)
    assert state.done == state.wanted
    assert forecasts_daily(now=NOW + timedelta(minutes=30)).changed == 0  # caught up: nothing more


def test_the_backtest_replays_completed_tasks_as_at_their_start(world):
    weeks_of_history(world, weeks=9)
    monday = FIRST_MONDAY + timedelta(weeks=9)
    finished(world, monday, monday + timedelta(days=3, hours=6))  # the tenth took until Thursday: 4 working days
    # Tasks 1-5 had fewer than 5 finished before them (thin); 6-9 finished on their 2nd working day, within the
    # forecast (2 working days: the 2nd); the tenth did not.
    assert backtest(world["team"].pk) == backtest(world["team"].pk, limit=100)
    result = backtest(world["team"].pk)
    assert (result.replayed, result.thin, result.within_p85, result.within_p50) == (5, 5, 4, 4)
    with at(NOW):
        row = backtest_team(world["team"].pk)
    assert (row.replayed, row.within_p85, row.thin, row.as_of) == (5, 4, 5, date(2026, 11, 9))


@pytest.mark.django_db(transaction=True)
def test_a_refresh_while_another_runs_leaves_the_bump_to_it(world):
    import psycopg
    from django.db import connection

    from analytics.forecasts.refresh import _advisory_key
    from analytics.tasks import forecasts_refresh_team

    weeks_of_history(world)
    open_task(world, ("Build", "11"))  # a forecast written: a refresh asked for (wanted > done)
    settings = connection.settings_dict
    with psycopg.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        password=settings["PASSWORD"],
        host=settings["HOST"],
        port=settings["PORT"],
        autocommit=True,
    ) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [_advisory_key(world["team"].pk)])  # another worker's refresh
        with at(NOW):
            assert team_refresh(world["team"].pk).skipped is True
        state = ForecastTeamState.objects.get(team_id=world["team"].pk)
        assert state.wanted > state.done  # still asked for: the running one goes round again after its commit
        other.execute("SELECT pg_advisory_unlock(%s)", [_advisory_key(world["team"].pk)])
    with at(NOW):
        assert forecasts_refresh_team(world["team"].pk) == 0  # the Celery task: one pass, nothing differed
    state.refresh_from_db()
    assert state.wanted == state.done


def test_the_live_history_is_the_backtests_at_that_day(world):
    from analytics.forecasts.history import TeamHistory, history_at

    weeks_of_history(world, weeks=8)
    for end in (date(2026, 10, 13), date(2026, 11, 1), date(2026, 12, 1)):
        assert history_at(world["team"].pk, end) == TeamHistory.load(world["team"].pk).at(end)
