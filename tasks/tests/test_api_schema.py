"""schemathesis against /api/v1/schema/: every operation, 100 generated requests each (valid ones and
deliberately invalid ones), sent as a team member with a real JWT; then stateful runs that follow the schema's
links (create a task, then change, comment, stage, delete and restore *that* task). No answer may be a server
error, and every answer must match what the schema documents for its status code.

Path ids are half the time those of real objects of the member's team, so the requests reach the views'
logic and not only their 404s."""

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test
from schemathesis import DataGenerationMethod
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from aether.throttling import UserRateThrottle
from tasks.models import Activity, Comment
from tasks.tests.api_helpers import access_token_for
from tasks.tests.factories import (
    LabelFactory,
    ProjectFactory,
    StageFactory,
    TaskFactory,
    TemplateFactory,
    TemplateStageFactory,
)

# 100 by default (about 4 minutes on 2 quiet cores); AETHER_FUZZ_EXAMPLES=1000 for a deeper run now and then.
EXAMPLES_PER_OPERATION = int(os.environ.get("AETHER_FUZZ_EXAMPLES", "100"))
STATEFUL_RUNS, STATEFUL_STEPS = 40, 8
# No shrinking: a failure is reported as found (with its reproduction), which keeps the run's time bounded.
PHASES = [Phase.explicit, Phase.generate]


@pytest.fixture
def api_schema(db, settings, monkeypatch):
    settings.ALLOWED_HOSTS = ["localhost"]  # schemathesis's default host
    # Thousands of requests a minute from one user: the per-user throttle would answer most of them 429.
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {**UserRateThrottle.THROTTLE_RATES, "user": "100000/min"})
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
    phases=PHASES,
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
    _drain(response)
    case.validate_response(response, checks=(not_a_server_error, response_schema_conformance))


def _drain(response) -> None:
    """Read a streamed body (the CSV export) to its end and close it, as a WSGI server does: an unread COPY
    stream would keep the test's one database connection busy, and the next request would wait on it."""
    response.get_data()
    response.close()


@pytest.mark.slow
def test_sequences_that_follow_the_schemas_links_answer_as_documented(api_schema, member_world):
    """Valid requests only (so that creates succeed and their links can be followed), the member's own ids."""
    token, _path_ids, body_ids, label_id = member_world
    positive = schemathesis.from_wsgi(
        "/api/v1/schema/", api_schema.app, data_generation_methods=[DataGenerationMethod.positive]
    )

    class Links(positive.as_state_machine()):
        def _add_results_to_targets(self, targets, results):
            # schemathesis 3 files each answer under the link it can feed (`_add_result_to_targets`), but the
            # hypothesis pinned here calls the plural method, which put every answer in "catch_all": then the
            # entry rules' precondition (no link waiting) never held again. Restore schemathesis' filing.
            for result in results:
                target = self._get_target_for_result(result) if result is not None else None
                if target is not None:
                    super()._add_results_to_targets((target,), [result])

        # Each run starts from the same rows: what one sequence created must not change the answers (and so
        # the links hypothesis can follow) of the next, or its replays draw differently from the first run.
        def setup(self):
            self._savepoint = transaction.savepoint()

        def teardown(self):
            transaction.savepoint_rollback(self._savepoint)

        def before_call(self, case):
            if isinstance(case.body, dict):
                for key, real in body_ids.items():
                    if key in case.body:
                        case.body[key] = real
                if isinstance(case.body.get("labels"), list):
                    case.body["labels"] = [label_id]

        def get_call_kwargs(self, case):
            return {"headers": {"Authorization": f"Bearer {token}"}}

        def validate_response(self, response, case, additional_checks=()):
            _drain(response)
            case.validate_response(response, checks=(not_a_server_error, response_schema_conformance))

    run_state_machine_as_test(
        Links,
        settings=settings(
            max_examples=STATEFUL_RUNS,
            stateful_step_count=STATEFUL_STEPS,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=PHASES,
        ),
    )
