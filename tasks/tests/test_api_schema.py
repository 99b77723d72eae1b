"""schemathesis against /api/v1/schema/: every operation, a bounded number of generated requests each (valid
ones and deliberately invalid ones), sent as a team member with a real JWT. No answer may be a server error,
and every answer must match what the schema documents for its status code.

Path ids are half the time those of real objects of the member's team, so the requests reach the views'
logic and not only their 404s."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis import DataGenerationMethod
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tasks.models import Activity, Comment
from tasks.tests.api_helpers import access_token_for, fresh_throttles  # noqa: F401
from tasks.tests.factories import (
    LabelFactory,
    ProjectFactory,
    StageFactory,
    TaskFactory,
    TemplateFactory,
    TemplateStageFactory,
)

EXAMPLES_PER_OPERATION = 15


@pytest.fixture
def api_schema(db, settings):
    settings.ALLOWED_HOSTS = ["localhost"]  # schemathesis's default host
    # As Django's test client does: a request's end must not close the connection that holds the test's
    # transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.from_wsgi(
            "/api/v1/schema/", get_wsgi_application(), data_generation_methods=DataGenerationMethod.all()
        )
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


schema = schemathesis.from_pytest_fixture("api_schema")


@pytest.fixture
def member_world(team_roles):
    team, _other, people = team_roles
    member = people["member"]
    project = ProjectFactory(team=team)
    task = TaskFactory(project=project, created_by=member, assignee=member)
    stage = StageFactory(task=task, order=1)
    StageFactory(task=task, order=2)
    label = LabelFactory(team=team)
    task.labels.add(label)
    Comment.objects.create(task=task, author=member, body="Hello")
    Activity.objects.create(task=task, actor=member, verb=Activity.Verb.CREATED)
    template = TemplateFactory(team=team)
    TemplateStageFactory(template=template, order=1)
    path_ids = {"/api/v1/projects/": project.pk, "/api/v1/tasks/": task.pk, "/api/v1/stages/": stage.pk}
    body_ids = {"project": project.pk, "team": team.pk, "template": template.pk, "assignee": member.pk}
    return access_token_for(member), path_ids, body_ids, label.pk


def _real_half_the_time(value, real):
    """The real id when hypothesis drew an even number; its own (most likely unknown) id otherwise."""
    return real if isinstance(value, int) and not isinstance(value, bool) and value % 2 == 0 else value


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented(case, member_world):
    token, path_ids, body_ids, label_id = member_world
    if case.path_parameters and "id" in case.path_parameters:
        real = next((v for prefix, v in path_ids.items() if case.path.startswith(prefix)), None)
        if real is not None:  # other apps' endpoints (notifications, ...) get the generated ids
            case.path_parameters["id"] = _real_half_the_time(case.path_parameters["id"], real)
    if isinstance(case.body, dict):
        for key, real in body_ids.items():
            if key in case.body:
                case.body[key] = _real_half_the_time(case.body[key], real)
        if isinstance(case.body.get("labels"), list) and len(case.body["labels"]) % 2 == 0:
            case.body["labels"] = [label_id]

    response = case.call(headers={"Authorization": f"Bearer {token}"})

    case.validate_response(response, checks=(not_a_server_error, response_schema_conformance))
