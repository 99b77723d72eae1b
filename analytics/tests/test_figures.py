"""The dashboard's figures against values computed by hand, with the changes made through the services (so the
observer keeps them), and after each scenario analytics_verify finds no difference."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, date, datetime
from unittest import mock

import pytest
from django.utils import timezone

from accounts.tests.factories import MembershipFactory, TeamFactory, UserFactory
from analytics.recompute import figures_rebuild, figures_verify
from analytics.selectors import dashboard_figures, dashboard_scope
from tasks import services
from tasks.models import Priority
from tasks.services.archiving import completed_tasks_archive
from tasks.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


@contextmanager
def at(when: datetime):
    """The services' clock (and auto_now_add) at `when`."""
    with mock.patch.object(timezone, "now", return_value=when):
        yield


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def world():
    team = TeamFactory(name="Acme", time_zone="UTC")
    lead = UserFactory(email="lead@acme.test", full_name="Lena Lead")
    dev = UserFactory(email="dev@acme.test", full_name="Dan Dev")
    MembershipFactory(team=team, user=lead, role="admin")
    MembershipFactory(team=team, user=dev, role="member")
    return {"team": team, "lead": lead, "dev": dev, "project": ProjectFactory(team=team, name="Apollo")}


def figures(user, **kwargs):
    return dashboard_figures(dashboard_scope(user, **kwargs))


def assert_verified():
    assert figures_verify() == []


def test_no_data_gives_none_never_a_division_error(world):
    f = figures(world["lead"], project_id=world["project"].pk)
    assert f["counts"] == {
        "created": 0,
        "by_status": {"pending": 0, "in_progress": 0, "completed": 0},
        "by_priority": {"low": 0, "medium": 0, "high": 0, "urgent": 0},
    }
    assert f["overdue"] == {"open": 0, "overdue": 0, "share": None}
    c = f["completion"]
    assert (c["count"], c["mean_hours"], c["median_hours"], c["mean_cycle_hours"]) == (0, None, None, None)
    assert (c["mean_delay_days"], c["on_time_rate"], c["median_relative_error"], c["by_priority"]) == (
        None,
        None,
        None,
        [],
    )
    assert f["stages"] == {
        "by_name": [],
        "ranking": [],
        "most_overestimated": [],
        "most_underestimated": [],
        "bottlenecks": [],
    }
    assert f["workload"] == []
    assert f["daily_completions"] == []
    assert f["completion_trend"] == []
    assert f["heatmap"]["counts"] == [[0] * 24 for _ in range(7)]
    assert [w["created"] + w["completed"] for w in f["throughput"]] == [0] * 12
    assert_verified()


def test_one_task_without_due_date_assignee_or_start(world):
    """Completed by hand straight from pending: lead time 30 h, no cycle time, no delay."""
    with at(utc(2026, 3, 2, 9, 0)):  # a Monday
        task, _ = services.task_create(actor=world["lead"], project=world["project"], title="Solo")
    with at(utc(2026, 3, 3, 15, 0)):
        services.task_complete(actor=world["lead"], task=task)
    with at(utc(2026, 3, 4, 12, 0)):
        f = figures(world["dev"], project_id=world["project"].pk)
    assert f["counts"]["by_status"] == {"pending": 0, "in_progress": 0, "completed": 1}
    assert f["counts"]["by_priority"]["medium"] == 1
    c = f["completion"]
    assert (c["count"], c["mean_hours"], c["cycle_count"], c["mean_cycle_hours"]) == (1, 30.0, 0, None)
    assert (c["with_due_date"], c["mean_delay_days"], c["on_time_rate"]) == (0, None, None)
    # 30 h lies in the bucket [2^(19/4), 2^(20/4)) = [26.9, 32) h, reported at its geometric middle 2^4.875
    assert c["median_hours"] == 29.34
    assert f["heatmap"]["counts"][1][15] == 1  # Tuesday, 15:00
    assert sum(map(sum, f["heatmap"]["counts"])) == 1
    # all time: from the first completion to today, the day without one included
    assert f["daily_completions"] == [{"day": "2026-03-03", "count": 1}, {"day": "2026-03-04", "count": 0}]
    assert f["completion_trend"] == [{"week": "2026-W10", "count": 1, "days": 2, "mean_hours": 30.0}]
    assert f["workload"] == [{"assignee": None, "name": "Unassigned", "open": 0, "overdue": 0, "completed": 1}]
    assert_verified()


def test_mean_delay_on_time_and_overdue_share(world):
    p, lead, dev = world["project"], world["lead"], world["dev"]
    with at(utc(2026, 5, 1, 10)):
        early, _ = services.task_create(actor=lead, project=p, title="Early", due_date=date(2026, 5, 10), assignee=dev)
        late, _ = services.task_create(
            actor=lead, project=p, title="Late", due_date=date(2026, 5, 2), priority=Priority.HIGH
        )
        services.task_create(actor=lead, project=p, title="Open overdue", due_date=date(2026, 5, 3), assignee=dev)
        services.task_create(actor=lead, project=p, title="Open later", due_date=date(2026, 6, 1))
        services.task_create(actor=lead, project=p, title="Open undated")
    with at(utc(2026, 5, 4, 10)):
        services.task_set_status(actor=lead, task=early, status="in_progress")
        services.task_set_status(actor=lead, task=late, status="in_progress")
    with at(utc(2026, 5, 6, 10)):  # early: 4 days before its due date; late: 4 days after
        services.task_complete(actor=lead, task=early)
        services.task_complete(actor=lead, task=late)
    with at(utc(2026, 5, 7, 10)):
        f = figures(lead, project_id=p.pk)
        mine = figures(dev)
    c = f["completion"]
    assert (c["count"], c["mean_hours"], c["cycle_count"], c["mean_cycle_hours"]) == (2, 120.0, 2, 48.0)
    assert (c["with_due_date"], c["mean_delay_days"], c["on_time_rate"]) == (2, 0.0, 0.5)
    assert [(b["priority"], b["mean_delay_days"], b["on_time_rate"]) for b in c["by_priority"]] == [
        ("medium", -4.0, 1.0),
        ("high", 4.0, 0.0),
    ]
    assert f["overdue"] == {"open": 3, "overdue": 1, "share": 0.3333333333333333}
    assert f["workload"] == [
        {"assignee": dev.pk, "name": "Dan Dev", "open": 1, "overdue": 1, "completed": 1},
        {"assignee": None, "name": "Unassigned", "open": 2, "overdue": 0, "completed": 1},
    ]
    # "my work": only Dan's tasks
    assert mine["scope"]["kind"] == "mine"
    assert mine["counts"]["created"] == 2
    assert mine["overdue"] == {"open": 1, "overdue": 1, "share": 1.0}
    assert f["throughput"][-1] == {"week": "2026-W19", "created": 0, "completed": 2}
    assert f["throughput"][-2] == {"week": "2026-W18", "created": 5, "completed": 0}
    assert_verified()


def test_trashed_tasks_are_left_out_and_archived_ones_kept(world):
    p, lead = world["project"], world["lead"]
    with at(utc(2026, 1, 5, 9)):
        kept, _ = services.task_create(actor=lead, project=p, title="Kept")
        trashed, _ = services.task_create(actor=lead, project=p, title="Trashed", due_date=date(2026, 1, 1))
    with at(utc(2026, 1, 5, 19)):
        services.task_complete(actor=lead, task=kept)
        services.task_delete(actor=lead, task=trashed)
    completed_tasks_archive(now=utc(2026, 3, 1), days=30)
    kept.refresh_from_db()
    assert kept.archived_at is not None
    with at(utc(2026, 3, 2, 9)):
        f = figures(lead, project_id=p.pk)
    assert f["counts"]["created"] == 1
    assert f["completion"]["count"] == 1
    assert f["completion"]["mean_hours"] == 10.0
    assert f["overdue"] == {"open": 0, "overdue": 0, "share": None}
    assert_verified()
    with at(utc(2026, 3, 2, 10)):
        services.task_restore(actor=lead, task=trashed)
        f = figures(lead, project_id=p.pk)
    assert f["counts"]["created"] == 2
    assert f["overdue"] == {"open": 1, "overdue": 1, "share": 1.0}
    assert_verified()


def test_time_zone_days_hours_and_overdue_turn_at_local_midnight():
    team = TeamFactory(time_zone="America/New_York")  # UTC-5 in January
    lead = UserFactory()
    MembershipFactory(team=team, user=lead, role="admin")
    p = ProjectFactory(team=team)
    with at(utc(2026, 1, 6, 3, 30)):  # 22:30 on Monday 5 January in New York
        task, _ = services.task_create(actor=lead, project=p, title="Late night", due_date=date(2026, 1, 6))
        _waiting, _ = services.task_create(actor=lead, project=p, title="Due on the 5th", due_date=date(2026, 1, 5))
    with at(utc(2026, 1, 7, 4, 30)):  # 23:30 on Tuesday 6 January in New York: on its due date, so on time
        services.task_complete(actor=lead, task=task)
    with at(utc(2026, 1, 6, 4, 59)):  # 23:59 on the 5th in New York: the 5th is today, nothing overdue yet
        assert figures(lead, project_id=p.pk)["overdue"] == {"open": 1, "overdue": 0, "share": 0.0}
    with at(utc(2026, 1, 6, 5, 0)):  # local midnight: the task due on the 5th is overdue, with no write
        assert figures(lead, project_id=p.pk)["overdue"] == {"open": 1, "overdue": 1, "share": 1.0}
    with at(utc(2026, 1, 8, 12)):
        on_5th = figures(lead, project_id=p.pk, since=date(2026, 1, 5), until=date(2026, 1, 5))
        on_6th = figures(lead, project_id=p.pk, since=date(2026, 1, 6), until=date(2026, 1, 6))
    assert on_5th["counts"]["created"] == 2
    assert on_6th["counts"]["created"] == 0
    assert on_5th["completion"]["count"] == 0
    assert on_6th["completion"]["count"] == 1
    assert on_6th["completion"]["mean_delay_days"] == 0.0
    assert on_6th["completion"]["on_time_rate"] == 1.0
    assert on_6th["heatmap"]["counts"][1][23] == 1  # Tuesday 23:00 local (Wednesday 04:00 UTC)
    assert on_6th["daily_completions"] == [{"day": "2026-01-06", "count": 1}]
    assert_verified()
    figures_rebuild()  # the set-based rebuild puts them in the same local days
    assert_verified()


def test_weeks_of_different_years_are_never_merged(world):
    p, lead = world["project"], world["lead"]
    for when in (utc(2025, 12, 31, 12), utc(2027, 1, 1, 12)):  # ISO weeks 2026-W01 and 2026-W53
        with at(when):
            task, _ = services.task_create(actor=lead, project=p, title="Year end")
            services.task_complete(actor=lead, task=task)
    with at(utc(2027, 1, 2, 12)):
        f = figures(lead, project_id=p.pk)
    trend = f["completion_trend"]
    # every week between them is there, with its zero: a linear axis of 53 weeks
    assert [w["week"] for w in trend] == [f"2026-W{n:02d}" for n in range(1, 54)]
    assert [w["count"] for w in trend] == [1] + [0] * 51 + [1]
    assert (trend[0]["days"], trend[-1]["days"]) == (5, 6)  # Wed 31 Dec to Sun 4 Jan; Mon 28 Dec to Sat 2 Jan
    assert all(w["days"] == 7 and w["mean_hours"] is None for w in trend[1:-1])


def _stages_task(actor, project, specs, when):
    with at(when):
        task, _ = services.task_create(
            actor=actor,
            project=project,
            title="Staged",
            stages=[{"name": n, "estimated_hours": e} for n, e in specs],
        )
    return task


def test_a_reopened_task_leaves_the_completions_until_completed_again(world):
    p, lead = world["project"], world["lead"]
    task = _stages_task(lead, p, [("Build", "2"), ("Ship", "3")], utc(2026, 4, 1, 8))
    build, ship = task.stages.order_by("order")
    with at(utc(2026, 4, 1, 10)):
        services.stage_complete(actor=lead, stage=build, actual_hours="4")
    with at(utc(2026, 4, 1, 12)):
        services.stage_complete(actor=lead, stage=ship, actual_hours="3")
    assert figures(lead, project_id=p.pk)["completion"]["count"] == 1
    task.refresh_from_db()
    with at(utc(2026, 4, 2, 8)):
        services.task_reopen(actor=lead, task=task)
    f = figures(lead, project_id=p.pk)
    assert f["completion"]["count"] == 0
    assert f["counts"]["by_status"]["in_progress"] == 1
    assert [(s["name"], s["count"], s["mean_error_hours"]) for s in f["stages"]["by_name"]] == [("Build", 1, 2.0)]
    assert_verified()
    ship.refresh_from_db()
    with at(utc(2026, 4, 2, 20)):
        services.stage_complete(actor=lead, stage=ship, actual_hours="6")
    f = figures(lead, project_id=p.pk)
    assert f["completion"]["count"] == 1
    assert f["completion"]["mean_hours"] == 36.0
    assert [(s["name"], s["mean_error_hours"], s["accuracy"]) for s in f["stages"]["by_name"]] == [
        ("Build", 2.0, 2.0),
        ("Ship", 3.0, 2.0),
    ]
    assert f["stages"]["bottlenecks"] == [
        {"name": "Ship", "mean_overrun_hours": 3.0},
        {"name": "Build", "mean_overrun_hours": 2.0},
    ]
    assert_verified()


def test_stage_error_mean_variance_stddev_and_accuracy(world):
    p, lead = world["project"], world["lead"]
    one = _stages_task(lead, p, [("Build", "2"), ("Review", "4")], utc(2026, 4, 1, 8))
    two = _stages_task(lead, p, [("Build", "2")], utc(2026, 4, 1, 8))
    with at(utc(2026, 4, 1, 9)):
        services.stage_complete(actor=lead, stage=one.stages.get(name="Build"), actual_hours="4")  # error +2
        services.stage_complete(actor=lead, stage=two.stages.get(name="Build"), actual_hours="1")  # error -1
        services.stage_complete(actor=lead, stage=one.stages.get(name="Review"), actual_hours="3")  # error -1
    s = figures(lead, project_id=p.pk)["stages"]
    build, review = s["by_name"]
    # Build: errors +2 and -1: mean 0.5, variance ((1.5)^2 + (1.5)^2) / 2 = 2.25, std dev 1.5; 5 h / 4 h
    assert build == {
        "name": "Build",
        "count": 2,
        "estimated_hours": 4.0,
        "actual_hours": 5.0,
        "mean_error_hours": 0.5,
        "error_variance": 2.25,
        "error_stddev": 1.5,
        "accuracy": 1.25,
    }
    assert (review["mean_error_hours"], review["error_variance"], review["accuracy"]) == (-1.0, 0.0, 0.75)
    assert s["most_overestimated"] == ["Review"]
    assert s["most_underestimated"] == ["Build"]
    assert s["bottlenecks"] == [{"name": "Build", "mean_overrun_hours": 0.5}]
    assert_verified()


def test_the_chart_the_sentence_and_the_table_rank_stages_the_same_way(world):
    """By accuracy (a ratio) Deploy would come first and by mean overrun (hours) Build: the dashboard has one
    ranking, by mean overrun, and the bottlenecks and both "most ... estimated" lists are read from it."""
    p, lead = world["project"], world["lead"]
    specs = [("Build", "10", "13"), ("Deploy", "1", "2"), ("QA", "4", "3.5"), ("Docs", "1", "0.25")]
    task = _stages_task(lead, p, [(n, e) for n, e, _ in specs], utc(2026, 4, 1, 8))
    with at(utc(2026, 4, 1, 9)):
        for name, _estimate, actual in specs:
            services.stage_complete(actor=lead, stage=task.stages.get(name=name), actual_hours=actual)
    s = figures(lead, project_id=p.pk)["stages"]
    assert [x["name"] for x in s["by_name"]] == ["Build", "Deploy", "Docs", "QA"]  # the API's order, by name
    assert s["ranking"] == ["Build", "Deploy", "QA", "Docs"]
    assert s["most_underestimated"] == ["Build", "Deploy"]
    assert s["most_overestimated"] == ["Docs", "QA"]
    assert s["bottlenecks"] == [
        {"name": "Build", "mean_overrun_hours": 3.0},
        {"name": "Deploy", "mean_overrun_hours": 1.0},
    ]
    assert [n for n in s["ranking"] if n in s["most_underestimated"]] == s["most_underestimated"]
    assert [b["name"] for b in s["bottlenecks"]] == s["ranking"][: len(s["bottlenecks"])]
    assert_verified()


def test_every_day_and_week_of_the_range_is_there_with_its_zeros(world):
    p, lead = world["project"], world["lead"]
    for when in (utc(2026, 3, 3, 10), utc(2026, 3, 5, 10), utc(2026, 3, 5, 11)):  # Tue, Thu, Thu
        with at(when):
            task, _ = services.task_create(actor=lead, project=p, title="Done")
            services.task_complete(actor=lead, task=task)
    with at(utc(2026, 3, 12, 12)):  # a Thursday; the range: Friday 27 Feb to today
        f = figures(lead, project_id=p.pk, since=date(2026, 2, 27))
    days = f["daily_completions"]
    assert [d["day"] for d in days] == [f"2026-02-{d}" for d in (27, 28)] + [f"2026-03-{d:02d}" for d in range(1, 13)]
    assert [d["count"] for d in days] == [0, 0, 0, 0, 1, 0, 2] + [0] * 7
    assert f["completion_trend"] == [
        {"week": "2026-W09", "count": 0, "days": 3, "mean_hours": None},  # Fri 27 Feb to Sun 1 Mar
        {"week": "2026-W10", "count": 3, "days": 7, "mean_hours": 0.0},
        {"week": "2026-W11", "count": 0, "days": 4, "mean_hours": None},  # Mon 9 to Thu 12 Mar (today)
    ]


def test_a_range_from_long_ago_starts_at_the_first_completion_and_nothing_done_is_no_series(world):
    p, lead = world["project"], world["lead"]
    with at(utc(2026, 3, 12, 12)):
        assert figures(lead, project_id=p.pk, since=date(1990, 1, 1))["daily_completions"] == []
        assert figures(lead, project_id=p.pk, preset="30")["completion_trend"] == []
    with at(utc(2026, 3, 10, 10)):
        task, _ = services.task_create(actor=lead, project=p, title="Done")
        services.task_complete(actor=lead, task=task)
    with at(utc(2026, 3, 12, 12)):
        f = figures(lead, project_id=p.pk, since=date(1990, 1, 1), until=date(9999, 12, 31))
        month = figures(lead, project_id=p.pk, preset="30")
    assert [d["day"] for d in f["daily_completions"]] == ["2026-03-10", "2026-03-11", "2026-03-12"]
    assert len(month["daily_completions"]) == 30  # a range up to a year: every day of it
    assert month["daily_completions"][0] == {"day": "2026-02-11", "count": 0}


def test_an_estimate_changed_after_the_stage_completed(world):
    p, lead = world["project"], world["lead"]
    task = _stages_task(lead, p, [("Build", "2"), ("Ship", "1")], utc(2026, 4, 1, 8))
    build = task.stages.get(name="Build")
    with at(utc(2026, 4, 1, 9)):
        services.stage_complete(actor=lead, stage=build, actual_hours="3")
    assert figures(lead, project_id=p.pk)["stages"]["by_name"][0]["mean_error_hours"] == 1.0
    build.refresh_from_db()
    services.stage_update(actor=lead, stage=build, data={"estimated_hours": "4"})
    (row,) = figures(lead, project_id=p.pk)["stages"]["by_name"]
    assert (row["estimated_hours"], row["mean_error_hours"], row["accuracy"]) == (4.0, -1.0, 0.75)
    services.stage_update(actor=lead, stage=build, data={"actual_hours": "5", "name": "Construct"})
    (row,) = figures(lead, project_id=p.pk)["stages"]["by_name"]
    assert (row["name"], row["mean_error_hours"]) == ("Construct", 1.0)
    services.stage_delete(actor=lead, stage=build)
    assert figures(lead, project_id=p.pk)["stages"]["by_name"] == []
    assert_verified()


def test_assignee_filter_and_range_presets(world):
    p, lead, dev = world["project"], world["lead"], world["dev"]
    with at(utc(2026, 2, 10, 9)):
        services.task_create(actor=lead, project=p, title="Dev's", assignee=dev)
        services.task_create(actor=lead, project=p, title="Nobody's")
    with at(utc(2026, 2, 20, 9)):
        services.task_create(actor=lead, project=p, title="Recent", assignee=dev)
        assert figures(lead, project_id=p.pk, assignee_id=dev.pk, preset="all")["counts"]["created"] == 2
        assert figures(lead, project_id=p.pk, preset="7")["counts"]["created"] == 1
        assert figures(lead, project_id=p.pk, preset="30")["counts"]["created"] == 3
        scope = dashboard_scope(lead, project_id=p.pk, preset="quarter")
        assert (scope.since, scope.until) == (date(2026, 1, 1), date(2026, 2, 20))
        assert figures(lead, team_id=world["team"].pk, preset="90")["counts"]["created"] == 3
    # the assignee changes: their figures move with the task
    task = p.tasks.get(title="Nobody's")
    services.task_update(actor=lead, task=task, data={"assignee": dev, "priority": Priority.URGENT})
    f = figures(lead, project_id=p.pk, assignee_id=dev.pk)
    assert f["counts"]["created"] == 3
    assert f["counts"]["by_priority"]["urgent"] == 1
    assert_verified()


def test_rebuild_and_verify_agree_after_changes(world):
    p, lead = world["project"], world["lead"]
    for i in range(5):
        with at(utc(2026, 1, 1 + i, 9)):
            task = _stages_task(lead, p, [("A", "1"), ("B", "2")], utc(2026, 1, 1 + i, 9))
            services.task_update(actor=lead, task=task, data={"due_date": date(2026, 1, 3)})
            for stage in task.stages.order_by("order")[: i % 3]:
                services.stage_complete(actor=lead, stage=stage, actual_hours=str(i + 1))
    before = figures(lead, project_id=p.pk, since=None)
    figures_rebuild()
    assert_verified()
    assert figures(lead, project_id=p.pk) == before


def test_a_write_costs_the_same_queries_however_many_tasks_and_figures(world):
    """The observer reads the changed task before and after and writes at most one upsert per table."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    p, lead = world["project"], world["lead"]

    def complete_one() -> int:
        task = _stages_task(lead, p, [("Build", "2")], utc(2026, 4, 1, 8))
        stage = task.stages.get()
        with CaptureQueriesContext(connection) as ctx:
            services.stage_complete(actor=lead, stage=stage, actual_hours="3")
        return len(ctx.captured_queries)

    first = complete_one()
    for day in range(1, 29):
        with at(utc(2026, 2, day, 9)):
            for _ in range(5):
                task, _ = services.task_create(actor=lead, project=p, title="Filler", due_date=date(2026, 3, day))
                services.task_complete(actor=lead, task=task)
    assert complete_one() == first
    assert_verified()
