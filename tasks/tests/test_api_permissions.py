"""Every endpoint of /api/v1/ against anonymous, another team's owner, viewer, member and admin: the exact
status, and for each refused write, nothing changed."""

from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Team
from tasks.models import Activity, Comment, Project, Recurrence, Stage, Task, Template
from tasks.tests.api_helpers import api_client
from tasks.tests.factories import (
    LabelFactory,
    ProjectFactory,
    StageFactory,
    TaskFactory,
    TemplateFactory,
    TemplateStageFactory,
)

ROLES = ["anonymous", "outsider", "viewer", "member", "admin"]


@pytest.fixture
def world(team_roles):
    """Acme's objects, one of each kind the API reaches."""
    team, _other, people = team_roles
    project = ProjectFactory(team=team, name="Website")
    empty_project = ProjectFactory(team=team, name="Empty")
    task = TaskFactory(project=project, created_by=people["member"])
    stage = StageFactory(task=task, order=1)
    StageFactory(task=task, order=2)
    trashed = TaskFactory(project=project, created_by=people["member"], deleted_at=timezone.now())
    Comment.objects.create(task=task, author=people["member"], body="First!")
    Activity.objects.create(task=task, actor=people["member"], verb=Activity.Verb.CREATED)
    label = LabelFactory(team=team)
    template = TemplateFactory(team=team)
    TemplateStageFactory(template=template, order=1)
    return {
        "team": team,
        "project": project,
        "empty_project": empty_project,
        "task": task,
        "stage": stage,
        "trashed": trashed,
        "label": label,
        "template": template,
        "people": people,
    }


# (name, method, path, body, expected status for anonymous, outsider, viewer, member, admin)
ENDPOINTS = [
    ("me", "get", "/api/v1/me/", None, [401, 200, 200, 200, 200]),
    ("projects list", "get", "/api/v1/projects/", None, [401, 200, 200, 200, 200]),
    ("project create", "post", "/api/v1/projects/", "new_project", [401, 400, 403, 403, 201]),
    ("project get", "get", "/api/v1/projects/{project}/", None, [401, 404, 200, 200, 200]),
    ("project patch", "patch", "/api/v1/projects/{project}/", {"name": "Renamed"}, [401, 404, 403, 403, 200]),
    ("project delete", "delete", "/api/v1/projects/{empty_project}/", None, [401, 404, 403, 403, 204]),
    ("tasks list", "get", "/api/v1/tasks/", None, [401, 200, 200, 200, 200]),
    ("task create", "post", "/api/v1/tasks/", "new_task", [401, 400, 403, 201, 201]),
    ("task get", "get", "/api/v1/tasks/{task}/", None, [401, 404, 200, 200, 200]),
    ("task patch", "patch", "/api/v1/tasks/{task}/", {"title": "Changed"}, [401, 404, 403, 200, 200]),
    ("task delete", "delete", "/api/v1/tasks/{task}/", None, [401, 404, 403, 204, 204]),
    ("task restore", "post", "/api/v1/tasks/{trashed}/restore/", None, [401, 404, 403, 200, 200]),
    ("repeats set", "put", "/api/v1/tasks/{task}/recurrence/", {"rule": "FREQ=WEEKLY"}, [401, 404, 403, 200, 200]),
    ("repeats get", "get", "/api/v1/tasks/{task}/recurrence/", None, [401, 404, 404, 404, 404]),  # none set
    ("repeats stop", "delete", "/api/v1/tasks/{task}/recurrence/", None, [401, 404, 403, 204, 204]),
    ("stage add", "post", "/api/v1/tasks/{task}/stages/", "new_stage", [401, 404, 403, 201, 201]),
    ("stage patch", "patch", "/api/v1/stages/{stage}/", {"name": "Renamed"}, [401, 404, 403, 200, 200]),
    ("stage delete", "delete", "/api/v1/stages/{stage}/", None, [401, 404, 403, 204, 204]),
    ("comments list", "get", "/api/v1/tasks/{task}/comments/", None, [401, 404, 200, 200, 200]),
    ("comment create", "post", "/api/v1/tasks/{task}/comments/", {"body": "Looks good"}, [401, 404, 403, 201, 201]),
    ("activity list", "get", "/api/v1/tasks/{task}/activity/", None, [401, 404, 200, 200, 200]),
    ("templates list", "get", "/api/v1/templates/", None, [401, 200, 200, 200, 200]),
    ("template create", "post", "/api/v1/templates/", "new_template", [401, 400, 403, 403, 201]),
    # one's own email cadence: anyone signed in, whatever their role (a viewer still gets emails)
    ("email cadence get", "get", "/api/v1/notifications/email/", None, [401, 200, 200, 200, 200]),
    ("email cadence put", "put", "/api/v1/notifications/email/", {"cadence": "digest"}, [401, 200, 200, 200, 200]),
]


def _body(spec, world):
    if spec == "new_project":
        return {"team": world["team"].pk, "name": "Mobile"}
    if spec == "new_task":
        return {"project": world["project"].pk, "title": "Ship it", "labels": [world["label"].pk]}
    if spec == "new_stage":
        return {"name": "Review", "estimated_hours": "2.5"}
    if spec == "new_template":
        return {"team": world["team"].pk, "name": "Bugfix", "stages": [{"name": "Fix", "estimated_hours": 3}]}
    return spec


def _snapshot():
    """Everything an API write could change."""
    return {
        "teams": list(Team.objects.order_by("pk").values()),
        "projects": list(Project.objects.order_by("pk").values()),
        "tasks": list(Task.objects.order_by("pk").values()),
        "stages": list(Stage.objects.order_by("pk").values()),
        "comments": list(Comment.objects.order_by("pk").values()),
        "templates": list(Template.objects.order_by("pk").values()),
        "activities": Activity.objects.count(),
        "recurrences": list(Recurrence.objects.order_by("pk").values()),
    }


@pytest.mark.parametrize(("role_index", "role"), list(enumerate(ROLES)))
@pytest.mark.parametrize(("name", "method", "path", "body", "expected"), ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_permission_matrix(world, role_index, role, name, method, path, body, expected):
    user = None if role == "anonymous" else world["people"][role]
    url = path.format(**{k: getattr(v, "pk", None) for k, v in world.items()})
    before = _snapshot()

    response = getattr(api_client(user), method)(url, _body(body, world), format="json")

    assert response.status_code == expected[role_index], response.content
    if response.status_code >= 400:
        assert set(response.json()) == {"code", "detail", "errors"}
        if method != "get":
            assert _snapshot() == before


def test_lists_show_only_the_users_teams(world):
    outsider = world["people"]["outsider"]
    theirs = ProjectFactory(team=outsider.memberships.get().team, name="Theirs")
    TaskFactory(project=theirs, created_by=outsider)
    client = api_client(outsider)

    assert [p["name"] for p in client.get("/api/v1/projects/").json()["results"]] == ["Theirs"]
    assert [t["project"] for t in client.get("/api/v1/tasks/").json()["results"]] == [theirs.pk]
    assert client.get("/api/v1/templates/").json()["results"] == []


def test_a_viewer_reads_the_task_with_its_stages_in_order(world):
    response = api_client(world["people"]["viewer"]).get(f"/api/v1/tasks/{world['task'].pk}/")

    assert response.status_code == 200
    body = response.json()
    assert [s["order"] for s in body["stages"]] == [1, 2]
    assert body["stages"][0]["estimated_hours"] == float(Decimal("4.00"))
