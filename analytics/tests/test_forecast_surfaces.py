"""Where people see the forecasts (#22): the task page, the list and board (the at-risk mark and filter), the
project's head, the dashboard (at-risk tasks first, the calibration), the API (`forecast` on a task, `at_risk`)
and the CSV, each with and without a forecast row, another team's task refused as before, bad filter values.

The rows are written here as the engine would leave them (`put_forecast`, after the task writes: the engine may
write rows of its own when tasks change, so a row is updated or created, never created blindly)."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from analytics.models import Forecast, ForecastBasis, ForecastCalibration, ProjectForecast
from analytics.recompute import figures_rebuild
from tasks.deadlines import deadlines_at
from tasks.models import Status, Task
from tasks.tests.api_helpers import api_client, error_fields
from tasks.tests.factories import ProjectFactory, StageFactory, TaskFactory

pytestmark = pytest.mark.django_db

THIN = "Too little history to forecast honestly: fewer than 5 finished tasks with stages."


def put_forecast(task: Task, p50: date | None = None, p85: date | None = None, *, reason: str = "", **extra):
    """The task's forecast as the engine would keep it; at risk when its 85 % date is after the due date."""
    at_risk = p85 is not None and task.due_date is not None and p85 > task.due_date
    defaults = {
        "team_id": task.project.team_id,
        "project_id": task.project_id,
        "as_of": deadlines_at().today(task.project.team.time_zone),
        "p50": p50,
        "p85": p85,
        "at_risk": at_risk,
        "basis": ForecastBasis.STAGES if p50 else ForecastBasis.NONE,
        "reason": reason,
        "remaining_hours": Decimal("6.50"),
        "computed_at": timezone.now(),
        **extra,
    }
    return Forecast.objects.update_or_create(task=task, defaults=defaults)[0]


@pytest.fixture
def world(team_roles):
    team, other, people = team_roles
    member = people["member"]
    today = deadlines_at().today(team.time_zone)
    project = ProjectFactory(team=team, name="Apollo")
    late = TaskFactory(project=project, title="Late launch", assignee=member, due_date=today + timedelta(days=3))
    fine = TaskFactory(project=project, title="Fine docs", assignee=member, due_date=today + timedelta(days=30))
    thin = TaskFactory(project=project, title="Thin history", due_date=today + timedelta(days=10))
    bare = TaskFactory(project=project, title="Not reached yet")
    put_forecast(late, today + timedelta(days=4), today + timedelta(days=6))
    put_forecast(fine, today + timedelta(days=5), today + timedelta(days=7))
    put_forecast(thin, reason=THIN)
    figures_rebuild()  # the dashboard's kept figures of these bare rows (the services would have kept them)
    return {
        "team": team,
        "other": other,
        "people": people,
        "member": member,
        "project": project,
        "today": today,
        "late": late,
        "fine": fine,
        "thin": thin,
        "bare": bare,
    }


def html_of(client, user, url: str, **params) -> str:
    client.force_login(user)
    response = client.get(url, params)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


def words(first: date, last: date, today: date) -> str:
    """What the page should say, written out independently of tasks/forecast_text.py for the dates used here."""

    def day(d):
        return f"{d.day} {d:%b}" + ("" if d.year == today.year else f" {d.year}")

    if (first.year, first.month) == (last.year, last.month):
        span = f"{first.day}\u2013{day(last)}"
    else:
        span = f"{day(first)} \u2013 {day(last)}"
    return f"likely {span}, 85 % by {day(last)}"


# --- the task page --------------------------------------------------------------------------------------


def test_the_task_page_says_the_range_in_words_and_why_it_is_at_risk(client, world):
    today, late = world["today"], world["late"]
    html = html_of(client, world["member"], reverse("tasks:task_detail", args=[late.pk]))
    expected = words(today + timedelta(days=4), today + timedelta(days=6), today)
    assert f'<p id="forecast-words" class="forecast-words">{expected[0].upper()}{expected[1:]}</p>' in html
    assert "At risk" in html
    assert "3 days after the due date" in html  # 85 % date three days after it
    assert "this team&#x27;s record for these stages" in html  # the basis, in words


def test_a_task_without_a_forecast_or_without_a_date_says_so(client, world):
    member = world["member"]
    bare = html_of(client, member, reverse("tasks:task_detail", args=[world["bare"].pk]))
    assert '<p id="forecast-words">No forecast yet</p>' in bare
    thin = html_of(client, member, reverse("tasks:task_detail", args=[world["thin"].pk]))
    assert f'<p id="forecast-words">{THIN}</p>' in thin
    assert "At risk" not in thin.split('id="forecast"')[1].split("</section>")[0]


def test_another_teams_task_is_still_not_found(client, world):
    client.force_login(world["people"]["outsider"])
    assert client.get(reverse("tasks:task_detail", args=[world["late"].pk])).status_code == 404
    assert client.get(reverse("tasks:task_list", args=[world["project"].pk]), {"at_risk": "true"}).status_code == 404
    api = api_client(world["people"]["outsider"])
    assert api.get(f"/api/v1/tasks/{world['late'].pk}/").status_code == 404
    assert api.get("/api/v1/tasks/?at_risk=true").json()["results"] == []


# --- the list, the board, the project's head ------------------------------------------------------------


def test_the_list_marks_the_at_risk_task_and_its_filter_narrows_to_it(client, world):
    member, project = world["member"], world["project"]
    url = reverse("tasks:task_list", args=[project.pk])
    html = html_of(client, member, url)
    assert html.count('class="badge at-risk"') == 1
    assert '<span class="sr-only">: 85 % date' in html  # the mark's reason, for screen readers too
    assert all(title in html for title in ("Late launch", "Fine docs", "Thin history", "Not reached yet"))
    assert "No forecast yet" in html
    assert THIN in html

    only = html_of(client, member, url, at_risk="true")
    assert "Late launch" in only
    assert not any(title in only for title in ("Fine docs", "Thin history", "Not reached yet"))
    assert '<option value="true" selected>At risk only</option>' in only  # kept in the URL and the form

    others = html_of(client, member, url, at_risk="false")
    assert "Late launch" not in others
    assert "Not reached yet" in others


def test_a_bad_at_risk_value_is_said_beside_the_filter(client, world):
    html = html_of(client, world["member"], reverse("tasks:task_list", args=[world["project"].pk]), at_risk="maybe")
    assert "Give true or false." in html
    client.force_login(world["member"])
    response = client.get(reverse("tasks:task_list_csv", args=[world["project"].pk]), {"at_risk": "maybe"})
    assert response.status_code == 400
    assert "At risk" in response.content.decode()


def test_the_board_marks_and_filters_the_at_risk_cards(client, world):
    member, project = world["member"], world["project"]
    url = reverse("tasks:board", args=[project.pk])
    html = html_of(client, member, url)
    assert html.count('class="badge at-risk"') == 1
    today = world["today"]
    assert f'title="Forecast: {words(today + timedelta(days=5), today + timedelta(days=7), today)}"' in html
    only = html_of(client, member, url, at_risk="true")
    assert "Late launch" in only
    assert "Fine docs" not in only
    assert "Not reached yet" not in only
    assert f'href="/projects/{project.pk}/?at_risk=true" id="board-at-risk" aria-current="true"' in only
    bad = html_of(client, member, url, at_risk="maybe")
    assert 'role="alert">At risk: Give true or false. Every task is shown.' in bad
    assert "Fine docs" in bad


def test_the_projects_forecast_says_when_its_last_task_finishes_and_how_many_are_at_risk(client, world):
    today, project = world["today"], world["project"]
    ProjectForecast.objects.update_or_create(
        project_id=project.pk,
        defaults={
            "team_id": project.team_id,
            "as_of": today,
            "p50": today + timedelta(days=6),
            "p85": today + timedelta(days=9),
            "at_risk": True,
            "forecast": 2,
            "unforecast": 1,
            "computed_at": timezone.now(),
        },
    )
    for view in ("tasks:board", "tasks:task_list"):  # the head of both
        html = html_of(client, world["member"], reverse(view, args=[project.pk]))
        assert html.count('id="project-forecast"') == 1
    head = html.split('id="project-forecast"')[1].split("</p>")[0]
    latest = words(today + timedelta(days=6), today + timedelta(days=9), today).removeprefix("likely ")
    assert f"Its last open task likely finishes {latest}" in head
    assert "1 open task without a date yet" in head
    assert "1 at risk</a> of missing its due date" in head


def test_a_project_without_forecasts_says_so(client, world):
    empty = ProjectFactory(team=world["team"], name="Quiet")
    html = html_of(client, world["member"], reverse("tasks:board", args=[empty.pk]))
    assert "No forecast yet for its open tasks." in html


@pytest.mark.parametrize("view", ["board", "task_list"])
def test_the_list_and_board_read_forecasts_without_a_query_per_task(client, world, view):
    project, member = world["project"], world["member"]
    url = reverse(f"tasks:{view}", args=[project.pk])
    client.force_login(member)
    counts = []
    for total in (5, 25):
        for _ in range(total - Task.objects.filter(project=project).count()):
            task = TaskFactory(project=project, assignee=member, due_date=world["today"])
            StageFactory(task=task, order=1)
            put_forecast(task, world["today"] + timedelta(days=1), world["today"] + timedelta(days=2))
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts


# --- the API --------------------------------------------------------------------------------------------


def test_the_api_gives_a_tasks_forecast_or_null(world):
    api = api_client(world["member"])
    today = world["today"]
    late = api.get(f"/api/v1/tasks/{world['late'].pk}/").json()["forecast"]
    assert late == {
        "p50": (today + timedelta(days=4)).isoformat(),
        "p85": (today + timedelta(days=6)).isoformat(),
        "at_risk": True,
        "basis": "stages",
        "reason": "",
        "as_of": today.isoformat(),
        "text": words(today + timedelta(days=4), today + timedelta(days=6), today),
    }
    thin = api.get(f"/api/v1/tasks/{world['thin'].pk}/").json()["forecast"]
    assert (thin["p50"], thin["p85"], thin["at_risk"], thin["reason"], thin["text"]) == (None, None, False, THIN, THIN)
    assert api.get(f"/api/v1/tasks/{world['bare'].pk}/").json()["forecast"] is None
    listed = {row["title"]: row["forecast"] for row in api.get("/api/v1/tasks/").json()["results"]}
    assert listed["Late launch"] == late
    assert listed["Not reached yet"] is None


def test_the_api_lists_the_at_risk_tasks_through_the_task_filter(world):
    api = api_client(world["member"])
    risky = api.get("/api/v1/tasks/?at_risk=true&ordering=due_date").json()
    assert [row["title"] for row in risky["results"]] == ["Late launch"]
    rest = api.get("/api/v1/tasks/?at_risk=false&page_size=100").json()["results"]
    assert {row["title"] for row in rest} == {"Fine docs", "Thin history", "Not reached yet"}
    response = api.get("/api/v1/tasks/?at_risk=maybe")
    assert response.status_code == 400
    assert error_fields(response) == ["at_risk"]


def test_the_api_list_costs_the_same_queries_with_forecasts(world):
    api = api_client(world["member"])
    api.get("/api/v1/me/")  # the account projection, read once
    with CaptureQueriesContext(connection) as ctx:
        assert api.get("/api/v1/tasks/?at_risk=true").status_code == 200
    assert len(ctx.captured_queries) == 3  # the rows with their forecasts (a LEFT JOIN), labels, stages


# --- the CSV --------------------------------------------------------------------------------------------


def test_the_csv_has_the_forecast_columns_from_one_statement(client, world):
    today = world["today"]
    done = TaskFactory(project=world["project"], title="Done", status=Status.COMPLETED, completed_at=timezone.now())
    client.force_login(world["member"])
    response = client.get(reverse("tasks:task_list_csv", args=[world["project"].pk]), {"ordering": "created_at"})
    body = b"".join(response.streaming_content).decode("utf-8")[1:]
    header, *rows = list(csv.reader(io.StringIO(body)))
    assert header[-3:] == ["Likely by (50 %)", "85 % by", "At risk"]
    by_title = {row[1]: row[-3:] for row in rows}
    assert by_title == {
        "Late launch": [(today + timedelta(days=4)).isoformat(), (today + timedelta(days=6)).isoformat(), "Yes"],
        "Fine docs": [(today + timedelta(days=5)).isoformat(), (today + timedelta(days=7)).isoformat(), "No"],
        "Thin history": [THIN, "", "No"],
        "Not reached yet": ["No forecast yet", "", ""],
        done.title: ["", "", ""],
    }
    only = client.get(reverse("tasks:task_list_csv", args=[world["project"].pk]), {"at_risk": "true"})
    rows = list(csv.reader(io.StringIO(b"".join(only.streaming_content).decode("utf-8")[1:])))[1:]
    assert [row[1] for row in rows] == ["Late launch"]


# --- the dashboard --------------------------------------------------------------------------------------


def test_the_dashboard_puts_the_at_risk_tasks_first_with_the_calibration(client, world):
    team, today = world["team"], world["today"]
    ForecastCalibration.objects.create(
        team_id=team.pk, as_of=today, replayed=412, within_p50=210, within_p85=354, thin=3, computed_at=timezone.now()
    )
    html = html_of(client, world["people"]["owner"], "/dashboard/", team=str(team.pk), range="30")
    section = html.split('id="at-risk"')[1].split("</section>")[0]
    assert html.index('id="at-risk"') < html.index('aria-label="Key figures"')  # first
    assert f'href="/tasks/{world["late"].pk}/">Late launch</a>' in section
    assert world["member"].full_name in section
    assert "3 days" in section  # 85 % date three days after the due date
    assert "Fine docs" not in section
    assert "Of the last 412 finished tasks, 86 % finished by their 85 % date." in section


def test_the_dashboard_says_when_there_is_no_calibration_or_nothing_at_risk(client, world):
    Forecast.objects.filter(task=world["late"]).update(at_risk=False)
    html = html_of(client, world["people"]["owner"], "/dashboard/", team=str(world["team"].pk))
    section = html.split('id="at-risk"')[1].split("</section>")[0]
    assert "No open task is at risk of missing its due date." in section
    assert "have not been checked against finished tasks yet" in section


def test_a_project_dashboard_links_to_the_rest_of_its_at_risk_tasks(client, world):
    today = world["today"]
    for i in range(11):
        task = TaskFactory(project=world["project"], title=f"Risky {i}", due_date=today)
        put_forecast(task, today + timedelta(days=1), today + timedelta(days=2 + i))
    html = html_of(client, world["member"], "/dashboard/", project=str(world["project"].pk))
    section = html.split('id="at-risk"')[1].split("</section>")[0]
    assert "12 open tasks are likely to finish after their due date" in section
    assert section.count("<tr>") == 1 + 10  # the header, then the 10 latest 85 % dates
    assert section.index("Risky 10") < section.index("Risky 9")
    assert f'href="/projects/{world["project"].pk}/list/?at_risk=true"' in section


def test_an_empty_team_still_has_nothing_to_show(client, team_roles):
    team, _other, people = team_roles
    html = html_of(client, people["owner"], "/dashboard/", team=str(team.pk))
    assert "Nothing to show yet" in html
    assert 'id="at-risk"' not in html


def test_the_dashboard_reads_its_at_risk_list_in_a_fixed_number_of_queries(client, world):
    owner, today = world["people"]["owner"], world["today"]
    client.force_login(owner)
    counts = []
    for n in (2, 30):
        while Forecast.objects.filter(at_risk=True).count() < n:
            task = TaskFactory(project=world["project"], due_date=today, assignee=world["member"])
            put_forecast(task, today + timedelta(days=1), today + timedelta(days=2))
        owner.__dict__.pop("_aether_roles", None)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/dashboard/", {"team": world["team"].pk}).status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts
