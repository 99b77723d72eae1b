"""Atomicity under faults: every service, failing right after its first write, leaves nothing behind.

A fault is injected at the database: the service's first INSERT/UPDATE/DELETE runs, and the next statement it
sends raises. Then every row of accounts, tasks, notifications and analytics is compared with before (no task
change, no Activity, no outbox row, no notification, no kept figure). A service whose whole write is one
statement has nothing to tear and is checked to be just that.

To cover a new service, add one line to CASES: its name and a function that takes the `world` and returns a
call that succeeds when no fault is injected (the control run checks it does, and that it writes).
"""

from __future__ import annotations

import inspect
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import connection

import accounts.services
import tasks.services
from accounts.models import Role
from accounts.tests.factories import MembershipFactory, TeamFactory, UserFactory, token_of
from tasks.models import Status, Task
from tasks.tests.factories import LabelFactory, ProjectFactory, StageFactory, TaskFactory, TemplateFactory

pytestmark = pytest.mark.django_db

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b|^\s*WITH\b.*\b(INSERT|UPDATE|DELETE)\b", re.I | re.S)
SAVEPOINT = re.compile(r"^\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)\b", re.I)


class InjectedFault(Exception):
    pass


class FaultAfterFirstWrite:
    """connection.execute_wrapper: lets the first write through, raises on the next statement."""

    def __init__(self, *, inject: bool = True):
        self.inject = inject
        self.writes = 0
        self.injected = False

    def __call__(self, execute, sql, params, many, context):
        if SAVEPOINT.match(sql):
            return execute(sql, params, many, context)
        if self.writes and self.inject:
            self.injected = True
            raise InjectedFault(f"after the first write, at: {sql[:80]}")
        result = execute(sql, params, many, context)
        if WRITE.match(sql):
            self.writes += 1
        return result


# A second-factor device's counters (its last code, its slowing down after wrong codes) are written by django-otp
# in their own commit on purpose: a wrong code must stay counted whatever happens next. They are not the change.
DEVICE_COUNTERS = {"last_t", "drift", "throttling_failure_count", "throttling_failure_timestamp", "last_used_at"}


def snapshot() -> dict:
    rows = {}
    for label in ("accounts", "tasks", "notifications", "analytics", "otp_totp", "otp_static"):
        for model in apps.get_app_config(label).get_models():
            rows[model._meta.label] = [
                {k: v for k, v in row.items() if k not in DEVICE_COUNTERS}
                for row in model.objects.order_by("pk").values()
            ]
    return rows


# --- the world every case starts from ---------------------------------------------------------------------


@pytest.fixture
def world(db):
    team = TeamFactory(name="Acme")
    owner = MembershipFactory(team=team, role=Role.OWNER, user=UserFactory(email="owner@acme.test")).user
    member = MembershipFactory(team=team, role=Role.MEMBER, user=UserFactory(email="member@acme.test")).user
    project = ProjectFactory(team=team)
    task = TaskFactory(project=project, created_by=owner, assignee=member)
    staged = TaskFactory(project=project, created_by=owner, assignee=member)
    stages = [StageFactory(task=staged, order=i) for i in (1, 2)]
    template = TemplateFactory(team=team, created_by=owner)
    return {
        "team": team,
        "owner": owner,
        "member": member,
        "project": project,
        "empty_project": ProjectFactory(team=team),
        "task": task,
        "staged": staged,
        "stages": stages,
        "label": LabelFactory(team=team),
        "template": template,
        "invitation": accounts.services.invitation_create(actor=owner, team=team, email="new@acme.test"),
        "root": UserFactory(email="root@example.test", is_staff=True, is_superuser=True),
    }


T, A = tasks.services, accounts.services
CASES = {
    # tasks
    "task_create": lambda w: (
        lambda: T.task_create(
            actor=w["owner"],
            project=w["project"],
            title="New",
            assignee=w["member"],
            labels=[w["label"]],
            stages=[{"name": "One", "estimated_hours": "2"}, {"name": "Two", "estimated_hours": "3"}],
        )
    ),
    "task_update": lambda w: (
        lambda: T.task_update(
            actor=w["owner"],
            task=w["task"],
            data={"title": "Renamed", "assignee": w["owner"], "priority": 3, "description": "For @member"},
        )
    ),
    "task_assign": lambda w: lambda: T.task_assign(actor=w["owner"], task=w["task"], assignee=w["owner"]),
    "task_set_status": lambda w: (
        lambda: T.task_set_status(actor=w["member"], task=w["task"], status=Status.IN_PROGRESS)
    ),
    "task_complete": lambda w: lambda: T.task_complete(actor=w["member"], task=w["task"]),
    "task_reopen": lambda w: _then(
        T.task_complete(actor=w["member"], task=w["task"]), lambda: T.task_reopen(actor=w["member"], task=w["task"])
    ),
    "task_delete": lambda w: lambda: T.task_delete(actor=w["owner"], task=w["task"]),
    "task_restore": lambda w: _then(
        T.task_delete(actor=w["owner"], task=w["task"]), lambda: T.task_restore(actor=w["owner"], task=w["task"])
    ),
    "comment_create": lambda w: lambda: T.comment_create(actor=w["owner"], task=w["task"], body="Hello @member"),
    "comment_update": lambda w: (
        lambda c: lambda: T.comment_update(actor=w["owner"], comment=c, body="Hello again @member")
    )(T.comment_create(actor=w["owner"], task=w["task"], body="Hello")),
    "comment_delete": lambda w: (lambda c: lambda: T.comment_delete(actor=w["owner"], comment=c))(
        T.comment_create(actor=w["owner"], task=w["task"], body="Hello")
    ),
    "recurrence_set": lambda w: (
        lambda: T.recurrence_set(actor=w["member"], task=w["task"], rule="FREQ=WEEKLY;BYDAY=MO,TH")
    ),
    "recurrence_stop": lambda w: _then(
        T.recurrence_set(actor=w["owner"], task=w["task"], rule="FREQ=DAILY"),
        lambda: T.recurrence_stop(actor=w["member"], task=w["task"]),
    ),
    # the job's service: two dates due (9 and 10 June), two new tasks with stages and notices
    "recurrence_occurrences_create": lambda w: _then(
        (
            Task.objects.filter(pk=w["staged"].pk).update(due_date=date(2026, 6, 8)),
            w["staged"].refresh_from_db(),
            T.recurrence_set(
                actor=w["owner"], task=w["staged"], rule="FREQ=DAILY", now=datetime(2026, 6, 8, tzinfo=UTC)
            ),
        ),
        lambda: T.recurrence_occurrences_create(task=w["staged"], now=datetime(2026, 6, 10, 12, tzinfo=UTC)),
    ),
    # stages
    "stage_add": lambda w: lambda: T.stage_add(actor=w["owner"], task=w["staged"], name="Three", estimated_hours="1"),
    "stage_update": lambda w: (
        lambda: T.stage_update(
            actor=w["owner"], stage=w["stages"][0], data={"name": "First", "estimated_hours": Decimal("5")}
        )
    ),
    "stage_start": lambda w: lambda: T.stage_start(actor=w["member"], stage=w["stages"][0]),
    "stage_complete": lambda w: _then(
        T.stage_complete(actor=w["member"], stage=w["stages"][0], actual_hours="1"),
        lambda: T.stage_complete(actor=w["member"], stage=w["stages"][1], actual_hours="2"),  # completes the task
    ),
    "stage_reopen": lambda w: _then(
        T.stage_complete(actor=w["member"], stage=w["stages"][0], actual_hours="1"),
        lambda: T.stage_reopen(actor=w["member"], stage=w["stages"][0]),
    ),
    "stage_set_status": lambda w: (
        lambda: T.stage_set_status(actor=w["member"], stage=w["stages"][0], status=Status.COMPLETED, actual_hours="2")
    ),
    "task_complete_with_stages": lambda w: (
        lambda: T.task_complete_with_stages(
            actor=w["member"], task=w["staged"], actual_hours={s.pk: "1.5" for s in w["stages"]}
        )
    ),
    "stage_delete": lambda w: lambda: T.stage_delete(actor=w["owner"], stage=w["stages"][0]),
    "stages_reorder": lambda w: (
        lambda: T.stages_reorder(actor=w["owner"], task=w["staged"], stage_ids=[w["stages"][1].pk, w["stages"][0].pk])
    ),
    # projects, labels, templates
    "project_create": lambda w: lambda: T.project_create(actor=w["owner"], team=w["team"], name="Fresh"),
    "project_update": lambda w: (
        lambda: T.project_update(
            actor=w["owner"], project=w["project"], data={"name": "Renamed", "description": "New words"}
        )
    ),
    "project_delete": lambda w: lambda: T.project_delete(actor=w["owner"], project=w["empty_project"]),
    "label_create": lambda w: lambda: T.label_create(actor=w["owner"], team=w["team"], name="urgent"),
    "label_update": lambda w: (
        lambda: T.label_update(actor=w["owner"], label=w["label"], data={"name": "renamed", "color": "#000000"})
    ),
    "label_delete": lambda w: _then(
        T.task_update(actor=w["owner"], task=w["task"], data={"labels": [w["label"]]}),
        lambda: T.label_delete(actor=w["owner"], label=w["label"]),
    ),
    "task_label_create": lambda w: lambda: T.task_label_create(actor=w["owner"], task=w["task"], name="urgent"),
    "template_save": lambda w: (
        lambda: T.template_save(
            actor=w["owner"],
            team=w["team"],
            name="Release",
            template=w["template"],
            stages=[{"name": "Build", "estimated_hours": "2"}, {"name": "Ship", "estimated_hours": "1"}],
        )
    ),
    "template_delete": lambda w: lambda: T.template_delete(actor=w["owner"], template=w["template"]),
    # accounts
    "user_create": lambda w: lambda: A.user_create(email="fresh@acme.test", password="a-Long-pass-1"),
    "team_create": lambda w: lambda: A.team_create(owner=w["member"], name="Beta"),
    "membership_set_role": lambda w: (
        lambda: A.membership_set_role(actor=w["owner"], team=w["team"], user=w["member"], role=Role.ADMIN)
    ),
    "membership_add": lambda w: (lambda u: lambda: A.membership_add(actor=w["owner"], team=w["team"], user=u))(
        UserFactory(email="new@acme.test")
    ),
    "team_update": lambda w: lambda: A.team_update(actor=w["owner"], team=w["team"], data={"name": "Acme Two"}),
    "profile_update": lambda w: lambda: A.profile_update(actor=w["member"], full_name="Renamed Member"),
    "calendar_feed_reset": lambda w: lambda: A.calendar_feed_reset(actor=w["member"]),
    "membership_remove": lambda w: lambda: A.membership_remove(actor=w["owner"], team=w["team"], user=w["member"]),
    "invitation_create": lambda w: (
        lambda: A.invitation_create(actor=w["owner"], team=w["team"], email="someone@acme.test", role=Role.VIEWER)
    ),
    "invitation_revoke": lambda w: lambda: A.invitation_revoke(actor=w["owner"], invitation=w["invitation"]),
    "invitation_accept": lambda w: (
        lambda: A.invitation_accept(token=token_of(w["invitation"]), password="a-Long-pass-1", full_name="New Person")
    ),
    "password_reset_request": lambda w: lambda: A.password_reset_request(email="member@acme.test"),
    "password_set": lambda w: lambda: A.password_set(actor=w["member"], user=w["member"], password="A-new-pass-99"),
    "user_update": lambda w: lambda: A.user_update(actor=w["root"], user=w["member"], data={"full_name": "Renamed"}),
    "user_deactivate": lambda w: lambda: A.user_deactivate(actor=w["root"], user=w["member"]),
    "user_reactivate": lambda w: _then(
        A.user_deactivate(actor=w["root"], user=w["member"]),
        lambda: A.user_reactivate(actor=w["root"], user=w["member"]),
    ),
    "second_factor_begin": lambda w: lambda: A.second_factor_begin(actor=w["member"]),
    "second_factor_confirm": lambda w: (
        lambda d: lambda: A.second_factor_confirm(actor=w["member"], device_id=d.pk, code=_code(d))
    )(A.second_factor_begin(actor=w["member"])),
    "second_factor_remove": lambda w: (
        lambda d: lambda: A.second_factor_remove(actor=w["member"], password="pw-for-tests-1", code=_code(d))
    )(_enrolled(w["member"])),
    "second_factor_reset": lambda w: _then(
        _enrolled(w["member"]), lambda: A.second_factor_reset(actor=w["root"], user=w["member"])
    ),
}


def _code(device) -> str:
    """A code of the device's authenticator app that the device has not accepted yet."""
    import base64

    import pyotp

    device.refresh_from_db()
    device.last_t = -1
    device.save(update_fields=["last_t"])
    return pyotp.TOTP(base64.b32encode(device.bin_key).decode()).now()


def _enrolled(user):
    device = A.second_factor_begin(actor=user)
    A.second_factor_confirm(actor=user, device_id=device.pk, code=_code(device))
    return device


def _then(_setup_result, call):
    """A case whose service needs an earlier step (done, unwatched, while the case is built)."""
    return call


def _public_services(module) -> set[str]:
    return {
        name
        for name, obj in inspect.getmembers(module, inspect.isfunction)
        if not name.startswith("_") and obj.__module__.startswith(module.__name__) and "_" in name
    }


# Public functions of the service modules that write nothing (helpers the views share).
NOT_WRITERS = {"actual_hours_field", "mentioned_members"}


def test_every_service_has_a_case():
    services = (_public_services(tasks.services) | _public_services(accounts.services)) - NOT_WRITERS
    missing = sorted(services - set(CASES))
    assert not missing, f"Add a line to CASES in {__file__} for: {', '.join(missing)}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_fault_after_the_first_write_leaves_nothing_behind(world, name, django_capture_on_commit_callbacks):
    call = CASES[name](world)
    before = snapshot()
    fault = FaultAfterFirstWrite()

    raised = False
    with django_capture_on_commit_callbacks() as callbacks, connection.execute_wrapper(fault):
        try:
            call()
        except InjectedFault:
            raised = True

    if fault.injected:
        assert raised, "the service swallowed the failure and went on"
        assert snapshot() == before
        assert callbacks == []  # nothing queued for after a commit that never came
    else:
        assert fault.writes == 1, "the service wrote nothing: the case is not a real call"
        # A single statement is atomic by itself; the control run below checks the case is a real one.


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_control_run_succeeds_and_writes(world, name):
    """Without a fault the same call succeeds and changes rows: the cases above test real calls."""
    call = CASES[name](world)
    before = snapshot()
    counter = FaultAfterFirstWrite(inject=False)

    with connection.execute_wrapper(counter):
        call()

    assert counter.writes >= 1
    assert snapshot() != before
