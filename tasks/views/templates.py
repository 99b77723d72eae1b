"""Templates: list, create, edit, delete, and stamping a task out of one."""

from __future__ import annotations

from django import forms as django_forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from accounts.forms import add_service_errors
from accounts.permissions import Action, can, require
from aether.posting import post_only

from .. import selectors, services
from ..forms import (
    TemplateCreateForm,
    TemplateForm,
    TemplateStageFormSet,
    TemplateStageRow,
    TemplateUseForm,
)
from ..models import Project
from ._common import _teams_where


@login_required
def template_list(request):
    templates = list(selectors.templates_visible_to(request.user).select_related("team").order_by("team__name", "name"))
    projects_by_team: dict[int, list[Project]] = {}
    for project in selectors.projects_visible_to(request.user):
        projects_by_team.setdefault(project.team_id, []).append(project)
    for template in templates:
        template.can_manage = can(request.user, Action.MANAGE, template.team_id)
        template.can_use = can(request.user, Action.WORK, template.team_id)
        template.projects = projects_by_team.get(template.team_id, [])
    return render(
        request,
        "tasks/template_list.html",
        {"templates": templates, "can_create": bool(_teams_where(request.user, Action.MANAGE))},
    )


def _template_stage_specs(formset) -> list[dict]:
    return [
        {"name": row.cleaned_data["name"], "estimated_hours": row.cleaned_data["estimated_hours"]}
        for row in formset.forms
        if row.cleaned_data.get("name")
    ]


ROW_ACTIONS = ("add_row", "row_up", "row_down", "row_remove")


def _rows_changed(request, formset) -> list[dict] | None:
    """Without JS the stage rows change in place through the page's own buttons (Add a stage, Up, Down,
    Remove), which post the form as it is: the rows as typed, changed by the button, nothing saved. With JS
    (aether.js) the same buttons change the rows in the page. Returns the new rows, or None for a save."""
    action = next((a for a in ROW_ACTIONS if a in request.POST), None)
    if action is None:
        return None
    total = min(formset.total_form_count(), formset.max_num)
    rows = [
        {
            "name": request.POST.get(f"{formset.prefix}-{i}-name", ""),
            "estimated_hours": request.POST.get(f"{formset.prefix}-{i}-estimated_hours", ""),
        }
        for i in range(total)
    ]
    if action == "add_row":
        if len(rows) < formset.max_num:
            rows.append({"name": "", "estimated_hours": ""})
        return rows
    try:
        i = int(request.POST[action])
    except ValueError:
        return rows
    if not 0 <= i < len(rows):
        return rows
    if action == "row_remove":
        rows.pop(i)
    else:
        j = i - 1 if action == "row_up" else i + 1
        if 0 <= j < len(rows):
            rows[i], rows[j] = rows[j], rows[i]
    return rows


def _template_form_page(request, *, template=None):
    teams = _teams_where(request.user, Action.MANAGE)
    if template is None and not teams:
        raise PermissionDenied("Only team admins create templates.")
    if template is not None:
        require(request.user, Action.MANAGE, template.team_id)
        initial = {"name": template.name, "description": template.description}
        stage_initial = [{"name": s.name, "estimated_hours": s.estimated_hours} for s in template.stages.all()]
        form = TemplateForm(request.POST or None, initial=initial)
    else:
        stage_initial = []
        form = TemplateCreateForm(request.POST or None, teams=teams)
    formset = TemplateStageFormSet(request.POST or None, initial=stage_initial, prefix="stages")
    stages_error = None
    rows = _rows_changed(request, formset) if request.method == "POST" else None
    if rows is not None:
        form = type(form)(initial=request.POST.dict(), **({"teams": teams} if template is None else {}))
        rows_formset = django_forms.formset_factory(TemplateStageRow, extra=0, max_num=50)
        formset = rows_formset(initial=rows, prefix="stages")
        return render(
            request,
            "tasks/template_form.html",
            {"form": form, "formset": formset, "template": template, "stages_error": None},
        )
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        team = template.team if template is not None else next(t for t in teams if t.pk == form.cleaned_data["team"])
        try:
            saved = services.template_save(
                actor=request.user,
                team=team,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                stages=_template_stage_specs(formset),
                template=template,
            )
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
            stages_error = " ".join(errors.pop("stages", []))
            if errors:
                add_service_errors(form, ValidationError(errors))
        else:
            messages.success(request, f"Template “{saved.name}” saved.")
            return redirect("tasks:template_list")
    return render(
        request,
        "tasks/template_form.html",
        {"form": form, "formset": formset, "template": template, "stages_error": stages_error},
        status=422 if request.method == "POST" else 200,
    )


@login_required
def template_create(request):
    return _template_form_page(request)


@login_required
def template_edit(request, pk: int):
    template = get_object_or_404(selectors.templates_visible_to(request.user).select_related("team"), pk=pk)
    return _template_form_page(request, template=template)


@login_required
@post_only("tasks:template_edit")
def template_delete(request, pk: int):
    template = get_object_or_404(selectors.templates_visible_to(request.user), pk=pk)
    require(request.user, Action.MANAGE, template.team_id)
    services.template_delete(actor=request.user, template=template)
    messages.success(request, f"Template “{template.name}” deleted.")
    return redirect("tasks:template_list")


@login_required
def template_use(request, pk: int):
    """From the templates page: pick a project, then fill in the new task with this template chosen."""
    template = get_object_or_404(selectors.templates_visible_to(request.user), pk=pk)
    require(request.user, Action.WORK, template.team_id)
    projects = list(selectors.projects_visible_to(request.user).filter(team_id=template.team_id))
    form = TemplateUseForm(request.GET)
    form.fields["project"].choices = [(p.pk, p.name) for p in projects]
    if not form.is_valid():
        messages.error(request, "Choose a project of this template's team.")
        return redirect("tasks:template_list")
    return redirect(reverse("tasks:task_create", args=[form.cleaned_data["project"]]) + f"?template={template.pk}")
