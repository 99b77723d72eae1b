"""Every write to projects, tasks, stages, comments and templates goes through here.

Each service takes the acting user (keyword-only), checks what that user may do, runs in one transaction,
records Activity rows for what changed and queues notifications in the same transaction. A ValidationError
names the field that was wrong, and the transaction rolls back: nothing half-written, no Activity for a
change that did not happen. Stage changes hold the task's row lock, so two concurrent stage updates roll
the task status up one after the other.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership
from accounts.permissions import Action, require
from notifications.models import Kind
from notifications.services import notify

from .models import Activity, Comment, Label, Priority, Project, Stage, Status, Task, Template, TemplateStage

TASK_EDITABLE_FIELDS = ("title", "description", "priority", "due_date", "assignee", "labels")
MAX_STAGES = 50


# --- helpers --------------------------------------------------------------------------------------------


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


def _check_member(team_id: int, user, field: str) -> None:
    if user is not None and not Membership.objects.filter(team_id=team_id, user=user).exists():
        raise ValidationError({field: ["Choose a member of this team."]})


def _check_labels(team_id: int, labels: Iterable[Label]) -> list[Label]:
    labels = list(labels)
    if any(label.team_id != team_id for label in labels):
        raise ValidationError({"labels": ["Choose labels of this team."]})
    return labels


def _lock(task: Task) -> Task:
    """Re-read the task under its row lock (call inside a transaction) and refresh the caller's copy."""
    locked = Task.objects.select_for_update().get(pk=task.pk)
    for field in ("status", "started_at", "completed_at", "deleted_at", "archived_at", "updated_at"):
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
        raise ValidationError("This task is in the trash; restore it first.")


def _notify_assigned(task: Task, actor, activity: Activity) -> None:
    notify(
        kind=Kind.TASK_ASSIGNED,
        user=task.assignee,
        actor=actor,
        task=task,
        event=f"task:{task.pk}:assigned:{activity.pk}",
        message=f"{actor.get_full_name()} assigned you “{task.title}”",
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


# --- tasks ----------------------------------------------------------------------------------------------


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
    nothing, even when two requests race: the unique constraint decides, and the loser reads the winner's row.
    """
    require(actor, Action.WORK, project.team_id)
    if idempotency_key is not None:
        idempotency_key = idempotency_key.strip()
        if not idempotency_key or len(idempotency_key) > 64:
            raise ValidationError({"idempotency_key": ["An idempotency key has 1 to 64 characters."]})
        existing = Task.objects.filter(created_by=actor, idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing, False
    if template is not None and stages is not None:
        raise ValidationError({"stages": ["Give either a template or a list of stages, not both."]})
    if template is not None and template.team_id != project.team_id:
        raise ValidationError({"template": ["Choose a template of this team."]})
    _check_member(project.team_id, assignee, "assignee")
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
        with transaction.atomic():
            task.save()
            Stage.objects.bulk_create(
                [
                    Stage(task=task, order=i, name=name, estimated_hours=hours)
                    for i, (name, hours) in enumerate(specs, 1)
                ]
            )
            if labels:
                task.labels.set(labels)
            _activity(task, actor, Activity.Verb.CREATED, new={"title": task.title, "stages": len(specs)})
            if assignee is not None:
                _notify_assigned(
                    task, actor, _activity(task, actor, Activity.Verb.ASSIGNED, "assignee", None, assignee.pk)
                )
    except IntegrityError:
        # A concurrent request with the same key won the race; its task is the answer.
        winner = idempotency_key and Task.objects.filter(created_by=actor, idempotency_key=idempotency_key).first()
        if not winner:
            raise
        return winner, False
    return task, True


@transaction.atomic
def task_update(*, actor, task: Task, data: dict[str, Any]) -> Task:
    """Change any of title, description, priority, due_date, assignee, labels; one Activity per changed field."""
    unknown = set(data) - set(TASK_EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: ["This field cannot be changed here."] for name in sorted(unknown)})
    _require_work(actor, task)
    _lock(task)
    team_id = task.project.team_id
    changes: list[tuple[str, Any, Any]] = []
    for field in ("title", "description", "priority", "due_date", "assignee"):
        if field not in data:
            continue
        new = data[field].strip() if field == "title" and isinstance(data[field], str) else data[field]
        if field == "assignee":
            _check_member(team_id, new, "assignee")
        old = getattr(task, field)
        if old != new:
            setattr(task, field, new)
            changes.append((field, old, new))
    task.full_clean(exclude=["labels"], validate_unique=False, validate_constraints=False)
    if changes:
        task.save(update_fields=[f for f, _, _ in changes] + ["updated_at"])
    for field, old, new in changes:
        verb = Activity.Verb.ASSIGNED if field == "assignee" else Activity.Verb.UPDATED
        activity = _activity(task, actor, verb, field, _json(old), _json(new))
        if field == "assignee" and new is not None:
            _notify_assigned(task, actor, activity)
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


@transaction.atomic
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
        raise ValidationError({"status": ["This task completes when its last stage is completed."]})
    # status == PENDING
    if any(s.status != Status.PENDING for s in stages):
        raise ValidationError({"status": ["A task with started stages cannot go back to pending."]})
    _task_transition(task, actor, status, timezone.now())
    return task


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


@transaction.atomic
def task_complete(*, actor, task: Task) -> Task:
    return task_set_status(actor=actor, task=task, status=Status.COMPLETED)


@transaction.atomic
def task_reopen(*, actor, task: Task) -> Task:
    if task.status != Status.COMPLETED:
        raise ValidationError({"status": ["Only a completed task can be reopened."]})
    return task_set_status(actor=actor, task=task, status=Status.IN_PROGRESS)


@transaction.atomic
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


@transaction.atomic
def task_restore(*, actor, task: Task) -> Task:
    require(actor, Action.WORK, task.project.team_id)
    _lock(task)
    if task.deleted_at is None:
        return task
    task.deleted_at = None
    task.save(update_fields=["deleted_at", "updated_at"])
    _activity(task, actor, Activity.Verb.RESTORED)
    return task


# --- stages ---------------------------------------------------------------------------------------------


@transaction.atomic
def stage_add(*, actor, task: Task, name: str, estimated_hours) -> Stage:
    """Append a stage at the end of the task's stages."""
    _require_work(actor, task)
    _lock(task)
    ((name, hours),) = _stage_specs([{"name": name, "estimated_hours": estimated_hours}])
    count = task.stages.count()
    if count >= MAX_STAGES:
        raise ValidationError({"stages": [f"A task has at most {MAX_STAGES} stages."]})
    order = (task.stages.aggregate(m=Max("order"))["m"] or 0) + 1
    stage = Stage.objects.create(task=task, order=order, name=name, estimated_hours=hours)
    _activity(task, actor, Activity.Verb.STAGE_ADDED, "stage", None, {"id": stage.pk, "name": name})
    if task.status == Status.COMPLETED:
        # A new pending stage means the work is no longer all done.
        _rollup(task, actor)
    return stage


@transaction.atomic
def stage_update(*, actor, stage: Stage, data: dict[str, Any]) -> Stage:
    """Change a stage's name, estimated_hours or actual_hours."""
    unknown = set(data) - {"name", "estimated_hours", "actual_hours"}
    if unknown:
        raise ValidationError({name: ["This field cannot be changed here."] for name in sorted(unknown)})
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
                raise ValidationError({"actual_hours": ["A completed stage needs its actual hours."]})
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


def _stage_start(task: Task, actor, stage: Stage) -> None:
    if stage.status != Status.PENDING:
        raise ValidationError({"status": ["Only a pending stage can be started."]})
    stage.status = Status.IN_PROGRESS
    stage.started_at = timezone.now()
    stage.save(update_fields=["status", "started_at"])
    _activity(task, actor, Activity.Verb.STAGE_STARTED, f"stage {stage.order}", None, stage.name)
    _rollup(task, actor)


def _stage_reopen(task: Task, actor, stage: Stage) -> None:
    if stage.status != Status.COMPLETED:
        raise ValidationError({"status": ["Only a completed stage can be reopened."]})
    stage.status = Status.IN_PROGRESS
    stage.completed_at = None
    stage.save(update_fields=["status", "completed_at"])
    _activity(task, actor, Activity.Verb.STAGE_REOPENED, f"stage {stage.order}", None, stage.name)
    _rollup(task, actor)


@transaction.atomic
def stage_start(*, actor, stage: Stage) -> Stage:
    task = _lock_for_stage_change(actor, stage)
    _stage_start(task, actor, stage)
    return stage


@transaction.atomic
def stage_complete(*, actor, stage: Stage, actual_hours=None) -> Stage:
    """Complete a stage. Needs actual hours, given here or already recorded on the stage.

    Completing a pending stage starts it too. When every stage is completed the task is completed, at the
    time of its last stage.
    """
    task = _lock_for_stage_change(actor, stage)
    if stage.status == Status.COMPLETED:
        raise ValidationError({"status": ["This stage is already completed."]})
    if actual_hours in (None, ""):
        if stage.actual_hours is None:
            raise ValidationError({"actual_hours": ["Enter the actual hours to complete this stage."]})
        hours = stage.actual_hours
    else:
        hours = _hours(actual_hours, "actual_hours", allow_zero=True)
    now = timezone.now()
    stage.actual_hours = hours
    stage.started_at = stage.started_at or now
    stage.completed_at = now
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
    _rollup(task, actor)
    return stage


@transaction.atomic
def stage_reopen(*, actor, stage: Stage) -> Stage:
    task = _lock_for_stage_change(actor, stage)
    _stage_reopen(task, actor, stage)
    return stage


@transaction.atomic
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


@transaction.atomic
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


# --- comments -------------------------------------------------------------------------------------------


@transaction.atomic
def comment_create(*, actor, task: Task, body: str) -> Comment:
    """Comment on a task; its creator and assignee hear of it (not the commenter)."""
    _require_work(actor, task)
    comment = Comment(task=task, author=actor, body=(body or "").strip())
    comment.full_clean(validate_unique=False, validate_constraints=False)
    comment.save()
    activity = _activity(task, actor, Activity.Verb.COMMENTED, "comment", None, comment.pk)
    for user in {u.pk: u for u in (task.created_by, task.assignee) if u is not None}.values():
        notify(
            kind=Kind.TASK_COMMENTED,
            user=user,
            actor=actor,
            task=task,
            event=f"task:{task.pk}:commented:{activity.pk}",
            message=f"{actor.get_full_name()} commented on “{task.title}”",
            url=_task_url(task) + f"#comment-{comment.pk}",
            context={"comment_body": comment.body},
        )
    return comment


# --- projects, labels, templates ------------------------------------------------------------------------


def _save_unique(obj, field: str, message: str) -> None:
    """Save, turning the case-insensitive unique name constraint into a field error."""
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError:
        raise ValidationError({field: [message]}) from None


@transaction.atomic
def project_create(*, actor, team, name: str, description: str = "") -> Project:
    require(actor, Action.MANAGE, team.pk)
    project = Project(team=team, name=(name or "").strip(), description=description or "")
    project.full_clean(validate_unique=False, validate_constraints=False)
    _save_unique(project, "name", "This team already has a project of that name.")
    return project


@transaction.atomic
def project_update(*, actor, project: Project, data: dict[str, Any]) -> Project:
    require(actor, Action.MANAGE, project.team_id)
    unknown = set(data) - {"name", "description"}
    if unknown:
        raise ValidationError({name: ["This field cannot be changed here."] for name in sorted(unknown)})
    for field, value in data.items():
        setattr(project, field, value.strip() if field == "name" and isinstance(value, str) else value)
    project.full_clean(validate_unique=False, validate_constraints=False)
    _save_unique(project, "name", "This team already has a project of that name.")
    return project


@transaction.atomic
def project_delete(*, actor, project: Project) -> None:
    """Delete a project and its tasks. Refused while it still has tasks outside the trash."""
    require(actor, Action.MANAGE, project.team_id)
    if project.tasks.filter(deleted_at__isnull=True).exists():
        raise ValidationError("Move this project's tasks to the trash first.")
    project.delete()


@transaction.atomic
def label_create(*, actor, team, name: str, color: str = "#6b7280") -> Label:
    require(actor, Action.WORK, team.pk)
    label = Label(team=team, name=(name or "").strip(), color=color)
    label.full_clean(validate_unique=False, validate_constraints=False)
    if not (len(color) == 7 and color.startswith("#") and all(c in "0123456789abcdefABCDEF" for c in color[1:])):
        raise ValidationError({"color": ["Enter a colour such as #3b82f6."]})
    _save_unique(label, "name", "This team already has a label of that name.")
    return label


@transaction.atomic
def template_save(
    *, actor, team, name: str, description: str = "", stages: Sequence[dict], template: Template | None = None
) -> Template:
    """Create a template, or replace an existing one's name, description and stages."""
    require(actor, Action.MANAGE, team.pk)
    if template is not None and template.team_id != team.pk:
        raise ValidationError({"template": ["Choose a template of this team."]})
    specs = _stage_specs(stages)
    if not specs:
        raise ValidationError({"stages": ["A template needs at least one stage."]})
    template = template or Template(team=team, created_by=actor)
    template.name = (name or "").strip()
    template.description = description or ""
    # created_by is NULL once its author's account is gone; the template stays editable.
    template.full_clean(exclude=["created_by"], validate_unique=False, validate_constraints=False)
    _save_unique(template, "name", "This team already has a template of that name.")
    template.stages.all().delete()
    TemplateStage.objects.bulk_create(
        [TemplateStage(template=template, order=i, name=n, estimated_hours=h) for i, (n, h) in enumerate(specs, 1)]
    )
    return template


@transaction.atomic
def template_delete(*, actor, template: Template) -> None:
    require(actor, Action.MANAGE, template.team_id)
    template.delete()
