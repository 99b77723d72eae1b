"""Bad input never gives a 500: each kind is a 400 (or 404/415) in the one error shape, naming the field, and
changes nothing."""

import pytest

from tasks.models import Activity, Stage, Task
from tasks.tests.api_helpers import api_client, error_fields
from tasks.tests.factories import ProjectFactory, StageFactory, TaskFactory

HUGE = 10**20  # past PostgreSQL's bigint


@pytest.fixture
def setup(team_roles):
    team, _other, people = team_roles
    project = ProjectFactory(team=team)
    task = TaskFactory(project=project)
    stage = StageFactory(task=task, order=1)
    return {"project": project, "task": task, "stage": stage, "client": api_client(people["member"])}


def _counts():
    return Task.objects.count(), Stage.objects.count(), Activity.objects.count()


def test_malformed_json_is_a_parse_error(setup):
    before = _counts()

    response = setup["client"].post("/api/v1/tasks/", '{"title": ', content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert response.json()["errors"] == []
    assert _counts() == before


def test_a_body_that_is_not_an_object_is_refused(setup):
    response = setup["client"].post("/api/v1/tasks/", [1, 2], format="json")

    assert response.status_code == 400
    assert error_fields(response) == [None]


def test_a_form_body_is_an_unsupported_media_type(setup):
    response = setup["client"].post("/api/v1/tasks/", "title=x", content_type="application/x-www-form-urlencoded")

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": {"not": "a string"}}, "title"),
        ({"title": None}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "nul\x00byte"}, "title"),
        ({"description": "x" * 20001}, "description"),
        ({"project": "abc"}, "project"),
        ({"project": 999_999_999}, "project"),
        ({"project": HUGE}, "project"),
        ({"assignee": HUGE}, "assignee"),
        ({"labels": "bug"}, "labels"),
        ({"labels": [HUGE]}, "labels"),
        ({"template": 999_999_999}, "template"),
        ({"priority": "extreme"}, "priority"),
        ({"priority": 3}, "priority"),
        ({"due_date": "2024-02-30"}, "due_date"),
        ({"due_date": "tomorrow"}, "due_date"),
        ({"stages": [{"name": "A", "estimated_hours": "abc"}]}, "stages.0.estimated_hours"),
        ({"stages": [{"name": "A", "estimated_hours": 0}]}, "stages.0.estimated_hours"),
        ({"stages": [{"name": "A", "estimated_hours": 1e12}]}, "stages.0.estimated_hours"),
        ({"stages": [{"name": "A", "estimated_hours": 0.004}]}, "stages.0.estimated_hours"),  # below 0.01 as given
        ({"stages": [{"name": "x" * 121, "estimated_hours": 1}]}, "stages.0.name"),
        ({"stages": [{"estimated_hours": 1}]}, "stages.0.name"),
        ({"stages": [{"name": "A", "estimated_hours": 1}] * 51}, "stages"),
        ({"stages": "A, B"}, "stages"),
    ],
)
def test_bad_task_fields_name_the_field(setup, change, field):
    before = _counts()
    body = {"project": setup["project"].pk, "title": "Fine", **change}

    response = setup["client"].post("/api/v1/tasks/", body, format="json")

    assert response.status_code == 400, response.content
    assert error_fields(response) == [field]
    assert _counts() == before


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ({"status": "done"}, "status", 400),
        ({"actual_hours": -1}, "actual_hours", 400),
        ({"actual_hours": "many"}, "actual_hours", 400),
        ({"estimated_hours": 0}, "estimated_hours", 400),
        ({"name": ""}, "name", 400),
        ({"status": "completed"}, "actual_hours", 409),  # well-formed; the stage has no hours recorded yet
    ],
)
def test_bad_stage_changes_name_the_field(setup, body, field, status):
    before = list(Stage.objects.values())

    response = setup["client"].patch(f"/api/v1/stages/{setup['stage'].pk}/", body, format="json")

    assert response.status_code == status
    assert error_fields(response) == [field]
    assert list(Stage.objects.values()) == before


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/tasks/{task}/comments/", {"body": ""}, "body"),
        ("/api/v1/tasks/{task}/comments/", {"body": "x" * 10001}, "body"),
        ("/api/v1/tasks/{task}/stages/", {"name": "QA", "estimated_hours": -2}, "estimated_hours"),
        ("/api/v1/projects/", {"team": HUGE, "name": "P"}, "team"),
        ("/api/v1/templates/", {"team": "acme", "name": "T", "stages": []}, "team"),
    ],
)
def test_bad_input_to_other_writes_names_the_field(setup, path, body, field):
    response = setup["client"].post(path.format(task=setup["task"].pk), body, format="json")

    assert response.status_code == 400
    assert field in error_fields(response)


@pytest.mark.parametrize(
    "path",
    ["/api/v1/tasks/{huge}/", "/api/v1/stages/{huge}/", "/api/v1/projects/{huge}/", "/api/v1/tasks/{huge}/activity/"],
)
def test_an_id_past_the_column_range_is_a_404(setup, path):
    response = setup["client"].get(path.format(huge=HUGE))

    assert response.status_code in (404, 405)
    assert response.json()["code"] in ("not_found", "method_not_allowed")


def test_patch_with_an_unknown_assignee_changes_nothing(setup):
    task = setup["task"]

    response = setup["client"].patch(
        f"/api/v1/tasks/{task.pk}/", {"title": "New title", "assignee": 999_999_999}, format="json"
    )

    assert response.status_code == 400
    assert error_fields(response) == ["assignee"]
    task.refresh_from_db()
    assert task.title != "New title"


def test_a_lone_surrogate_in_a_string_is_a_400(setup):
    body = '{"project": PROJECT, "title": "bad \\ud800 text"}'.replace("PROJECT", str(setup["project"].pk))

    response = setup["client"].post("/api/v1/tasks/", body, content_type="application/json")

    assert response.status_code == 400
    assert not Task.objects.filter(title__startswith="bad").exists()
