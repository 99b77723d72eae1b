"""Helpers shared by the task services: Activity rows, value checks, the task row lock."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse

from accounts.permissions import Action, require
from aether.refusals import conflict, unprocessable
from notifications.models import Kind
from notifications.services import notify

from ..changes import task_rows_changing
from ..models import Activity, Label, Stage, Task

TASK_EDITABLE_FIELDS = ("title", "description", "priority", "due_date", "assignee", "labels")


MAX_STAGES = 50


def _activity(task: Task, actor, verb: str, field: str = "", old: Any = None, new: Any = None) -> Activity:
    return Activity.objects.create(task=task, actor=actor, verb=verb, field=field, old_value=old, new_value=new)


def _json(value):
    """A value as it is kept in Activity.old_value/new_value."""
    if isinstance(value, (date, Decimal)):
        return str(value)
    if hasattr(value, "pk"):
        return value.pk
    return value


def _hours(value, field: str, *, allow_zero: bool) -> Decimal:
    try:
        hours = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError, TypeError):
        raise ValidationError({field: ["Enter a number of hours."]}) from None
    if not hours.is_finite() or hours >= Decimal("100000"):
        raise ValidationError({field: ["Enter a number of hours below 100000."]})
    if hours < 0 or (hours == 0 and not allow_zero):
        raise ValidationError(
            {field: ["Hours must be greater than zero." if not allow_zero else "Hours cannot be negative."]}
        )
    return hours


def _check_labels(team_id: int, labels: Iterable[Label]) -> list[Label]:
    labels = list(labels)
    if any(label.team_id != team_id for label in labels):
        raise unprocessable("Choose labels of this team.", "labels")
    return labels


def _lock(task: Task) -> Task:
    """Re-read the task under its row lock (call inside a transaction) and refresh the caller's copy (its
    description too: task_update finds who an edit mentions anew by comparing with the stored one)."""
    locked = Task.objects.select_for_update().get(pk=task.pk)
    for field in ("status", "started_at", "completed_at", "deleted_at", "archived_at", "description", "updated_at"):
        setattr(task, field, getattr(locked, field))
    return task


def _lock_for_stage_change(actor, stage: Stage) -> Task:
    """Check the actor may work on the stage's task, take the task's row lock, and re-read the stage under it
    (a concurrent change may have moved it on). Returns the task. Call inside a transaction."""
    task = stage.task
    _require_work(actor, task)
    _lock(task)
    stage.refresh_from_db()
    return task


def _task_url(task: Task) -> str:
    return reverse("tasks:task_detail", args=[task.pk])


def _require_work(actor, task: Task) -> None:
    require(actor, Action.WORK, task.project.team_id)
    if task.deleted_at is not None:
        raise conflict("This task is in the trash; restore it first.")


def _notify_assigned(task: Task, actor, activity: Activity) -> None:
    """Tell the assignee; `actor` None is the system (a repeating task's new occurrence)."""
    notify(
        kind=Kind.TASK_ASSIGNED,
        user=task.assignee,
        actor=actor,
        task=task,
        event=f"task:{task.pk}:assigned:{activity.pk}",
        message=(
            f"{actor.get_full_name()} assigned you “{task.title}”"
            if actor is not None
            else f"“{task.title}” repeats: the one due {day_text(task.due_date)} is assigned to you"
        ),
        url=_task_url(task),
    )


def _stage_specs(stages: Sequence[dict]) -> list[tuple[str, Decimal]]:
    if len(stages) > MAX_STAGES:
        raise ValidationError({"stages": [f"A task has at most {MAX_STAGES} stages."]})
    specs = []
    for i, spec in enumerate(stages):
        name = str(spec.get("name") or "").strip()
        if not name:
            raise ValidationError({"stages": [f"Stage {i + 1} needs a name."]})
        if len(name) > 120:
            raise ValidationError({"stages": [f"Stage {i + 1}: a name has at most 120 characters."]})
        try:
            hours = _hours(spec.get("estimated_hours"), "estimated_hours", allow_zero=False)
        except ValidationError as exc:
            raise ValidationError({"stages": [f"Stage {i + 1}: {exc.message_dict['estimated_hours'][0]}"]}) from None
        specs.append((name, hours))
    return specs


def task_write(func):
    """Run a service that writes one task or its stages (its `task=` or `stage=` argument) in one transaction,
    with the task-row observers (tasks/changes.py) seeing the task before and after the write."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        task_id = kwargs["task"].pk if "task" in kwargs else kwargs["stage"].task_id
        with transaction.atomic(), task_rows_changing([task_id]):
            return func(*args, **kwargs)

    return wrapper


def day_text(day) -> str:
    """A day as the pages write it ("6 Dec 2026", the task list's and task page's `j M Y`), for messages and
    emails; "" for none."""
    from django.utils.dateformat import format as date_format

    return date_format(day, "j M Y") if day else ""
