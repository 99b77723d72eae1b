"""The status rules of tasks and stages, in one place: a stage moves pending -> in progress -> completed
(completing a pending stage starts it too; a completed one goes back to in progress by reopening; a started
stage never goes back to pending), and the task's status follows its stages. Callers hold the task's row lock.

`_stage_set_status` is the stage state machine; the stage services (tasks/services/stage.py) run it under the
lock, and the API and the HTML stage views reach it only through them."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone

from aether.refusals import conflict
from notifications.models import Kind
from notifications.services import notify

from ..models import Activity, Stage, Status, Task
from ._common import _activity, _hours, _task_url


def _task_transition(task: Task, actor, status: str, when) -> None:
    """Set the task's status with its timestamps, its Activity and its notification. Caller holds the lock."""
    old = task.status
    if old == status:
        return
    task.status = status
    fields = ["status", "completed_at", "updated_at"]
    if status == Status.COMPLETED:
        task.completed_at = when
        verb = Activity.Verb.COMPLETED
    else:
        task.completed_at = None  # reopening clears the completion time
        verb = Activity.Verb.REOPENED if old == Status.COMPLETED else Activity.Verb.STATUS_CHANGED
    if status == Status.IN_PROGRESS and task.started_at is None:
        task.started_at = when
        fields.append("started_at")
    if (
        status == Status.PENDING
        and old == Status.IN_PROGRESS
        and not task.stages.exclude(status=Status.PENDING).exists()
    ):
        task.started_at = None
        fields.append("started_at")
    task.save(update_fields=fields)
    activity = _activity(task, actor, verb, "status", old, status)
    if status == Status.COMPLETED:
        notify(
            kind=Kind.TASK_COMPLETED,
            user=task.created_by,
            actor=actor,
            task=task,
            event=f"task:{task.pk}:completed:{activity.pk}",
            message=f"{actor.get_full_name() if actor else 'Aether'} completed “{task.title}”",
            url=_task_url(task),
        )


def _rollup(task: Task, actor) -> None:
    """Make the task's status follow its stages. Caller holds the task lock."""
    rows = list(task.stages.values_list("status", "completed_at"))
    if not rows:
        return
    if all(s == Status.COMPLETED for s, _ in rows):
        target, when = Status.COMPLETED, max(c for _, c in rows)
    elif any(s != Status.PENDING for s, _ in rows):
        target, when = Status.IN_PROGRESS, timezone.now()
    else:
        target, when = Status.PENDING, timezone.now()
    _task_transition(task, actor, target, when)


def _stage_start(task: Task, actor, stage: Stage) -> None:
    if stage.status != Status.PENDING:
        raise conflict("Only a pending stage can be started.", "status")
    stage.status = Status.IN_PROGRESS
    stage.started_at = timezone.now()
    stage.save(update_fields=["status", "started_at"])
    _activity(task, actor, Activity.Verb.STAGE_STARTED, f"stage {stage.order}", None, stage.name)
    _rollup(task, actor)


def _stage_reopen(task: Task, actor, stage: Stage) -> None:
    if stage.status != Status.COMPLETED:
        raise conflict("Only a completed stage can be reopened.", "status")
    stage.status = Status.IN_PROGRESS
    stage.completed_at = None
    stage.save(update_fields=["status", "completed_at"])
    _activity(task, actor, Activity.Verb.STAGE_REOPENED, f"stage {stage.order}", None, stage.name)
    _rollup(task, actor)


def _stage_complete(task: Task, actor, stage: Stage, actual_hours=None) -> None:
    """Complete a stage: needs actual hours, given here or already recorded on the stage."""
    _stage_mark_completed(task, actor, stage, _completion_hours(stage, actual_hours, "actual_hours"), timezone.now())
    _rollup(task, actor)


def _completion_hours(stage: Stage, actual_hours, field: str) -> Decimal:
    """The hours a stage completes with: those given, else those recorded; refused (under `field`) when the
    stage is already completed or has no hours either way."""
    if stage.status == Status.COMPLETED:
        raise conflict("This stage is already completed.", "status")
    if actual_hours in (None, ""):
        if stage.actual_hours is None:
            alone = field == "actual_hours"  # one stage's own form, or one row of several (board's Completed)
            message = (
                "Enter the actual hours to complete this stage."
                if alone
                else f"Enter the actual hours of “{stage.name}”."
            )
            raise conflict(message, field)
        return stage.actual_hours
    return _hours(actual_hours, field, allow_zero=True)


def _stage_mark_completed(task: Task, actor, stage: Stage, hours: Decimal, when) -> None:
    """Write one stage's completion and its Activity; the caller rolls the task up (once, for several)."""
    stage.actual_hours = hours
    stage.started_at = stage.started_at or when
    stage.completed_at = when
    stage.status = Status.COMPLETED
    stage.save(update_fields=["actual_hours", "started_at", "completed_at", "status"])
    _activity(
        task,
        actor,
        Activity.Verb.STAGE_COMPLETED,
        f"stage {stage.order}",
        None,
        {"name": stage.name, "actual_hours": str(hours)},
    )


def _stage_set_status(task: Task, actor, stage: Stage, status: str, actual_hours=None, expected=None) -> None:
    """Move the stage to `status` by the only step that leads there; the same status is no change. With
    `expected`, only from that status (a page's Start or Reopen button, pressed on a stage someone else has
    moved on since, must not reopen or restart it)."""
    if status not in Status.values:
        raise ValidationError({"status": ["Choose pending, in_progress or completed."]})
    if expected is not None and stage.status != expected:
        raise conflict(f"This stage is {Status(stage.status).label.lower()} now.", "status")
    if status == stage.status:
        return
    if status == Status.PENDING:
        raise conflict("A started stage cannot go back to pending.", "status")
    if status == Status.COMPLETED:
        _stage_complete(task, actor, stage, actual_hours)
    elif stage.status == Status.PENDING:
        _stage_start(task, actor, stage)
    else:
        _stage_reopen(task, actor, stage)
