"""The stage state machine (tasks/services/lifecycle.py) behind its one service, `stage_set_status`, and the
API and the HTML stage views reaching it only through that service."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from tasks import services
from tasks.models import Activity, Stage, Status
from tasks.tests.api_helpers import api_client, error_fields
from tasks.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(team_roles):
    return team_roles[2]["member"]


@pytest.fixture
def task(team_roles, member):
    project = ProjectFactory(team=team_roles[0])
    task, _ = services.task_create(
        actor=member,
        project=project,
        title="Ship it",
        stages=[{"name": "Design", "estimated_hours": 4}, {"name": "Build", "estimated_hours": 8}],
    )
    return task


def state(task):
    """Everything a refused change must leave as it was."""
    task.refresh_from_db()
    stages = list(task.stages.order_by("order").values_list("status", "actual_hours", "started_at", "completed_at"))
    return task.status, task.started_at, task.completed_at, stages, Activity.objects.count()


def new_verbs(task, before: int):
    return list(task.activities.order_by("id").values_list("verb", flat=True)[before:])


def test_pending_to_in_progress_starts_and_back_to_pending_is_refused(task, member):
    stage = task.stages.get(order=1)
    services.stage_set_status(actor=member, stage=stage, status=Status.IN_PROGRESS)
    stage.refresh_from_db()
    assert stage.status == Status.IN_PROGRESS
    assert stage.started_at is not None
    before = state(task)

    with pytest.raises(ValidationError) as err:
        services.stage_set_status(actor=member, stage=stage, status=Status.PENDING)

    assert err.value.message_dict == {"status": ["A started stage cannot go back to pending."]}
    assert state(task) == before


def test_the_same_status_is_no_change(task, member):
    stage = task.stages.get(order=1)
    before = state(task)

    services.stage_set_status(actor=member, stage=stage, status=Status.PENDING)

    assert state(task) == before


def test_an_unknown_status_is_refused_naming_status(task, member):
    before = state(task)
    with pytest.raises(ValidationError) as err:
        services.stage_set_status(actor=member, stage=task.stages.get(order=1), status="done")
    assert list(err.value.message_dict) == ["status"]
    assert state(task) == before


def test_completing_a_pending_stage_starts_it_and_needs_hours(task, member):
    stage = task.stages.get(order=1)
    before = state(task)
    with pytest.raises(ValidationError) as err:
        services.stage_set_status(actor=member, stage=stage, status=Status.COMPLETED)
    assert list(err.value.message_dict) == ["actual_hours"]
    assert state(task) == before
    count = task.activities.count()

    services.stage_set_status(actor=member, stage=stage, status=Status.COMPLETED, actual_hours="2.5")

    stage.refresh_from_db()
    assert (stage.status, stage.actual_hours) == (Status.COMPLETED, Decimal("2.50"))
    assert stage.started_at == stage.completed_at
    assert new_verbs(task, count) == [Activity.Verb.STAGE_COMPLETED, Activity.Verb.STATUS_CHANGED]


def test_completed_to_in_progress_reopens(task, member):
    stage = task.stages.get(order=1)
    services.stage_set_status(actor=member, stage=stage, status=Status.COMPLETED, actual_hours=1)
    count = task.activities.count()

    services.stage_set_status(actor=member, stage=stage, status=Status.IN_PROGRESS)

    stage.refresh_from_db()
    assert (stage.status, stage.completed_at, stage.actual_hours) == (Status.IN_PROGRESS, None, Decimal("1.00"))
    assert new_verbs(task, count) == [Activity.Verb.STAGE_REOPENED]


def test_an_expected_status_that_no_longer_holds_is_refused(task, member):
    stage = task.stages.get(order=1)
    services.stage_set_status(actor=member, stage=stage, status=Status.COMPLETED, actual_hours=1)
    before = state(task)

    with pytest.raises(ValidationError) as err:  # a stale Start button must not reopen it
        services.stage_set_status(actor=member, stage=stage, status=Status.IN_PROGRESS, expected_status=Status.PENDING)

    assert err.value.message_dict == {"status": ["This stage is completed now."]}
    assert state(task) == before


@pytest.fixture
def spy(monkeypatch):
    """Records each call of services.stage_set_status, then runs it."""
    calls = []
    real = services.stage_set_status

    def recording(**kwargs):
        calls.append((kwargs["stage"].pk, kwargs["status"]))
        return real(**kwargs)

    monkeypatch.setattr(services, "stage_set_status", recording)
    return calls


def test_the_api_and_the_pages_move_stages_through_the_service(client, task, member, spy):
    first, second = task.stages.order_by("order")
    api = api_client(member)
    client.force_login(member)

    assert api.patch(f"/api/v1/stages/{first.pk}/", {"status": "in_progress"}, format="json").status_code == 200
    refused = api.patch(f"/api/v1/stages/{first.pk}/", {"status": "pending"}, format="json")
    assert refused.status_code == 409  # a started stage cannot go back
    assert error_fields(refused) == ["status"]
    client.post(reverse("tasks:stage_start", args=[second.pk]))
    client.post(reverse("tasks:stage_complete", args=[second.pk]), {f"stage{second.pk}-actual_hours": "3"})
    client.post(reverse("tasks:stage_reopen", args=[second.pk]))
    completed = api.patch(f"/api/v1/stages/{first.pk}/", {"status": "completed", "actual_hours": "2"}, format="json")
    assert completed.status_code == 200

    assert spy == [
        (first.pk, Status.IN_PROGRESS),
        (first.pk, Status.PENDING),
        (second.pk, Status.IN_PROGRESS),
        (second.pk, Status.COMPLETED),
        (second.pk, Status.IN_PROGRESS),
        (first.pk, Status.COMPLETED),
    ]
    assert list(Stage.objects.filter(task=task).order_by("order").values_list("status", flat=True)) == [
        Status.COMPLETED,
        Status.IN_PROGRESS,
    ]
