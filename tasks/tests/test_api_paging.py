"""Keyset pages (aether/pagination.py) of every list: every ordering of the task list walked across page
boundaries through ties (equal due dates, priorities, creation times; undated tasks), forwards by `next` and
back by `previous`; rows written or removed between two pages never make a page repeat or skip a row that was
there throughout; cursors are the list's own."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from aether.pagination import KeysetPagination
from tasks import services
from tasks.api import TASK_ORDERINGS
from tasks.models import Task
from tasks.tests.api_helpers import api_client, error_fields
from tasks.tests.factories import ProjectFactory, TaskFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def crowded(team_roles):
    """17 tasks full of ties: three due dates and none, two priorities, and groups created at the same instant."""
    team, _other, people = team_roles
    project = ProjectFactory(team=team)
    instant = timezone.now() - timedelta(days=1)
    dues = [date(2030, 1, 1), None, date(2030, 1, 2), date(2030, 1, 1), None, date(2029, 12, 31)]
    for i in range(17):
        task = TaskFactory(project=project, title=f"T{i:02}", priority=2 + i % 2, due_date=dues[i % len(dues)])
        Task.objects.filter(pk=task.pk).update(created_at=instant + timedelta(seconds=i // 4))
    return project, api_client(people["member"])


def expected(ordering: str) -> list[int]:
    field = ordering.lstrip("-")
    far = date.max

    def key(task):
        value = getattr(task, field)
        return (far if value is None else value), task.pk

    tasks = sorted(Task.objects.all(), key=key, reverse=ordering.startswith("-"))
    return [t.pk for t in tasks]


def walk(client, url: str) -> tuple[list[int], list[dict]]:
    ids, pages = [], []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        page = response.json()
        pages.append(page)
        ids += [t["id"] for t in page["results"]]
        url = page["next"]
    return ids, pages


@pytest.mark.parametrize("ordering", TASK_ORDERINGS)
@pytest.mark.parametrize("size", [1, 3, 5, 17, 100])
def test_every_ordering_pages_through_ties_without_repeating_or_skipping(crowded, ordering, size):
    _project, client = crowded
    ids, pages = walk(client, f"/api/v1/tasks/?ordering={ordering}&page_size={size}")

    assert ids == expected(ordering)
    assert pages[0]["previous"] is None
    assert pages[-1]["next"] is None
    # Back from the last page by `previous`: the same pages, the other way.
    back, url = [], pages[-1]["previous"]
    while url:
        page = client.get(url).json()
        back = [t["id"] for t in page["results"]] + back
        url = page["previous"]
    assert back + [t["id"] for t in pages[-1]["results"]] == ids


def test_the_default_order_is_newest_first(crowded):
    _project, client = crowded
    ids, _ = walk(client, "/api/v1/tasks/?page_size=4")
    assert ids == expected("-created_at")


@pytest.mark.parametrize("ordering", ["due_date", "-priority", "-created_at"])
def test_rows_written_or_removed_between_pages_do_not_disturb_the_others(crowded, team_roles, ordering):
    project, client = crowded
    people = team_roles[2]
    before = expected(ordering)
    first = client.get(f"/api/v1/tasks/?ordering={ordering}&page_size=5").json()
    shown = [t["id"] for t in first["results"]]
    # Between the pages: a task of the first page and one of a later page go to the trash, one moves from a later
    # page to the top, and new tasks arrive.
    gone = [shown[1], before[9]]
    for pk in gone:
        services.task_delete(actor=people["owner"], task=Task.objects.get(pk=pk))
    services.task_update(
        actor=people["owner"], task=Task.objects.get(pk=before[12]), data={"due_date": date(2000, 1, 1), "priority": 4}
    )
    for i in range(3):
        services.task_create(actor=people["owner"], project=project, title=f"New {i}", due_date=date(2030, 1, 1))

    rest, _ = walk(client, first["next"])

    seen = shown + rest
    assert len(seen) == len(set(seen)), "a row was shown twice"
    throughout = [pk for pk in before[len(shown) :] if pk not in gone and pk != before[12]]
    assert [pk for pk in seen if pk in throughout] == throughout, "a row that stayed was skipped or moved"


def test_a_cursor_is_the_lists_own(crowded, team_roles):
    _project, client = crowded
    by_due = client.get("/api/v1/tasks/?ordering=due_date&page_size=2").json()["next"]
    cursor = by_due.split("cursor=")[1].split("&")[0]

    other_ordering = client.get(f"/api/v1/tasks/?ordering=priority&cursor={cursor}")
    other_person = api_client(team_roles[2]["viewer"]).get(f"/api/v1/tasks/?ordering=due_date&cursor={cursor}")
    edited = client.get(f"/api/v1/tasks/?ordering=due_date&cursor={cursor[:-2]}xx")

    for response in (other_ordering, other_person, edited):
        assert response.status_code == 400
        assert error_fields(response) == ["cursor"]


@pytest.mark.parametrize(
    "url",
    ["/api/v1/projects/", "/api/v1/templates/", "/api/v1/notifications/", "/api/v1/tasks/{task}/comments/"],
)
def test_every_other_list_pages_by_cursor(team_roles, url):
    from notifications.models import Kind
    from notifications.services import notify
    from tasks.tests.factories import TemplateFactory

    team, _other, people = team_roles
    member = people["member"]
    project = ProjectFactory(team=team, name="P0")
    task = TaskFactory(project=project)
    for i in range(7):
        ProjectFactory(team=team, name=f"P{i + 1}")
        TemplateFactory(team=team, name=f"Template {i}")
        services.comment_create(actor=member, task=task, body=f"Comment {i}")
        notify(kind=Kind.TASK_COMMENTED, user=member, actor=people["owner"], event=f"e:{i}", message=f"N{i}", task=task)
    client = api_client(member)

    ids, pages = walk(client, url.format(task=task.pk) + "?page_size=3")

    assert len(pages) >= 3
    assert len(ids) == len(set(ids)) >= 7


def test_every_list_view_names_its_keyset():
    """A door nobody can forget: every API view that pages says along which keys."""
    from django.urls import get_resolver

    missing = []
    for pattern in get_resolver("aether.api_urls").url_patterns:
        view = getattr(pattern.callback, "cls", None)
        pages = view is not None and hasattr(view, "list") and view.pagination_class is KeysetPagination
        if pages and not (hasattr(view, "keyset") or hasattr(view, "keyset_ordering")):
            missing.append(view.__name__)
    assert missing == []
