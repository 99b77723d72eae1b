"""Projects, labels and templates of a team."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.permissions import Action, require
from aether.changes import record
from aether.refusals import conflict, only_fields, unprocessable
from notifications.services import notifications_of_tasks_delete

from ..changes import task_rows_changing
from ..models import Activity, Label, Project, Task, Template, TemplateStage
from ._common import _stage_specs


def _save_unique(obj, field: str, message: str) -> None:
    """Save, turning the case-insensitive unique name constraint into a field error."""
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError:
        raise conflict(message, field) from None


@transaction.atomic
def project_create(*, actor, team, name: str, description: str = "") -> Project:
    require(actor, Action.MANAGE, team.pk)
    project = Project(team=team, name=(name or "").strip(), description=description or "")
    project.full_clean(validate_unique=False, validate_constraints=False)
    _save_unique(project, "name", "This team already has a project of that name.")
    record(teams=[team.pk])
    return project


@transaction.atomic
def project_update(*, actor, project: Project, data: dict[str, Any]) -> Project:
    require(actor, Action.MANAGE, project.team_id)
    only_fields(data, {"name", "description"})
    for field, value in data.items():
        setattr(project, field, value.strip() if field == "name" and isinstance(value, str) else value)
    project.full_clean(validate_unique=False, validate_constraints=False)
    _save_unique(project, "name", "This team already has a project of that name.")
    record(teams=[project.team_id])
    return project


@transaction.atomic
def project_delete(*, actor, project: Project) -> None:
    """Delete a project and its tasks. Refused while it still has tasks outside the trash."""
    require(actor, Action.MANAGE, project.team_id)
    if project.tasks.filter(deleted_at__isnull=True).exists():
        raise conflict("Move this project's tasks to the trash first.")
    # Its trashed tasks go for good, and with them the notifications about them (a foreign key's cascade, which
    # would tell no observer): those are deleted first, through their service, which reports them.
    notifications_of_tasks_delete(task_ids=list(project.tasks.values_list("pk", flat=True)))
    project.delete()
    record(teams=[project.team_id])


def validate_label_color(color: str) -> None:
    """A label's colour is a CSS hex colour such as #3b82f6 (the schema has the same rule)."""
    color = color or ""
    if not (len(color) == 7 and color.startswith("#") and all(c in "0123456789abcdefABCDEF" for c in color[1:])):
        raise ValidationError({"color": ["Enter a colour such as #3b82f6."]})


def _label_save(label: Label) -> Label:
    validate_label_color(label.color)
    label.full_clean(validate_unique=False, validate_constraints=False)
    _save_unique(label, "name", "This team already has a label of that name.")
    return label


@transaction.atomic
def label_create(*, actor, team, name: str, color: str = "#6b7280") -> Label:
    require(actor, Action.WORK, team.pk)
    label = _label_save(Label(team=team, name=(name or "").strip(), color=color))
    record(teams=[team.pk])
    return label


@transaction.atomic
def label_update(*, actor, label: Label, data: dict[str, Any]) -> Label:
    """Rename or recolour a team's label (its admins: every task of the team shows it)."""
    require(actor, Action.MANAGE, label.team_id)
    only_fields(data, {"name", "color"})
    label = Label.objects.select_for_update().get(pk=label.pk)
    for field, value in data.items():
        setattr(label, field, value.strip() if isinstance(value, str) else value)
    _label_save(label)
    record(teams=[label.team_id])
    return label


@transaction.atomic
def label_delete(*, actor, label: Label) -> None:
    """Delete a team's label (its admins). Each task that had it records the change of its labels, as an edit
    of the labels does."""
    require(actor, Action.MANAGE, label.team_id)
    label_id = label.pk
    tagged = list(label.tasks.order_by("pk").values_list("pk", flat=True))
    labelling = Task.labels.through
    before: dict[int, list[int]] = {pk: [] for pk in tagged}
    for task_id, other_id in (
        labelling.objects.filter(task_id__in=tagged).order_by("label_id").values_list("task_id", "label_id")
    ):
        before[task_id].append(other_id)
    with task_rows_changing(tagged):
        label.delete()
        Activity.objects.bulk_create(
            [
                Activity(
                    task_id=pk,
                    actor=actor,
                    verb=Activity.Verb.UPDATED,
                    field="labels",
                    old_value=ids,
                    new_value=[i for i in ids if i != label_id],
                )
                for pk, ids in before.items()
            ]
        )
    record(teams=[label.team_id])


@transaction.atomic
def template_save(
    *, actor, team, name: str, description: str = "", stages: Sequence[dict], template: Template | None = None
) -> Template:
    """Create a template, or replace an existing one's name, description and stages."""
    require(actor, Action.MANAGE, team.pk)
    if template is not None and template.team_id != team.pk:
        raise unprocessable("Choose a template of this team.", "template")
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
    record(teams=[team.pk])
    return template


@transaction.atomic
def template_delete(*, actor, template: Template) -> None:
    require(actor, Action.MANAGE, template.team_id)
    template.delete()
    record(teams=[template.team_id])
