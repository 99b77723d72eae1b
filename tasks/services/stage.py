"""Adding, editing, starting, completing, reopening, deleting and reordering a task's stages. The status rules
themselves are in tasks/services/lifecycle.py."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Max
from django.utils import timezone

from aether.refusals import conflict, only_fields

from ..models import Activity, Stage, Status, Task
from ._common import (
    MAX_STAGES,
    _activity,
    _hours,
    _json,
    _lock,
    _lock_for_stage_change,
    _require_work,
    _stage_specs,
    task_write,
)
from .lifecycle import (
    _completion_hours,
    _rollup,
    _stage_complete,
    _stage_mark_completed,
    _stage_reopen,
    _stage_set_status,
    _stage_start,
)


@task_write
def stage_add(*, actor, task: Task, name: str, estimated_hours) -> Stage:
    """Append a stage at the end of the task's stages."""
    _require_work(actor, task)
    _lock(task)
    ((name, hours),) = _stage_specs([{"name": name, "estimated_hours": estimated_hours}])
    count = task.stages.count()
    if count >= MAX_STAGES:
        raise conflict(f"A task has at most {MAX_STAGES} stages.", "stages")
    order = (task.stages.aggregate(m=Max("order"))["m"] or 0) + 1
    stage = Stage.objects.create(task=task, order=order, name=name, estimated_hours=hours)
    _activity(task, actor, Activity.Verb.STAGE_ADDED, "stage", None, {"id": stage.pk, "name": name})
    if task.status == Status.COMPLETED:
        # A new pending stage means the work is no longer all done.
        _rollup(task, actor)
    return stage


@task_write
def stage_update(*, actor, stage: Stage, data: dict[str, Any]) -> Stage:
    """Change a stage's name, estimated_hours or actual_hours."""
    only_fields(data, {"name", "estimated_hours", "actual_hours"})
    task = _lock_for_stage_change(actor, stage)
    changes = {}
    if "name" in data:
        ((name, _),) = _stage_specs([{"name": data["name"], "estimated_hours": 1}])
        changes["name"] = name
    if "estimated_hours" in data:
        changes["estimated_hours"] = _hours(data["estimated_hours"], "estimated_hours", allow_zero=False)
    if "actual_hours" in data:
        if data["actual_hours"] is None:
            if stage.status == Status.COMPLETED:
                raise conflict("A completed stage needs its actual hours.", "actual_hours")
            changes["actual_hours"] = None
        else:
            changes["actual_hours"] = _hours(data["actual_hours"], "actual_hours", allow_zero=True)
    changes = {k: v for k, v in changes.items() if getattr(stage, k) != v}
    if changes:
        old = {k: _json(getattr(stage, k)) for k in changes}
        for k, v in changes.items():
            setattr(stage, k, v)
        stage.save(update_fields=list(changes))
        _activity(
            task,
            actor,
            Activity.Verb.STAGE_UPDATED,
            f"stage {stage.order}",
            old,
            {k: _json(v) for k, v in changes.items()},
        )
    return stage


@task_write
def stage_set_status(*, actor, stage: Stage, status: str, actual_hours=None, expected_status=None) -> Stage:
    """Move a stage to `status` (the API's and the pages' one entry to the stage state machine of
    tasks/services/lifecycle.py): pending -> in progress starts it, completed -> in progress reopens it, and
    completed completes it (with `actual_hours`, or those already recorded). The same status is no change; a
    started stage cannot go back to pending (a ValidationError naming `status`). With `expected_status`, the
    change is made only if the stage, read under the task's lock, is still in that status."""
    task = _lock_for_stage_change(actor, stage)
    _stage_set_status(task, actor, stage, status, actual_hours, expected=expected_status)
    return stage


def actual_hours_field(stage_id: int) -> str:
    """The name under which task_complete_with_stages takes, and refuses, one stage's actual hours."""
    return f"actual_hours_{stage_id}"


@task_write
def task_complete_with_stages(*, actor, task: Task, actual_hours: Mapping[int, Any]) -> list[Stage]:
    """Complete every open stage of the task at once (the board's drop on Completed), and so the task.

    `actual_hours` maps a stage id to its actual hours; a stage that already has its actual hours recorded
    may be left out. Every value is checked before anything is written: a missing or bad value, or the id of
    a stage that is not open on this task, is refused under `actual_hours_<stage id>` and nothing changes.
    Each stage gets its STAGE_COMPLETED Activity, then the task rolls up to completed (one COMPLETED Activity
    and its notification). Returns the stages completed, in order.
    """
    _require_work(actor, task)
    _lock(task)
    stages = list(task.stages.order_by("order"))
    if not stages:
        raise conflict("This task has no stages: move it to completed instead.", "stages")
    open_stages = [s for s in stages if s.status != Status.COMPLETED]
    if not open_stages:
        raise conflict("Every stage of this task is already completed.", "status")
    try:
        given = {int(k): v for k, v in actual_hours.items()}
    except (TypeError, ValueError):
        raise ValidationError({"actual_hours": ["Give the hours by stage id."]}) from None
    open_ids = {s.pk for s in open_stages}
    errors: dict[str, list[str]] = {}
    for stage_id in sorted(set(given) - open_ids):
        errors[actual_hours_field(stage_id)] = ["This is not an open stage of this task."]
    hours: dict[int, Decimal] = {}
    for stage in open_stages:
        try:
            hours[stage.pk] = _completion_hours(stage, given.get(stage.pk), actual_hours_field(stage.pk))
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    for stage in open_stages:
        _stage_mark_completed(task, actor, stage, hours[stage.pk], now)
    _rollup(task, actor)
    return open_stages


@task_write
def stage_start(*, actor, stage: Stage) -> Stage:
    """Start a pending stage (the task follows: in progress)."""
    _stage_start(_lock_for_stage_change(actor, stage), actor, stage)
    return stage


@task_write
def stage_complete(*, actor, stage: Stage, actual_hours=None) -> Stage:
    """Complete a stage with `actual_hours` (or those already recorded); the last one completes the task."""
    _stage_complete(_lock_for_stage_change(actor, stage), actor, stage, actual_hours)
    return stage


@task_write
def stage_reopen(*, actor, stage: Stage) -> Stage:
    """Reopen a completed stage (a completed task is reopened with it)."""
    _stage_reopen(_lock_for_stage_change(actor, stage), actor, stage)
    return stage


@task_write
def stage_delete(*, actor, stage: Stage) -> None:
    """Delete a stage; the stages after it move up one place, and the task status follows what remains."""
    task = stage.task
    _require_work(actor, task)
    _lock(task)
    order, name = stage.order, stage.name
    stage.delete()
    _renumber(task, list(task.stages.order_by("order").values_list("pk", flat=True)))
    _activity(task, actor, Activity.Verb.STAGE_DELETED, f"stage {order}", name, None)
    _rollup(task, actor)


@task_write
def stages_reorder(*, actor, task: Task, stage_ids: Sequence[int]) -> list[Stage]:
    """Put the task's stages in the given order. `stage_ids` must name each of its stages exactly once."""
    _require_work(actor, task)
    _lock(task)
    current = list(task.stages.order_by("order").values_list("pk", flat=True))
    try:
        wanted = [int(pk) for pk in stage_ids]
    except (TypeError, ValueError):
        raise ValidationError({"stage_ids": ["Give the ids of this task's stages."]}) from None
    if sorted(wanted) != sorted(current) or len(set(wanted)) != len(wanted):
        raise ValidationError({"stage_ids": ["Give each of this task's stages exactly once."]})
    if wanted != current:
        _renumber(task, wanted)
        _activity(task, actor, Activity.Verb.STAGES_REORDERED, "stages", current, wanted)
    return list(task.stages.order_by("order"))


def _renumber(task: Task, ordered_ids: list[int]) -> None:
    """Give the stages the orders 1..n in the given order, without tripping the unique (task, order)."""
    stages = list(task.stages.all())
    by_id = {s.pk: s for s in stages}
    offset = 1000  # first move every stage out of the way, then into place
    for s in stages:
        s.order += offset
    Stage.objects.bulk_update(stages, ["order"])
    for i, pk in enumerate(ordered_ids, 1):
        by_id[pk].order = i
    Stage.objects.bulk_update(stages, ["order"])
