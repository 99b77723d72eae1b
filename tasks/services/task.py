"""Creating, editing, moving, trashing and restoring tasks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.permissions import Action, check_assignable, require
from aether.changes import record
from aether.refusals import conflict, only_fields, unprocessable

from ..changes import task_rows_changing
from ..models import Activity, Label, Priority, Project, Stage, Status, Task, Template
from ._common import (
    TASK_EDITABLE_FIELDS,
    _activity,
    _check_labels,
    _json,
    _lock,
    _notify_assigned,
    _require_work,
    _stage_specs,
    _task_url,
    task_write,
)
from .comment import _preview
from .lifecycle import _stage_reopen, _stage_start, _task_transition
from .mentions import email_mentions, mentioned_anew, notify_mentioned


def _notify_description_mentions(task: Task, actor, activity: Activity, people, *, assigned=None) -> None:
    """Tell the people a new or edited description mentions anew (tasks/services/mentions.py), under the
    Activity row that recorded the description. Someone this same write assigns the task to is told of the
    assignment only: one notification for one change, as a mentioned assignee of a comment gets."""
    notify_mentioned(
        task=task,
        actor=actor,
        activity=activity,
        people=[user for user in people if assigned is None or user.pk != assigned.pk],
        message=f"{actor.get_full_name()} mentioned you in the description of “{task.title}”",
        url=_task_url(task) + "#task-description",
        context={"description": task.description, "mentions": email_mentions(task.project.team_id, task.description)},
        preview=_preview(task.description),
    )


def task_create(
    *,
    actor,
    project: Project,
    title: str,
    description: str = "",
    priority: int = Priority.MEDIUM,
    assignee=None,
    due_date: date | None = None,
    labels: Iterable[Label] = (),
    template: Template | None = None,
    stages: Sequence[dict] | None = None,
    idempotency_key: str | None = None,
) -> tuple[Task, bool]:
    """Create a task, its stages (copied from `template`, or from `stages` dicts of name and estimated_hours).

    Returns (task, created). The same idempotency key from the same user returns the first task and creates
    nothing, even when two requests race: the unique constraint decides, and the loser reads the winner's row
    (and what it would have notified is rolled back with it). The members the description mentions are told.
    """
    require(actor, Action.WORK, project.team_id)
    if idempotency_key is not None:
        idempotency_key = idempotency_key.strip()
        if not idempotency_key or len(idempotency_key) > 64:
            raise ValidationError({"idempotency_key": ["An idempotency key has 1 to 64 characters."]})
        if not idempotency_key.isprintable():  # a header may carry a NUL, which no text column can store
            raise ValidationError({"idempotency_key": ["An idempotency key has printable characters only."]})
        existing = Task.objects.filter(created_by=actor, idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing, False
    if template is not None and stages:
        raise unprocessable("Give either a template or a list of stages, not both.", "stages")
    if template is not None and template.team_id != project.team_id:
        raise unprocessable("Choose a template of this team.", "template")
    check_assignable(project.team_id, assignee)
    labels = _check_labels(project.team_id, labels)
    specs = (
        [(s.name, s.estimated_hours) for s in template.stages.order_by("order")]
        if template is not None
        else _stage_specs(stages or [])
    )
    task = Task(
        project=project,
        title=(title or "").strip(),
        description=description or "",
        priority=priority,
        assignee=assignee,
        created_by=actor,
        due_date=due_date,
        template=template,
        idempotency_key=idempotency_key,
    )
    task.full_clean(exclude=["labels"], validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic(), task_rows_changing() as change:
            task.save()
            change.add(task.pk)
            Stage.objects.bulk_create(
                [
                    Stage(task=task, order=i, name=name, estimated_hours=hours)
                    for i, (name, hours) in enumerate(specs, 1)
                ]
            )
            if labels:
                task.labels.set(labels)
            created = _activity(task, actor, Activity.Verb.CREATED, new={"title": task.title, "stages": len(specs)})
            if assignee is not None:
                _notify_assigned(
                    task, actor, _activity(task, actor, Activity.Verb.ASSIGNED, "assignee", None, assignee.pk)
                )
            _notify_description_mentions(
                task, actor, created, mentioned_anew(task, "", task.description), assigned=assignee
            )
    except IntegrityError:
        # A concurrent request with the same key won the race; its task is the answer.
        winner = idempotency_key and Task.objects.filter(created_by=actor, idempotency_key=idempotency_key).first()
        if not winner:
            raise
        return winner, False
    return task, True


@transaction.atomic
def task_label_create(*, actor, task: Task, name: str, color: str = "#6b7280"):
    """Create a label of the task's team from its page and put it on the task (what a person creating a label
    there means), in one transaction: the label and the task's "changed the labels" Activity, or neither."""
    from .project import label_create

    label = label_create(actor=actor, team=task.project.team, name=name, color=color)
    task_update(actor=actor, task=task, data={"labels": [*task.labels.all(), label]})
    return label


@task_write
def task_update(*, actor, task: Task, data: dict[str, Any]) -> Task:
    """Change any of title, description, priority, due_date, assignee, labels; one Activity per changed field.

    The members a new description mentions that the previous one did not are told. The previous description
    is read under the task's row lock, so a request repeating one that just committed (a retry, a double
    submit) finds nothing to change and tells nobody again."""
    only_fields(data, TASK_EDITABLE_FIELDS)
    _require_work(actor, task)
    _lock(task)
    team_id = task.project.team_id
    changes: list[tuple[str, Any, Any]] = []
    for field in ("title", "description", "priority", "due_date", "assignee"):
        if field not in data:
            continue
        new = data[field].strip() if field == "title" and isinstance(data[field], str) else data[field]
        if field == "assignee":
            check_assignable(team_id, new)
        old = getattr(task, field)
        if old != new:
            setattr(task, field, new)
            changes.append((field, old, new))
    task.full_clean(exclude=["labels"], validate_unique=False, validate_constraints=False)
    if changes:
        task.save(update_fields=[f for f, _, _ in changes] + ["updated_at"])
    assigned = next((new for field, _, new in changes if field == "assignee"), None)
    for field, old, new in changes:
        verb = Activity.Verb.ASSIGNED if field == "assignee" else Activity.Verb.UPDATED
        activity = _activity(task, actor, verb, field, _json(old), _json(new))
        if field == "assignee" and new is not None:
            _notify_assigned(task, actor, activity)
        if field == "description":
            _notify_description_mentions(task, actor, activity, mentioned_anew(task, old, new), assigned=assigned)
    if "labels" in data:
        new_labels = _check_labels(team_id, data["labels"])
        old_ids = sorted(task.labels.values_list("pk", flat=True))
        new_ids = sorted(label.pk for label in new_labels)
        if old_ids != new_ids:
            task.labels.set(new_labels)
            _activity(task, actor, Activity.Verb.UPDATED, "labels", old_ids, new_ids)
    return task


def task_assign(*, actor, task: Task, assignee) -> Task:
    return task_update(actor=actor, task=task, data={"assignee": assignee})


@task_write
def task_set_status(*, actor, task: Task, status: str) -> Task:
    """Move a task to a status, as the board does.

    A task without stages moves freely. A task with stages follows them: moving it to in progress starts its
    first stage; completing it needs every stage completed (so it is refused here); reopening a completed
    task reopens its last stage; and it can go back to pending only while no stage has started.
    """
    if status not in Status.values:
        raise ValidationError({"status": [f"Choose one of: {', '.join(Status.values)}."]})
    _require_work(actor, task)
    _lock(task)
    if task.status == status:
        return task
    stages = list(task.stages.order_by("order"))
    if not stages:
        _task_transition(task, actor, status, timezone.now())
        return task
    if status == Status.IN_PROGRESS:
        if task.status == Status.COMPLETED:
            last = stages[-1]
            _stage_reopen(task, actor, last)
        else:
            first_pending = next(s for s in stages if s.status == Status.PENDING)
            _stage_start(task, actor, first_pending)
        return task
    if status == Status.COMPLETED:
        raise conflict("This task completes when its last stage is completed.", "status")
    # status == PENDING
    if any(s.status != Status.PENDING for s in stages):
        raise conflict("A task with started stages cannot go back to pending.", "status")
    _task_transition(task, actor, status, timezone.now())
    return task


@task_write
def task_complete(*, actor, task: Task) -> Task:
    return task_set_status(actor=actor, task=task, status=Status.COMPLETED)


@task_write
def task_reopen(*, actor, task: Task) -> Task:
    if task.status != Status.COMPLETED:
        raise conflict("Only a completed task can be reopened.", "status")
    return task_set_status(actor=actor, task=task, status=Status.IN_PROGRESS)


@task_write
def task_delete(*, actor, task: Task) -> Task:
    """Move the task to the trash (soft delete); task_restore brings it back."""
    require(actor, Action.WORK, task.project.team_id)
    _lock(task)
    if task.deleted_at is not None:
        return task
    task.deleted_at = timezone.now()
    task.save(update_fields=["deleted_at", "updated_at"])
    _activity(task, actor, Activity.Verb.DELETED)
    return task


@task_write
def task_restore(*, actor, task: Task) -> Task:
    require(actor, Action.WORK, task.project.team_id)
    _lock(task)
    if task.deleted_at is None:
        return task
    task.deleted_at = None
    task.save(update_fields=["deleted_at", "updated_at"])
    _activity(task, actor, Activity.Verb.RESTORED)
    # Its comments are seen again with it (a trashed task's tombstone stood for them in the sync).
    team = task.project.team_id
    record(comments=dict.fromkeys(task.comments.values_list("pk", flat=True), (task.pk, team)))
    return task


@transaction.atomic
def tasks_unassign_leaver(*, actor, team, user) -> int:
    """`user` is leaving `team`: unassign their open (not completed) tasks in the team, trashed ones included
    (a restored task must not come back assigned to an outsider), one Activity row each, set-based. Completed
    tasks keep their assignee: who did the work stays true. Returns how many tasks were unassigned.

    Registered with accounts.hooks in TasksConfig.ready(); accounts.services.membership_remove calls it in its
    transaction, before the membership goes. Nobody is notified: the leaver hears nothing more of the team."""
    open_tasks = Task.objects.filter(project__team_id=team.pk, assignee_id=user.pk).exclude(status=Status.COMPLETED)
    ids = list(open_tasks.order_by("pk").values_list("pk", flat=True))
    if not ids:
        return 0
    with task_rows_changing(ids):
        # Read again under the rows' locks (task_rows_changing takes them, and the UPDATE would): a task moved
        # on between the two reads is left as it now is.
        locked = open_tasks.filter(pk__in=ids).order_by("pk").select_for_update(of=("self",))
        ids = list(locked.values_list("pk", flat=True))
        Task.objects.filter(pk__in=ids).update(assignee=None, updated_at=timezone.now())
        Activity.objects.bulk_create(
            [
                Activity(task_id=pk, actor=actor, verb=Activity.Verb.ASSIGNED, field="assignee", old_value=user.pk)
                for pk in ids
            ]
        )
    return len(ids)
