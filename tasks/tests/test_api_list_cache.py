"""The task list API's cached pages (tasks/list_cache.py) on the real Redis, through the doors people use: a
repeated page reads no task rows, and a committed change from each writer (the API, the HTML form, Django
admin's task and label forms, the trash, the archiving job, leaving a team, a team's midnight) shows at the
next read; another person never gets someone else's page; an unreachable cache only costs the computation."""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import services as account_services
from accounts.tests.admin_forms import admin_form
from accounts.tests.factories import UserFactory, sign_in_to_admin
from tasks import deadlines, services
from tasks.services.archiving import completed_tasks_archive
from tasks.tests.api_helpers import api_client
from tasks.tests.factories import LabelFactory, ProjectFactory

pytestmark = pytest.mark.django_db
LIST = "/api/v1/tasks/?page_size=50"


@pytest.fixture
def cached():
    """The API's caches on (conftest.py)."""


def root_browser() -> Client:
    """A browser signed in to Django admin as the site's operator."""
    browser = Client()
    sign_in_to_admin(browser, UserFactory(email="root@example.test", is_staff=True, is_superuser=True))
    return browser


@pytest.fixture
def acme(team_roles, commit):
    team, _, people = team_roles
    project = ProjectFactory(team=team, name="Launch")
    label = LabelFactory(team=team, name="urgent", color="#ff0000")
    with commit():
        task, _ = services.task_create(
            actor=people["owner"],
            project=project,
            title="Write the plan",
            labels=[label],
            stages=[{"name": "Draft", "estimated_hours": "2"}],
        )
    return team, project, label, task, people


def page(client) -> tuple[dict, bool]:
    """The list's body, and whether answering it read any task row."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIST)
    assert response.status_code == 200, response.content
    return response.json(), any('"tasks_task"' in q["sql"] for q in queries.captured_queries)


def titles(body) -> list[str]:
    return [row["title"] for row in body["results"]]


def test_a_repeated_page_is_the_same_body_without_reading_tasks(cached, acme):
    _, _, _, _, people = acme
    client = api_client(people["member"])
    first, read = page(client)
    assert (titles(first), read) == (["Write the plan"], True)
    again, read = page(client)
    assert (again, read) == (first, False)


def _api_patch(acme, commit):
    _, _, _, task, people = acme
    with commit():
        assert (
            api_client(people["member"])
            .patch(f"/api/v1/tasks/{task.pk}/", {"title": "Renamed"}, format="json")
            .status_code
            == 200
        )
    return lambda body: titles(body) == ["Renamed"]


def _html_form(acme, commit):
    _, _, label, task, people = acme
    browser = Client()
    browser.force_login(people["member"])
    data = {
        "title": "Renamed",
        "description": "",
        "priority": "2",
        "due_date": "",
        "assignee": "",
        "labels": [label.pk],
    }
    with commit():
        assert browser.post(reverse("tasks:task_edit", args=[task.pk]), data).status_code == 302
    return lambda body: titles(body) == ["Renamed"]


def _admin(acme, commit):
    _, _, _, task, _ = acme
    browser = root_browser()
    url = reverse("admin:tasks_task_change", args=[task.pk])
    data = admin_form(browser, url, "task_form")
    data["title"] = "Renamed"
    with commit():
        assert browser.post(url, data).status_code == 302
    return lambda body: titles(body) == ["Renamed"]


def _stage(acme, commit):
    _, _, _, task, people = acme
    stage = task.stages.get()
    with commit():
        response = api_client(people["member"]).patch(
            f"/api/v1/stages/{stage.pk}/", {"actual_hours": "3.5"}, format="json"
        )
    assert response.status_code == 200, response.content
    return lambda body: body["results"][0]["stages"][0]["actual_hours"] == 3.5


def _label_renamed_in_admin(acme, commit):
    _, _, label, _, _ = acme
    browser = root_browser()
    url = reverse("admin:tasks_label_change", args=[label.pk])
    data = admin_form(browser, url, "label_form")
    data.update(name="on fire", color="#00ff00")
    with commit():
        assert browser.post(url, data).status_code == 302
    return lambda body: body["results"][0]["labels"] == [{"id": label.pk, "name": "on fire", "color": "#00ff00"}]


def _trashed(acme, commit):
    _, _, _, task, people = acme
    with commit():
        assert api_client(people["member"]).delete(f"/api/v1/tasks/{task.pk}/").status_code == 204
    return lambda body: titles(body) == []


def _archived_by_the_job(acme, commit):
    _, _, _, task, people = acme
    with commit():
        services.stage_complete(actor=people["member"], stage=task.stages.get(), actual_hours="2")
    with commit():
        run = completed_tasks_archive(now=datetime.now(UTC) + timedelta(days=365))
    assert run.archived == 1
    return lambda body: titles(body) == []


def _created_elsewhere_in_the_team(acme, commit):
    _, project, _, _, people = acme
    with commit():
        services.task_create(actor=people["admin"], project=project, title="Another")
    return lambda body: sorted(titles(body)) == ["Another", "Write the plan"]


WRITERS = {
    "the API's PATCH": _api_patch,
    "the task page's form": _html_form,
    "the admin change form": _admin,
    "a stage through the API": _stage,
    "a label renamed in admin": _label_renamed_in_admin,
    "the trash": _trashed,
    "the archiving job": _archived_by_the_job,
    "a teammate's new task": _created_elsewhere_in_the_team,
}


@pytest.mark.parametrize("writer", WRITERS.values(), ids=WRITERS.keys())
def test_a_committed_change_from_each_writer_shows_at_the_next_read(cached, acme, commit, writer):
    _, _, _, _, people = acme
    client = api_client(people["member"])
    before, _ = page(client)
    assert page(client)[1] is False  # cached
    expected = writer(acme, commit)
    after, read = page(client)
    assert read is True
    assert expected(after), after
    assert after != before


def test_a_restored_task_comes_back(cached, acme, commit):
    _, _, _, task, people = acme
    client = api_client(people["member"])
    with commit():
        client.delete(f"/api/v1/tasks/{task.pk}/")
    assert titles(page(client)[0]) == []
    with commit():
        assert client.post(f"/api/v1/tasks/{task.pk}/restore/").status_code == 200
    assert titles(page(client)[0]) == ["Write the plan"]


def test_a_member_who_leaves_sees_none_of_the_team_at_once(cached, acme, commit):
    team, _, _, _, people = acme
    client = api_client(people["member"])
    assert titles(page(client)[0]) == ["Write the plan"]
    with commit():
        account_services.membership_remove(actor=people["owner"], team=team, user=people["member"])
    assert titles(page(client)[0]) == []


def test_each_person_gets_their_own_page(cached, acme, commit):
    _, project, _, _, people = acme
    with commit():
        services.task_create(actor=people["owner"], project=project, title="Member's", assignee=people["member"])
    mine = "/api/v1/tasks/?assignee=me"
    assert [r["title"] for r in api_client(people["member"]).get(mine).json()["results"]] == ["Member's"]
    assert api_client(people["admin"]).get(mine).json()["results"] == []
    assert api_client(people["outsider"]).get(LIST).json()["results"] == []


def test_midnight_in_the_team_time_zone_makes_a_task_overdue_without_any_write(cached, acme, commit, monkeypatch):
    team, _, _, task, people = acme
    with commit():
        account_services.team_update(actor=people["owner"], team=team, data={"time_zone": "Pacific/Auckland"})
    # 23:30 on 1 December in Auckland, then 00:30 on the 2nd; the task is due on the 1st.
    evening = datetime(2026, 12, 1, 10, 30, tzinfo=UTC)
    with commit():
        services.task_update(actor=people["owner"], task=task, data={"due_date": date(2026, 12, 1)})
    client = api_client(people["member"])
    monkeypatch.setattr(deadlines, "current_time", lambda: evening)
    body, _ = page(client)
    assert (body["results"][0]["is_overdue"], body["results"][0]["is_due_soon"]) == (False, True)
    assert page(client)[1] is False
    monkeypatch.setattr(deadlines, "current_time", lambda: evening + timedelta(hours=1))
    body, read = page(client)
    assert (body["results"][0]["is_overdue"], read) == (True, True)


def test_a_change_that_does_not_commit_moves_nothing(cached, acme):
    _, _, _, task, people = acme
    client = api_client(people["member"])
    page(client)
    with contextlib.suppress(RuntimeError), transaction.atomic():
        services.task_update(actor=people["owner"], task=task, data={"title": "Rolled back"})
        raise RuntimeError("the request fails after the write: nothing commits, nothing is renewed")
    assert page(client)[1] is False


def test_an_error_is_not_cached(cached, acme):
    _, _, _, _, people = acme
    client = api_client(people["member"])
    assert client.get("/api/v1/tasks/?due_before=someday").status_code == 400
    assert client.get("/api/v1/tasks/?due_before=someday").status_code == 400


def test_an_unreachable_cache_costs_only_the_computation(settings, acme, monkeypatch):
    from aether import generations
    from aether.cache import RedisCache
    from tasks import list_cache

    settings.API_CACHE_SECONDS = 60
    nowhere = RedisCache("redis://127.0.0.1:9/0", {})
    monkeypatch.setattr(list_cache, "cache", nowhere)
    monkeypatch.setattr(generations, "cache", nowhere)
    _, _, _, _, people = acme
    body, read = page(api_client(people["member"]))
    assert (titles(body), read) == (["Write the plan"], True)


def test_someone_in_no_team_gets_an_empty_page_from_the_cache(cached, caplog):
    client = api_client(UserFactory(email="alone@example.test"))
    assert page(client)[0]["results"] == []
    body, read = page(client)
    assert (body["results"], read) == ([], False)
    assert "cannot be reached" not in caplog.text


def test_a_change_committed_while_a_page_is_computed_shows_at_the_next_read(cached, acme, commit, monkeypatch):
    """The race of a reader and a writer: the page read before the write commits is kept under the generation
    it started with, which the write's commit renewed, so the next read computes again."""
    from tasks.api import TaskListView

    _, _, _, task, people = acme
    computed = TaskListView.paginate_queryset
    raced = []

    def paginate_then_a_write_commits(view, queryset):
        rows = computed(view, queryset)  # the rows as they were
        if not raced:
            raced.append(True)
            with commit():
                services.task_update(actor=people["owner"], task=task, data={"title": "Changed meanwhile"})
        return rows

    monkeypatch.setattr(TaskListView, "paginate_queryset", paginate_then_a_write_commits)
    client = api_client(people["member"])
    assert titles(page(client)[0]) == ["Write the plan"]  # what it read before the commit
    body, read = page(client)
    assert (titles(body), read) == (["Changed meanwhile"], True)


def test_a_cached_search_finds_a_new_comment_and_loses_a_deleted_one(acme):
    """Comments are searched with the task: a ?search= page cached before a comment is posted (or deleted) must
    not keep answering as if it had not been (it did, until comment writers renewed the list's generations)."""
    _, _, _, task, people = acme
    client = api_client(people["member"])
    search = "/api/v1/tasks/?search=quarterly"
    assert client.get(search).json()["results"] == []  # cached: nothing matches yet

    posted = client.post(f"/api/v1/tasks/{task.pk}/comments/", {"body": "See the quarterly numbers"}, format="json")
    assert posted.status_code == 201
    assert [row["id"] for row in client.get(search).json()["results"]] == [task.pk]

    edited = client.patch(f"/api/v1/comments/{posted.json()['id']}/", {"body": "See the yearly numbers"}, format="json")
    assert edited.status_code == 200
    assert client.get(search).json()["results"] == []

    client.patch(f"/api/v1/comments/{posted.json()['id']}/", {"body": "quarterly again"}, format="json")
    assert [row["id"] for row in client.get(search).json()["results"]] == [task.pk]
    assert client.delete(f"/api/v1/comments/{posted.json()['id']}/").status_code == 204
    assert client.get(search).json()["results"] == []
