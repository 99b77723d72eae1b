"""Conditional GETs (aether/conditional.py): every list, a task, the dashboard and the notifications answer with
an ETag, and `304 Not Modified` to an If-None-Match that names it, reading no database row at all; a write
that commits while an answer is computed never leaves a stale 304 behind (the generations are read before the
rows); an If-None-Match of any shape is harmless."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aether import conditional
from tasks import services
from tasks.models import Comment
from tasks.tests.api_helpers import api_client
from tasks.tests.factories import LabelFactory, ProjectFactory, StageFactory, TaskFactory, TemplateFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(team_roles):
    team, _other, people = team_roles
    member = people["member"]
    project = ProjectFactory(team=team, name="Launch")
    task = TaskFactory(project=project, created_by=member, assignee=member, title="Write")
    StageFactory(task=task, order=1)
    task.labels.add(LabelFactory(team=team))
    Comment.objects.create(task=task, author=member, body="Hi")
    TemplateFactory(team=team)
    return team, project, task, people


URLS = [
    "/api/v1/me/",
    "/api/v1/projects/",
    "/api/v1/projects/{project}/",
    "/api/v1/tasks/",
    "/api/v1/tasks/?ordering=due_date&status=pending",
    "/api/v1/tasks/{task}/",
    "/api/v1/tasks/{task}/comments/",
    "/api/v1/tasks/{task}/activity/",
    "/api/v1/templates/",
    "/api/v1/dashboard/",
    "/api/v1/dashboard/?project={project}&range=30",
    "/api/v1/notifications/",
    "/api/v1/notifications/preferences/",
    "/api/v1/notifications/email/",
]


@pytest.mark.parametrize("url", URLS)
def test_an_unchanged_answer_is_a_304_that_reads_no_row(world, url):
    _team, project, task, people = world
    url = url.format(project=project.pk, task=task.pk)
    client = api_client(people["member"])
    first = client.get(url)
    assert first.status_code == 200
    tag = first["ETag"]
    assert tag.startswith('W/"')
    assert first["Cache-Control"] == "private, no-cache"
    assert "Authorization" in first["Vary"]

    with CaptureQueriesContext(connection) as queries:
        again = client.get(url, HTTP_IF_NONE_MATCH=tag)

    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == tag
    assert "Content-Type" not in again
    assert queries.captured_queries == []


def test_the_tag_is_the_persons_and_the_urls(world):
    _team, _project, task, people = world
    member, viewer = api_client(people["member"]), api_client(people["viewer"])
    tags = {
        member.get("/api/v1/tasks/")["ETag"],
        viewer.get("/api/v1/tasks/")["ETag"],
        member.get("/api/v1/tasks/?ordering=priority")["ETag"],
        member.get(f"/api/v1/tasks/{task.pk}/")["ETag"],
    }
    assert len(tags) == 4
    # Another person's tag is never a 304 for this one.
    assert viewer.get("/api/v1/tasks/", HTTP_IF_NONE_MATCH=member.get("/api/v1/tasks/")["ETag"]).status_code == 200


@pytest.mark.parametrize(
    ("header", "status"),
    [
        ("{tag}", 304),
        ("{bare}", 304),  # a strong tag matches its weak form (weak comparison, RFC 9110)
        ('"other", {tag}', 304),
        ("*", 304),
        ('W/"other"', 200),
        ("", 200),
        ("garbage,,, ;;", 200),
        ('"unclosed', 200),
        ("\t", 200),
        ("x" * 20000, 200),
        ("W/", 200),
    ],
)
def test_an_if_none_match_of_any_shape_is_harmless(world, header, status):
    _team, _project, _task, people = world
    client = api_client(people["member"])
    tag = client.get("/api/v1/tasks/")["ETag"]

    response = client.get("/api/v1/tasks/", HTTP_IF_NONE_MATCH=header.format(tag=tag, bare=tag.removeprefix("W/")))

    assert response.status_code == status
    if status == 200:
        assert response.json()["results"]


def test_the_generations_are_read_before_any_row(world, monkeypatch):
    _team, _project, _task, people = world
    client = api_client(people["member"])
    client.get("/api/v1/me/")  # the account projection in Redis: authentication reads no row from here on
    seen = []
    real = conditional.generations.current

    def current(scopes, **kwargs):
        seen.append(len(connection.queries))
        return real(scopes, **kwargs)

    monkeypatch.setattr(conditional.generations, "current", current)
    with CaptureQueriesContext(connection):
        assert client.get("/api/v1/tasks/?overdue=false").status_code == 200

    assert seen  # authentication's read, then the answer's: both before any query
    assert set(seen) == {0}


@pytest.mark.parametrize("when", ["after the rows were read", "before the rows were read"])
def test_a_write_committing_while_the_answer_is_computed_never_leaves_a_stale_304(world, when):
    """A change commits (and renews its generations) in the middle of a request: right after the request's first
    query (its rows already read: the body is the old one), or right before it (the body is the new one).
    Either way the tag the answer carries must not match once the change has landed."""
    _team, _project, task, people = world
    client = api_client(people["member"])
    client.get("/api/v1/me/")
    fired = []

    def write_in_between(execute, sql, params, many, context):
        if fired:
            return execute(sql, params, many, context)
        fired.append(True)
        if when == "after the rows were read":
            result = execute(sql, params, many, context)
            services.task_update(actor=people["owner"], task=task, data={"title": "Rewritten"})
            return result
        services.task_update(actor=people["owner"], task=task, data={"title": "Rewritten"})
        return execute(sql, params, many, context)

    with connection.execute_wrapper(write_in_between):
        racing = client.get(f"/api/v1/tasks/{task.pk}/")
    assert racing.status_code == 200
    assert racing.json()["title"] == ("Write" if when == "after the rows were read" else "Rewritten")

    revalidated = client.get(f"/api/v1/tasks/{task.pk}/", HTTP_IF_NONE_MATCH=racing["ETag"])

    assert revalidated.status_code == 200
    assert revalidated.json()["title"] == "Rewritten"
    assert client.get(f"/api/v1/tasks/{task.pk}/", HTTP_IF_NONE_MATCH=revalidated["ETag"]).status_code == 304


def test_without_redis_the_answer_goes_without_a_tag(world, monkeypatch):
    _team, _project, _task, people = world
    client = api_client(people["member"])
    client.get("/api/v1/me/")

    real = conditional.generations.current

    def unreachable_for_tags(scopes, **kwargs):
        if kwargs.get("plain"):  # authentication's read (with the projection's key) still answers
            return real(scopes, **kwargs)
        raise ConnectionError("no Redis")

    monkeypatch.setattr(conditional.generations, "current", unreachable_for_tags)
    response = client.get("/api/v1/tasks/")

    assert response.status_code == 200
    assert "ETag" not in response


def test_a_write_through_the_api_changes_the_tag_for_its_author_at_once(world):
    _team, project, _task, people = world
    client = api_client(people["member"])
    tag = client.get("/api/v1/tasks/")["ETag"]

    created = client.post("/api/v1/tasks/", {"project": project.pk, "title": "New"}, format="json")

    assert created.status_code == 201
    response = client.get("/api/v1/tasks/", HTTP_IF_NONE_MATCH=tag)
    assert response.status_code == 200
    assert "New" in [t["title"] for t in response.json()["results"]]


def test_a_teams_midnight_changes_the_tag_of_what_shows_overdue(world, monkeypatch):
    from datetime import UTC, datetime

    from tasks import deadlines

    _team, _project, _task, people = world
    client = api_client(people["member"])
    monkeypatch.setattr(deadlines, "current_time", lambda: datetime(2026, 12, 5, 23, 59, tzinfo=UTC))
    tag = client.get("/api/v1/tasks/")["ETag"]
    monkeypatch.setattr(deadlines, "current_time", lambda: datetime(2026, 12, 6, 0, 1, tzinfo=UTC))

    assert client.get("/api/v1/tasks/", HTTP_IF_NONE_MATCH=tag).status_code == 200
