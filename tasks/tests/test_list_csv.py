"""The task list's CSV: what the list shows (its filters, its sort, the user's scope), in human values and the
team's time zone, streamed from the database in a fixed number of queries."""

import csv
import io
from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.factories import MembershipFactory, TeamFactory, UserFactory
from tasks.export import export_filename
from tasks.models import Priority, Status, Task
from tasks.tests.factories import LabelFactory, ProjectFactory, TaskFactory

HEADER = [
    "ID",
    "Title",
    "Status",
    "Priority",
    "Assignee",
    "Labels",
    "Due date",
    "Created",
    "Started",
    "Completed",
    "Link",
    "Likely by (50 %)",
    "85 % by",
    "At risk",
]


@pytest.fixture(autouse=True)
def site(settings):
    settings.SITE_URL = "https://aether.example.org"


@pytest.fixture
def world(db):
    team = TeamFactory(name="Acme Zürich", time_zone="Europe/Berlin")
    people = {
        role: MembershipFactory(
            team=team, role=role, user=UserFactory(email=f"{role}@acme.test", full_name=f"{role.title()} Person")
        ).user
        for role in ("owner", "member", "viewer")
    }
    outsider = MembershipFactory(user=UserFactory(email="out@other.test"), role="owner").user
    project = ProjectFactory(team=team, name="Website")
    alpha, beta = LabelFactory(team=team, name="alpha"), LabelFactory(team=team, name="beta")
    tasks = {
        "open": TaskFactory(project=project, title="Write copy", priority=Priority.HIGH, assignee=people["member"]),
        "started": TaskFactory(
            project=project,
            title="Build page",
            status=Status.IN_PROGRESS,
            priority=Priority.URGENT,
            due_date=date(2026, 12, 6),
            started_at=datetime(2026, 12, 2, 7, 0, tzinfo=UTC),
        ),
        "done": TaskFactory(
            project=project,
            title="=HYPERLINK(evil)",
            status=Status.COMPLETED,
            priority=Priority.LOW,
            completed_at=datetime(2026, 7, 1, 12, 0, tzinfo=UTC),
        ),
    }
    tasks["open"].labels.set([beta, alpha])
    Task.objects.filter(pk=tasks["started"].pk).update(created_at=datetime(2026, 12, 1, 8, 30, tzinfo=UTC))
    Task.objects.filter(pk=tasks["done"].pk).update(created_at=datetime(2026, 6, 30, 22, 15, tzinfo=UTC))
    TaskFactory(project=project, title="Trashed", deleted_at=datetime(2026, 12, 1, tzinfo=UTC))
    return {
        "team": team,
        "people": people,
        "outsider": outsider,
        "project": project,
        "tasks": tasks,
    }


def export(client, project, **params):
    return client.get(reverse("tasks:task_list_csv", args=[project.pk]), params)


def rows_of(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")  # spreadsheets then read "Zürich" right
    return list(csv.reader(io.StringIO(body[1:])))


def test_the_file_is_the_list_in_human_values_with_team_zone_times_labels_and_links(client, world):
    client.force_login(world["people"]["owner"])
    response = export(client, world["project"], ordering="-priority")

    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    header, *rows = rows_of(response)
    assert header == HEADER
    started, open_, done = world["tasks"]["started"], world["tasks"]["open"], world["tasks"]["done"]
    assert [row[0] for row in rows] == [str(started.pk), str(open_.pk), str(done.pk)]  # the list's sort, no trash
    by_id = {row[0]: row for row in rows}
    assert by_id[str(started.pk)] == [
        str(started.pk),
        "Build page",
        "In progress",
        "Urgent",
        "",
        "",
        "2026-12-06",
        "2026-12-01T09:30:00+01:00",  # Berlin in winter
        "2026-12-02T08:00:00+01:00",
        "",
        f"https://aether.example.org/tasks/{started.pk}/",
        "No forecast yet",  # an open task the engine has not reached (tests/test_forecast_surfaces.py: with one)
        "",
        "",
    ]
    assert by_id[str(open_.pk)][2:6] == ["Pending", "High", "Member Person", "alpha; beta"]
    assert by_id[str(done.pk)][1:4] == ["'=HYPERLINK(evil)", "Completed", "Low"]  # no formula for a spreadsheet
    assert by_id[str(done.pk)][7] == "2026-07-01T00:15:00+02:00"  # Berlin in summer: the day it was there
    assert by_id[str(done.pk)][9] == "2026-07-01T14:00:00+02:00"
    assert by_id[str(done.pk)][11:] == ["", "", ""]  # a completed task has no forecast
    # The connection goes back to UTC for the next request.
    with connection.cursor() as cursor:
        cursor.execute("SHOW TimeZone")
        assert cursor.fetchone()[0] == "UTC"


def test_the_file_follows_the_filters_on_screen(client, world):
    client.force_login(world["people"]["member"])
    project, tasks = world["project"], world["tasks"]

    assert [r[0] for r in rows_of(export(client, project, status="pending"))[1:]] == [str(tasks["open"].pk)]
    assert [r[0] for r in rows_of(export(client, project, priority="urgent"))[1:]] == [str(tasks["started"].pk)]
    assert [r[0] for r in rows_of(export(client, project, assignee="me"))[1:]] == [str(tasks["open"].pk)]
    label = tasks["open"].labels.get(name="alpha")
    assert [r[0] for r in rows_of(export(client, project, label=label.pk))[1:]] == [str(tasks["open"].pk)]
    rows = rows_of(export(client, project, due_after="2026-12-01", ordering="due_date"))[1:]
    assert [r[0] for r in rows] == [str(tasks["started"].pk)]


def test_the_list_links_to_the_file_with_its_filters(client, world):
    client.force_login(world["people"]["member"])
    page = client.get(reverse("tasks:task_list", args=[world["project"].pk]), {"status": "pending"}).content.decode()
    url = reverse("tasks:task_list_csv", args=[world["project"].pk])
    assert f'href="{url}?status=pending" download>Download CSV of these tasks</a>' in page


@pytest.mark.parametrize(
    ("params", "named", "says"),
    [
        ({"status": "finished"}, "Status", "Select a valid choice"),
        ({"due_before": "tomorrow"}, "Due until", "Enter a valid date"),
        ({"overdue": "perhaps"}, "Overdue", "Give true or false"),
        ({"assignee": "bob"}, "Assignee", "Give a user id or “me”"),
        ({"ordering": "title"}, "Sort", "Sort by the column headers"),
    ],
)
def test_a_bad_filter_is_a_clear_400_naming_it(client, world, params, named, says):
    client.force_login(world["people"]["member"])
    response = export(client, world["project"], **params)
    assert response.status_code == 400
    page = response.content.decode()
    assert "The CSV was not made" in page
    assert f"<strong>{named}</strong>" in page
    assert says in page


def test_a_viewer_exports_what_she_sees_and_an_outsider_nothing(client, world):
    client.force_login(world["people"]["viewer"])
    assert len(rows_of(export(client, world["project"]))) == 4
    client.force_login(world["outsider"])
    assert export(client, world["project"]).status_code == 404
    client.logout()
    assert export(client, world["project"]).status_code == 302  # to sign in


def test_the_file_is_named_after_the_team_and_project_in_safe_characters(client, world):
    client.force_login(world["people"]["owner"])
    disposition = export(client, world["project"])["Content-Disposition"]
    assert disposition.startswith('attachment; filename="Acme Zurich - Website - tasks ')
    assert "filename*=UTF-8''Acme%20Z%C3%BCrich%20-%20Website%20-%20tasks%20" in disposition
    ascii_name, utf8 = export_filename('Ops/"Team"\r\n', "a:b*?<>|", date(2026, 12, 6))
    assert ascii_name == "Ops Team - a b - tasks 2026-12-06.csv"
    assert utf8 == "Ops Team - a b - tasks 2026-12-06.csv"
    assert export_filename("日本", "プロ", date(2026, 12, 6)) == (
        "- - tasks 2026-12-06.csv",
        "日本 - プロ - tasks 2026-12-06.csv",
    )


def test_the_queries_do_not_grow_with_the_rows(client, world):
    client.force_login(world["people"]["owner"])
    project = world["project"]

    def counted() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            rows = rows_of(export(client, project))
        return len(queries), len(rows)

    few, rows_few = counted()
    for i in range(30):
        TaskFactory(project=project, title=f"More {i}").labels.set(project.team.labels.all())
    many, rows_many = counted()
    assert rows_many == rows_few + 30
    assert few == many
    with CaptureQueriesContext(connection) as queries:
        rows_of(export(client, project))
    assert sum("COPY (" in q["sql"] for q in queries) == 1  # the rows, in one statement the database writes


def test_a_big_export_reads_in_parallel_and_gives_the_same_file(client, world, monkeypatch):
    """From PARALLEL_FROM_ROWS (the planner's estimate) the export turns index scans off for its statement (a
    parallel scan and an in-memory sort): the same rows in the same order, and the connection as it was after."""
    from tasks import export as export_module

    client.force_login(world["people"]["owner"])
    by_index = rows_of(export(client, world["project"], ordering="-priority"))
    monkeypatch.setattr(export_module, "PARALLEL_FROM_ROWS", 0)
    with CaptureQueriesContext(connection) as queries:
        in_parallel = rows_of(export(client, world["project"], ordering="-priority"))

    assert in_parallel == by_index
    assert any(q["sql"] == "SET enable_indexscan = off" for q in queries.captured_queries)
    with connection.cursor() as cursor:
        cursor.execute("SHOW enable_indexscan")
        assert cursor.fetchone()[0] == "on"
        cursor.execute("SHOW work_mem")
        assert cursor.fetchone()[0] != export_module.EXPORT_WORK_MEM
