"""The new URLs against every role (the permission matrix), bad input in the one error shape, the CSV file, the
reporting replica, and the two commands."""

from __future__ import annotations

import codecs
import csv
import io
import re
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connections
from django.test.utils import CaptureQueriesContext

from analytics.models import CreatedDay
from analytics.routers import REPLICA, reporting_alias
from tasks import services
from tasks.tests.api_helpers import api_client, error_fields
from tasks.tests.factories import ProjectFactory

ROLES = ["anonymous", "outsider", "viewer", "member", "admin"]


@pytest.fixture
def world(team_roles):
    team, other, people = team_roles
    project = ProjectFactory(team=team, name="Website")
    member = people["member"]
    task, _ = services.task_create(
        actor=member,
        project=project,
        title='=HYPERLINK("http://evil") , "quoted"',
        assignee=member,
        stages=[{"name": "Build", "estimated_hours": "2"}, {"name": "Ship", "estimated_hours": "1.5"}],
    )
    services.stage_complete(actor=member, stage=task.stages.get(name="Build"), actual_hours="2.25")
    trashed, _ = services.task_create(actor=member, project=project, title="In the trash")
    services.task_delete(actor=member, task=trashed)
    services.task_create(actor=member, project=project, title="Café crème, naïve résumé")
    return {"team": team, "other": other, "project": project, "people": people, "task": task}


# (name, path, expected status for anonymous, outsider, viewer, member, admin)
URLS = [
    ("dashboard api, project", "/api/v1/dashboard/?project={project}", [401, 404, 200, 200, 200]),
    ("dashboard api, team", "/api/v1/dashboard/?team={team}", [401, 404, 200, 200, 200]),
    ("dashboard api, my work", "/api/v1/dashboard/", [401, 200, 200, 200, 200]),
    ("csv, project", "/api/v1/reports/tasks.csv?project={project}", [401, 404, 200, 200, 200]),
    ("csv, team", "/api/v1/reports/tasks.csv?team={team}&range=all", [401, 404, 200, 200, 200]),
    ("page, project", "/dashboard/?project={project}", [302, 404, 200, 200, 200]),
    ("page, team", "/dashboard/?team={team}", [302, 404, 200, 200, 200]),
    ("page, my work", "/dashboard/", [302, 200, 200, 200, 200]),
]


@pytest.mark.parametrize(("name", "path", "expected"), URLS, ids=[u[0] for u in URLS])
@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(world, client, name, path, expected, role):
    url = path.format(project=world["project"].pk, team=world["team"].pk)
    user = None if role == "anonymous" else world["people"][role]
    if url.startswith("/api/"):
        response = api_client(user).get(url)
    else:
        if user is not None:
            client.force_login(user)
        response = client.get(url)
    assert response.status_code == expected[ROLES.index(role)], (name, role)
    if url.startswith("/api/") and response.status_code != 200:
        assert set(response.json()) == {"code", "detail", "errors"}


def test_an_outsider_learns_nothing_of_another_teams_project_even_by_the_team_parameter(world):
    outsider = world["people"]["outsider"]
    response = api_client(outsider).get(f"/api/v1/dashboard/?project={world['project'].pk}&team={world['other'].pk}")
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("query", "fields", "status"),
    [
        ("since=yesterday", ["since"], 400),
        ("since=2026-02-01&until=2026-01-01", ["until"], 422),  # two good dates that do not fit together
        ("range=week", ["range"], 400),
        ("range=7&since=2026-01-01", ["range"], 422),
        ("project=abc&assignee=-1", ["project", "assignee"], 400),
        ("team=99999999999999999999", ["team"], 400),
        ("project=&range=7", ["project"], 400),  # given empty (aether/api.py ApiQueryMiddleware)
    ],
)
def test_bad_filters_are_refused_naming_the_parameter(world, query, fields, status):
    viewer = world["people"]["viewer"]
    for path in ("/api/v1/dashboard/", "/api/v1/reports/tasks.csv"):
        response = api_client(viewer).get(f"{path}?{query}")
        assert response.status_code == status
        assert sorted(error_fields(response)) == sorted(fields)


def test_bad_filters_on_the_page_are_shown_by_the_field(world, client):
    client.force_login(world["people"]["viewer"])
    response = client.get("/dashboard/?since=2026-02-01&until=2026-01-01")
    assert response.status_code == 400
    assert "The end date must be on or after the start date." in response.content.decode()


def test_the_dashboard_json_for_a_viewer(world):
    body = api_client(world["people"]["viewer"]).get(f"/api/v1/dashboard/?project={world['project'].pk}").json()
    assert body["counts"]["created"] == 2  # the trashed task is left out
    assert body["counts"]["by_status"] == {"pending": 1, "in_progress": 1, "completed": 0}
    assert body["stages"]["by_name"][0]["name"] == "Build"
    assert body["stages"]["by_name"][0]["mean_error_hours"] == 0.25


def _csv_rows(response) -> list[list[str]]:
    raw = b"".join(response.streaming_content)
    assert raw.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(raw[len(codecs.BOM_UTF8) :].decode("utf-8"), newline="")))


def test_the_csv_opens_in_a_spreadsheet_one_row_per_task_with_its_stage_summary(world):
    response = api_client(world["people"]["viewer"]).get(f"/api/v1/reports/tasks.csv?project={world['project'].pk}")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="aether-tasks-project-')
    rows = _csv_rows(response)
    header, *tasks = rows
    assert header == [
        "id",
        "project",
        "title",
        "status",
        "priority",
        "assignee",
        "due_date",
        "created_at",
        "started_at",
        "completed_at",
        "archived_at",
        "stages",
        "stages_completed",
        "estimated_hours",
        "actual_hours",
    ]
    assert len(tasks) == 2  # the trashed one is left out
    first, second = tasks
    assert first[0] == str(world["task"].pk)
    # a formula is defused with an apostrophe; the comma and the quotes survive the round trip
    assert first[2] == '\'=HYPERLINK("http://evil") , "quoted"'
    assert first[3:6] == ["in_progress", "medium", world["people"]["member"].get_full_name()]
    assert first[11:] == ["2", "1", "3.50", "2.25"]
    assert second[2] == "Café crème, naïve résumé"
    assert second[11:] == ["0", "0", "0", ""]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", first[7])  # UTC, to the second


def test_the_csv_is_streamed(world):
    response = api_client(world["people"]["viewer"]).get(f"/api/v1/reports/tasks.csv?team={world['team'].pk}")
    assert response.streaming
    assert len(_csv_rows(response)) == 3


def test_the_page_has_the_charts_their_tables_and_the_csv_button(world, client):
    client.force_login(world["people"]["viewer"])
    page = client.get(f"/dashboard/?project={world['project'].pk}").content.decode()
    for title in (
        "New tasks by priority and status",
        "Completed per week",
        "Late or early, by priority",
        "How long tasks take, by priority",
        "Completed per day",
        "Stages against their estimates",
        "When tasks get completed",
        "Created and completed, last 12 weeks",
        "Who has what",
    ):
        assert title in page
    assert 'id="dashboard-data" type="application/json"' in page
    assert f"/api/v1/reports/tasks.csv?project={world['project'].pk}" in page
    assert "Nothing was completed in this range." in page  # nothing completed yet: said, not charted
    assert "<script>" not in page  # only json_script and vendored files: the CSP holds


def test_nav_dashboard_link(world, client):
    client.force_login(world["people"]["viewer"])
    page = client.get("/dashboard/").content.decode()
    assert '<a href="/dashboard/" aria-current="page">Dashboard</a>' in page


# --- the reporting replica ----------------------------------------------------------------------------


@pytest.fixture
def replica(settings, transactional_db):
    """A second alias on the same test database (as TEST MIRROR does), added for this test only."""
    settings.DATABASES[REPLICA] = {**connections["default"].settings_dict, "TEST": {"MIRROR": "default"}}
    # Connected here: the test case allows no new connection to an alias it was not declared with, and this
    # one exists only for this test.
    connections[REPLICA].connect()
    try:
        yield connections[REPLICA]
    finally:
        connections[REPLICA].close()
        del connections[REPLICA]
        del settings.DATABASES[REPLICA]


@pytest.mark.django_db(transaction=True)
def test_dashboard_reads_and_csv_go_to_the_replica(team_roles, replica):
    team, _other, people = team_roles
    project = ProjectFactory(team=team)
    services.task_create(actor=people["member"], project=project, title="On the primary")
    assert reporting_alias() == REPLICA
    client = api_client(people["viewer"])
    with CaptureQueriesContext(replica) as on_replica:
        body = client.get(f"/api/v1/dashboard/?project={project.pk}").json()
        csv_response = client.get(f"/api/v1/reports/tasks.csv?project={project.pk}")
        rows = _csv_rows(csv_response)
    assert body["counts"]["created"] == 1
    assert len(rows) == 2
    sql = " ".join(q["sql"] for q in on_replica.captured_queries)
    assert "analytics_createdday" in sql
    assert "analytics_stageday" in sql
    assert "tasks_task" in sql  # the export
    # writes stay on the primary
    assert CreatedDay.objects.db_manager("default").filter(project_id=project.pk).exists()


def test_without_a_replica_everything_reads_the_primary():
    assert reporting_alias() == "default"


# --- the commands -------------------------------------------------------------------------------------


def test_verify_prints_differences_and_exits_1_and_rebuild_repairs(world, capsys):
    call_command("analytics_verify")
    assert "agree" in capsys.readouterr().out
    CreatedDay.objects.filter(project_id=world["project"].pk).update(n=7)
    with pytest.raises(SystemExit) as exit_:
        call_command("analytics_verify")
    assert exit_.value.code == 1
    out = capsys.readouterr()
    assert "analytics_createdday" in out.out
    assert f"project_id={world['project'].pk}" in out.out
    assert "n kept 7, expected 1" in out.out
    assert "differences" in out.err
    call_command("analytics_rebuild")
    call_command("analytics_verify")
    assert "agree" in capsys.readouterr().out


def test_a_write_that_fails_leaves_the_figures_as_they_were(world):
    member, task = world["people"]["member"], world["task"]
    before = list(CreatedDay.objects.order_by("pk").values_list("pk", "n"))
    with pytest.raises(Exception):  # noqa: B017,PT011 -- a stage estimate must be positive
        services.stage_update(actor=member, stage=task.stages.get(name="Ship"), data={"estimated_hours": "0"})
    assert list(CreatedDay.objects.order_by("pk").values_list("pk", "n")) == before
    assert Decimal("1.5") == task.stages.get(name="Ship").estimated_hours
