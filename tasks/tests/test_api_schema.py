"""schemathesis against /api/v1/schema/ (OpenAPI 3.1), with every check it has:

- every operation, 100 generated requests each, valid ones and deliberately invalid ones, sent as a team
  admin with a real JWT: no server error, no status, content type or header the schema does not document,
  every body as the schema says, invalid requests refused (`negative_data_rejection`), valid requests accepted
  (`refused_only_as_documented`, below), and authentication never ignored (`ignored_auth`). Where a check
  is wrapped below, the wrapper says why.
- then stateful runs that follow the schema's links (create a task, then change, comment, stage, delete and
  restore *that* task), with the stateful checks (`use_after_free`, `ensure_resource_availability`).

A valid request may still be refused when the schema says why: 401, 403 (your role), 404 (not among what you
may see), 409 (the state of what it names) or 422 (values that do not fit together), each where the
operation documents it; never a 400, which means the input broke the schema. What the generator cannot know
is filled in for valid requests: the ids of real objects of the admin's team (an id the schema cannot list),
and no `cursor` (cursors are opaque and signed; sync/tests and tasks/tests/test_api_paging.py test them).

The operations run in parallel on the test workers (one test per operation, pytest-xdist), each from the same
rows, so the run's wall time is about half its CPU time on 2 cores (docs/performance.md, "API fuzzing").
"""

import json
import os

import pytest
import schemathesis
from django.core.exceptions import ValidationError
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test
from schemathesis import DataGenerationMethod
from schemathesis.checks import ALL_CHECKS
from schemathesis.specs.openapi import checks as openapi_checks

from aether.throttling import TokenAddressThrottle, UserRateThrottle
from tasks.filters import StrictBooleanField
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

schemathesis.experimental.OPEN_API_3_1.enable()

# 100 by default; AETHER_FUZZ_EXAMPLES=1000 for a deeper run now and then.
EXAMPLES_PER_OPERATION = int(os.environ.get("AETHER_FUZZ_EXAMPLES", "100"))
STATEFUL_RUNS, STATEFUL_STEPS = 40, 8
# No shrinking: a failure is reported as found (with its reproduction), which keeps the run's time bounded.
PHASES = [Phase.explicit, Phase.generate]
REFUSALS_OF_VALID_REQUESTS = {401, 403, 404, 409, 410, 422}


def refused_only_as_documented(ctx, response, case):
    """A valid request (by the schema) is answered 2xx or 304, or refused with a status other than 400 that
    its operation documents (schemathesis' `positive_data_acceptance`, with the refusals the schema explains)."""
    method = case.data_generation_method
    if method is None or not method.is_positive:
        return None
    status = response.status_code
    documented = {str(code) for code in case.operation.definition.raw.get("responses", {})}
    if 200 <= status < 300 or status == 304 or (status in REFUSALS_OF_VALID_REQUESTS and str(status) in documented):
        return None
    raise AssertionError(f"A request the schema calls valid was refused with {status}: {response.text[:500]}")


def negative_data_rejection(ctx, response, case):
    """schemathesis' check, except where the only thing wrong is a parameter the operation does not have (which
    servers ignore, as schemathesis means to allow): its own exception for that compares query values with
    their schemas before they are read as numbers, so `?page_size=70&junk=1` looked invalid beyond the junk."""
    if _only_unknown_parameters(case):
        return None
    return openapi_checks.negative_data_rejection(ctx, response, case)


def _only_unknown_parameters(case) -> bool:
    """Whether every parameter the operation declares has a value its schema allows, as the server reads it:
    schemathesis marks each location of a case "negative" even where it found nothing to negate (no
    parameters there, or a header that takes any text), leaving only unknown parameters, or nothing, wrong."""
    meta = case.meta
    if meta is None or (meta.body and meta.body.is_negative and case.operation.body):
        return False
    locations = (
        ("path", case.path_parameters),
        ("query", case.query),
        ("header", case.headers),
        ("cookie", case.cookies),
    )
    for location, values in locations:
        known = {
            p.name: p.definition.get("schema", {}) for p in case.operation.iter_parameters() if p.location == location
        }
        for name, value in (values or {}).items():
            # A None is not sent at all: the request has no such parameter.
            if name in known and value is not None and not _valid(known[name], value):
                return False
    return True


def _valid(schema: dict, value) -> bool:
    """Whether a parameter's value, as the server reads it from its text, fits its schema."""
    from jsonschema import Draft202012Validator

    kinds = schema.get("type")
    if isinstance(value, list) and kinds != "array" and len([v for v in value if v is not None]) == 1:
        # `[False, None]` goes out as `?at_risk=False`, one value (a None is not sent): the server reads that.
        (value,) = (v for v in value if v is not None)
    if isinstance(value, bool) and kinds == "boolean":
        return True  # sent as True or False, which the filters read (below)
    if isinstance(value, str) and kinds == "boolean":
        # As the filters read a boolean (tasks/filters.py StrictBooleanField): true/false/1/0 in any case, or
        # empty for "either"; schemathesis' own check took `?at_risk=False` for a value the server should refuse.
        try:
            StrictBooleanField().to_python(value)
        except ValidationError:
            return False
        return True
    if isinstance(value, str) and kinds in ("integer", "number"):
        try:
            value = {"integer": int, "number": float}[kinds](value)
        except (ValueError, KeyError):
            return False
    return Draft202012Validator(schema).is_valid(value)


def use_after_free(ctx, response, case):
    """schemathesis' check, except for the operations that bring a deleted thing back by design: restoring a
    task from the trash, and setting a repeat rule again after stopping it."""
    if case.operation.method.upper() in ("POST", "PUT"):
        return None
    return openapi_checks.use_after_free(ctx, response, case)


def ensure_resource_availability(ctx, response, case):
    """schemathesis' check for what it is about, a created thing not found (404, 410); a 409 or 422 on it is a
    refusal of what was asked of it, which the other checks judge."""
    if response.status_code not in (404, 410):
        return None
    return openapi_checks.ensure_resource_availability(ctx, response, case)


_auth_checked: dict[str, int] = {}


def ignored_auth(ctx, response, case):
    """schemathesis' check (authentication declared is authentication enforced: the request again without the
    token, then with a made-up one, must be a 401), on the first three successful answers of each operation:
    each check sends three more requests, and the hundredth says nothing the third did not."""
    if not 200 <= response.status_code < 300 or _auth_checked.get(case.operation.verbose_name, 0) >= 3:
        return None
    _auth_checked[case.operation.verbose_name] = _auth_checked.get(case.operation.verbose_name, 0) + 1
    return openapi_checks.ignored_auth(ctx, response, case)


WRAPPED = ("negative_data_rejection", "ignored_auth")
CHECKS = (
    *(c for c in ALL_CHECKS if c.__name__ not in WRAPPED),
    negative_data_rejection,
    ignored_auth,
    refused_only_as_documented,
)
STATEFUL_CHECKS = (*CHECKS, use_after_free, ensure_resource_availability)


def _schema_document() -> dict:
    """The schema the API serves at /api/v1/schema/, made here, without a request: so that each operation is a
    test of its own (the test workers share them out), not one test that walks them all."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    return json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))


DOCUMENT = _schema_document()
APP = get_wsgi_application()
schema = schemathesis.from_dict(DOCUMENT, app=APP, data_generation_methods=DataGenerationMethod.all())


@pytest.fixture(autouse=True)
def _fuzzable(db, settings, monkeypatch):
    settings.ALLOWED_HOSTS = ["localhost"]  # schemathesis's default host
    # Thousands of requests a minute from one user and one address: lift the limits so that none is a 429.
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {**UserRateThrottle.THROTTLE_RATES, "user": "1000000/min"})
    monkeypatch.setattr(
        TokenAddressThrottle, "THROTTLE_RATES", {**TokenAddressThrottle.THROTTLE_RATES, "token_address": "1000000/min"}
    )
    settings.AETHER_SIGNIN_PAIR_LIMIT = settings.AETHER_SIGNIN_ACCOUNT_LIMIT = 1_000_000
    # As Django's test client does: a request's end must not close the connection that holds the test's
    # transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def admin_world(team_roles):
    team, _other, people = team_roles
    admin = people["admin"]
    project = ProjectFactory(team=team)
    task = TaskFactory(project=project, created_by=admin, assignee=admin)
    stage = StageFactory(task=task, order=1)
    StageFactory(task=task, order=2)
    label = LabelFactory(team=team)
    task.labels.add(label)
    comment = Comment.objects.create(task=task, author=admin, body="Hello")
    Activity.objects.create(task=task, actor=admin, verb=Activity.Verb.CREATED)
    template = TemplateFactory(team=team)
    TemplateStageFactory(template=template, order=1)
    path_ids = {
        "/api/v1/projects/": project.pk,
        "/api/v1/tasks/": task.pk,
        "/api/v1/stages/": stage.pk,
        "/api/v1/comments/": comment.pk,
    }
    ids = {
        "project": project.pk,
        "team": team.pk,
        "template": template.pk,
        "assignee": admin.pk,
        "label": label.pk,
        "labels": [label.pk],
    }
    return access_token_for(admin), path_ids, ids


def fill_in_real_ids(case, path_ids: dict, ids: dict) -> None:
    """For a valid request: the ids of real objects of the admin's team where it names one, and no cursor."""
    if case.path_parameters and "id" in case.path_parameters:
        real = next((v for prefix, v in path_ids.items() if case.path.startswith(prefix)), None)
        if real is not None:  # notifications: the generated ids (the admin has none yet)
            case.path_parameters["id"] = real
    if isinstance(case.body, dict):
        for key, value in ids.items():
            if key in case.body and not (key != "labels" and case.body[key] is None):
                case.body[key] = value
    if case.query:
        case.query.pop("cursor", None)
        for key in ("project", "team", "label"):
            if key in case.query:
                case.query[key] = ids[key]
        if "assignee" in case.query and case.query["assignee"] != "me":
            case.query["assignee"] = ids["assignee"]


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
def test_every_operation_answers_as_documented(case, admin_world):
    token, path_ids, ids = admin_world
    if case.data_generation_method is not None and case.data_generation_method.is_positive:
        fill_in_real_ids(case, path_ids, ids)
    auth = {"Authorization": f"Bearer {token}"}
    _authenticate(case, auth)
    response = case.call()
    _drain(response)
    case.validate_response(response, checks=CHECKS, headers=auth)


def _authenticate(case, auth: dict) -> None:
    """The admin's token, in the case itself (where `ignored_auth` takes it out again), and no session cookie:
    the CSV also takes the browser's session, and a generated `sessionid` beside a good token would read, to
    `ignored_auth`, as a made-up credential that was let through."""
    case.headers = {**(case.headers or {}), **auth}
    if case.cookies:
        case.cookies.pop("sessionid", None)


def _drain(response) -> None:
    """Read a streamed body (the CSV export) to its end and close it, as a WSGI server does: an unread COPY
    stream would keep the test's one database connection busy, and the next request would wait on it."""
    response.get_data()
    response.close()


@pytest.mark.slow
def test_sequences_that_follow_the_schemas_links_answer_as_documented(admin_world):
    """Valid requests only (so that creates succeed and their links can be followed), the admin's own ids."""
    token, path_ids, ids = admin_world
    positive = schemathesis.from_dict(DOCUMENT, app=APP, data_generation_methods=[DataGenerationMethod.positive])
    auth = {"Authorization": f"Bearer {token}"}

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
            path_id = (case.path_parameters or {}).get("id")
            fill_in_real_ids(case, path_ids, ids)
            if path_id is not None and case.source is not None:  # an id a link carried from a created object
                case.path_parameters["id"] = path_id
            _authenticate(case, auth)

        def validate_response(self, response, case, additional_checks=()):
            _drain(response)
            case.validate_response(response, checks=STATEFUL_CHECKS, headers=auth)

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
