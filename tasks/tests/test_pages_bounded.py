"""My work and the board show a bounded number of tasks, however many there are, and say when there are more."""

from datetime import timedelta

import pytest
from django.urls import reverse

from tasks import selectors
from tasks.deadlines import deadlines_at
from tasks.models import Priority, Status
from tasks.tests.factories import ProjectFactory, StageFactory, TaskFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_limits(monkeypatch):
    monkeypatch.setattr(selectors, "BOARD_COLUMN_LIMIT", 3)
    monkeypatch.setattr(selectors, "MY_WORK_GROUP_LIMIT", 3)


def test_a_board_column_shows_its_most_urgent_cards_and_links_to_the_rest(client, team_roles, small_limits):
    team, _, people = team_roles
    project = ProjectFactory(team=team)
    for i in range(5):
        TaskFactory(project=project, title=f"Low {i}", priority=Priority.LOW)
    urgent = TaskFactory(project=project, title="Urgent one", priority=Priority.URGENT)
    StageFactory(task=urgent, order=1)
    TaskFactory(project=project, title="Trashed", priority=Priority.URGENT, deleted_at="2026-01-01T00:00:00Z")
    client.force_login(people["viewer"])

    html = client.get(reverse("tasks:board", args=[project.pk])).content.decode()

    assert html.count('data-card="') == 3
    assert "Urgent one" in html  # most urgent first
    assert "Trashed" not in html
    assert '<span class="count">3+</span>' in html
    assert f"{reverse('tasks:task_list', args=[project.pk])}?status=pending" in html


def test_a_board_column_without_more_cards_has_no_link(client, team_roles, small_limits):
    team, _, people = team_roles
    project = ProjectFactory(team=team)
    TaskFactory(project=project, title="Only one")
    client.force_login(people["viewer"])

    html = client.get(reverse("tasks:board", args=[project.pk])).content.decode()

    assert '<span class="count">1</span>' in html
    assert "see all in the list" not in html


def test_my_work_groups_are_bounded_and_ordered(team_roles, small_limits):
    team, _, people = team_roles
    me = people["member"]
    project = ProjectFactory(team=team)
    today = deadlines_at().today()
    for days in (-9, -5, -3, -2, -1):
        TaskFactory(project=project, assignee=me, title=f"late {days}", due_date=today + timedelta(days=days))
    TaskFactory(project=project, assignee=me, title="today", due_date=today)
    TaskFactory(project=project, assignee=me, title="undated")
    TaskFactory(project=project, assignee=me, title="next month", due_date=today + timedelta(days=30))
    TaskFactory(project=project, assignee=people["admin"], title="not mine", due_date=today - timedelta(days=20))
    TaskFactory(
        project=project,
        assignee=me,
        title="done",
        due_date=today - timedelta(days=20),
        status=Status.COMPLETED,
        completed_at="2026-01-01T00:00:00Z",
    )

    groups = selectors.my_work(me, limit=3)

    assert [t.title for t in groups["overdue"]] == ["late -9", "late -5", "late -3", "late -2"]  # limit + 1
    assert [t.title for t in groups["soon"]] == ["today"]
    assert [t.title for t in groups["later"]] == ["next month", "undated"]


def test_my_work_page_says_when_a_group_has_more(client, team_roles, small_limits):
    team, _, people = team_roles
    me = people["member"]
    project = ProjectFactory(team=team)
    today = deadlines_at().today()
    for days in range(1, 6):
        TaskFactory(project=project, assignee=me, title=f"late {days}", due_date=today - timedelta(days=days))
    client.force_login(me)

    html = client.get(reverse("tasks:my_work")).content.decode()

    assert html.count("late ") == 3
    assert "late 5" in html  # the longest overdue first
    assert '<span class="count">3+</span>' in html
    assert "each project's list shows the rest" in html


def test_list_and_project_counts_are_capped(client, team_roles, monkeypatch):
    from tasks.views import _common as views

    monkeypatch.setattr(views.CappedPaginator, "cap", 4)
    monkeypatch.setattr(selectors, "COUNT_CAP", 4)
    team, _, people = team_roles
    project = ProjectFactory(team=team, name="Big")
    for i in range(6):
        TaskFactory(project=project, title=f"T{i}")
    TaskFactory(project=project, title="Done", status=Status.COMPLETED, completed_at="2026-01-01T00:00:00Z")
    client.force_login(people["viewer"])

    listing = client.get(reverse("tasks:task_list", args=[project.pk])).content.decode()
    projects = client.get(reverse("tasks:project_list")).content.decode()

    assert "4+ tasks: narrow the filters" in listing
    assert "<strong>4+</strong> open · 4+ in all" in projects


def test_counts_below_the_cap_are_exact(client, team_roles):
    team, _, people = team_roles
    project = ProjectFactory(team=team, name="Small")
    for i in range(2):
        TaskFactory(project=project, title=f"T{i}")
    TaskFactory(project=project, title="Done", status=Status.COMPLETED, completed_at="2026-01-01T00:00:00Z")
    TaskFactory(project=project, title="Trashed", deleted_at="2026-01-01T00:00:00Z")
    client.force_login(people["viewer"])

    assert "<strong>2</strong> open · 3 in all" in client.get(reverse("tasks:project_list")).content.decode()
    assert "3 tasks" in client.get(reverse("tasks:task_list", args=[project.pk])).content.decode()
