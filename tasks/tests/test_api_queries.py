"""Every list endpoint costs the same number of queries for a page of 5 as for a page of 50, on any page: the
cost does not grow with the rows shown (no query per row), and the numbers are pinned so a regression shows.
Counted once the person's account projection is in Redis (accounts/auth_projection.py: authentication then
reads no row; reading it costs two queries, once per change of the account)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tasks.models import Activity, Comment
from tasks.tests.api_helpers import api_client
from tasks.tests.factories import (
    LabelFactory,
    ProjectFactory,
    StageFactory,
    TaskFactory,
    TemplateFactory,
    TemplateStageFactory,
)

ROWS = 60


@pytest.fixture
def busy(team_roles):
    """Enough of everything for two pages of 50, each row with related rows (stages, labels, authors)."""
    team, _other, people = team_roles
    members = [people[r] for r in ("owner", "admin", "member", "viewer")]
    project = ProjectFactory(team=team, name="P000")
    labels = [LabelFactory(team=team) for _ in range(3)]
    for i in range(ROWS):
        task = TaskFactory(project=project, assignee=members[i % 4], created_by=members[(i + 1) % 4])
        task.labels.set(labels[: i % 3 + 1])
        for order in range(1, 3):
            StageFactory(task=task, order=order)
    one = project.tasks.first()
    for i in range(ROWS):
        ProjectFactory(team=team, name=f"P{i + 1:03}")
        Comment.objects.create(task=one, author=members[i % 4], body=f"Comment {i}")
        Activity.objects.create(task=one, actor=members[i % 4], verb=Activity.Verb.UPDATED, field="title")
        template = TemplateFactory(team=team)
        TemplateStageFactory(template=template, order=1)
        TemplateStageFactory(template=template, order=2)
    client = api_client(people["member"])
    assert client.get("/api/v1/me/").status_code == 200  # the account projection, read once
    return client, one


def _count(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content
    body = response.json()
    return len(ctx.captured_queries), len(body["results"]), body["next"]


# Queries: the page + one per prefetched relation (+ the task for nested lists); authentication reads none.
LISTS = [
    ("/api/v1/tasks/", 3),  # tasks with their team's time zone: 1; labels: 1; stages: 1
    # + the project filter's lookup + the distinct team time zones (overdue is judged in each, tasks/deadlines.py)
    ("/api/v1/tasks/?project={project}&ordering=-priority&overdue=false", 5),
    ("/api/v1/tasks/?ordering=due_date", 3),
    ("/api/v1/projects/", 1),
    ("/api/v1/templates/", 2),  # + template stages
    ("/api/v1/tasks/{task}/comments/", 2),  # + the task
    ("/api/v1/tasks/{task}/activity/", 2),  # + the task
]


@pytest.mark.parametrize(("url", "queries"), LISTS)
def test_a_list_costs_the_same_queries_for_any_page_size_and_page(busy, url, queries):
    client, task = busy
    url = url.format(task=task.pk, project=task.project_id)
    sep = "&" if "?" in url else "?"

    small = _count(client, f"{url}{sep}page_size=5")
    large = _count(client, f"{url}{sep}page_size=50")
    second = _count(client, large[2])

    assert small[1] == 5
    assert large[1] == 50
    assert second[1] >= 1
    assert small[0] == large[0] == second[0] == queries


def test_one_task_costs_a_fixed_number_of_queries(busy):
    client, task = busy

    with CaptureQueriesContext(connection) as ctx:
        response = client.get(f"/api/v1/tasks/{task.pk}/")

    assert response.status_code == 200
    assert len(ctx.captured_queries) == 3  # the task with its team's time zone, labels, stages


def test_me_costs_two_queries(busy):
    client, _task = busy

    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/api/v1/me/").status_code == 200

    assert len(ctx.captured_queries) == 2  # the user, memberships with teams
