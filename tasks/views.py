"""The HTML pages of projects, tasks, stages, comments, templates, trash and archive.

Thin by design: each view finds its object through a selector scoped to the user (another team's object is a
404), asks accounts.permissions before a write (a viewer's forged POST is a 403), parses a form, calls one
service, and redirects (or re-renders the form with the service's error next to its field). htmx requests
follow the same redirect and swap the page's <main> in place; without JavaScript the same forms post normally.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.forms import add_service_errors
from accounts.models import Team
from accounts.permissions import Action, can, require
from accounts.selectors import memberships_of, team_members

from . import selectors, services
from .filters import TaskFilter
from .forms import (
    CommentForm,
    LabelForm,
    ProjectCreateForm,
    ProjectForm,
    StageCompleteForm,
    StageForm,
    StageMoveForm,
    StatusForm,
    TaskCreateForm,
    TaskForm,
    TemplateCreateForm,
    TemplateForm,
    TemplateStageFormSet,
    TemplateUseForm,
)
from .models import Activity, Priority, Project, Status, Task

LIST_PAGE_SIZE = 25


class CappedPaginator(Paginator):
    """Counts at most `cap` + 1 rows: a list matching half a million tasks must not pay a full COUNT on every
    page view. Past the cap the page says "10,000+" and offers the pages up to it."""

    cap = 10_000

    @cached_property
    def count(self) -> int:
        return self.object_list.values("pk")[: self.cap + 1].count()  # values(): no annotations in the count


def _errors_text(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _back(request, default: str) -> HttpResponseRedirect:
    """Redirect to the form's `next` when it is a path on this site, else to `default`."""
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(default)


def _project_or_404(request, pk: int) -> Project:
    return get_object_or_404(selectors.projects_visible_to(request.user), pk=pk)


def _task_or_404(request, pk: int, *, include_deleted: bool = False) -> Task:
    qs = selectors.with_details(selectors.tasks_visible_to(request.user, include_deleted=include_deleted))
    return get_object_or_404(qs, pk=pk)


def _teams_where(user, action: Action) -> list[Team]:
    return [m.team for m in memberships_of(user) if can(user, action, m.team_id)]


# --- my work, projects, board, list ---------------------------------------------------------------------


@login_required
def my_work(request):
    today = selectors.today_in()
    limit = selectors.MY_WORK_GROUP_LIMIT
    groups = selectors.my_work(request.user, today=today, limit=limit)
    return render(
        request,
        "tasks/my_work.html",
        {
            # name -> (the first `limit` tasks, whether there are more)
            "groups": {name: (tasks[:limit], len(tasks) > limit) for name, tasks in groups.items()},
            "empty": not any(groups.values()),
            "today": today,
            "limit": limit,
        },
    )


@login_required
def project_list(request):
    teams = _teams_where(request.user, Action.MANAGE)
    form = None
    if request.method == "POST":
        form = ProjectCreateForm(request.POST, teams=teams)
        if not teams:
            raise PermissionDenied("Only team admins create projects.")
        if form.is_valid():
            team = next(t for t in teams if t.pk == form.cleaned_data["team"])
            try:
                project = services.project_create(
                    actor=request.user,
                    team=team,
                    name=form.cleaned_data["name"],
                    description=form.cleaned_data["description"],
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Project “{project.name}” created.")
                return redirect("tasks:board", project.pk)
    projects = list(selectors.projects_with_counts(request.user))
    return render(
        request,
        "tasks/project_list.html",
        {
            "projects": projects,
            "count_cap": selectors.COUNT_CAP,
            "form": form or (ProjectCreateForm(teams=teams) if teams else None),
            "open_form": form is not None,
        },
        status=422 if form is not None else 200,
    )


@login_required
def board(request, pk: int):
    project = _project_or_404(request, pk)
    limit = selectors.BOARD_COLUMN_LIMIT
    columns = selectors.board_columns(request.user, project, limit=limit)
    today = selectors.today_in(project.team.time_zone)
    return render(
        request,
        "tasks/board.html",
        {
            "project": project,
            # (status, label, the first `limit` cards, whether there are more)
            "columns": [
                (value, label, columns[value][:limit], len(columns[value]) > limit) for value, label in Status.choices
            ],
            "limit": limit,
            "status_choices": Status.choices,
            "today": today,
            "can_work": can(request.user, Action.WORK, project.team_id),
            "can_manage": can(request.user, Action.MANAGE, project.team_id),
        },
    )


@login_required
def task_list(request, pk: int):
    project = _project_or_404(request, pk)
    filterset = TaskFilter(request.GET or None, selectors.project_tasks(request.user, project), request=request)
    filterset.form.fields.pop("project", None)
    qs = filterset.qs
    # Newest first unless a sort was chosen; the id breaks ties, so that pages neither repeat nor skip rows.
    qs = qs.order_by(*(qs.query.order_by or ("-created_at",)), "-id")
    page = CappedPaginator(qs, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "tasks/task_list.html",
        {
            "project": project,
            "filter": filterset,
            "form": filterset.form,
            "page": page,
            "members": list(team_members(project.team)),
            "labels": list(selectors.labels_visible_to(request.user).filter(team=project.team_id)),
            "priorities": [(p.name.lower(), p.label) for p in Priority],
            "status_choices": Status.choices,
            "orderings": [
                ("", "Newest first"),
                ("created_at", "Oldest first"),
                ("due_date", "Due date, soonest first"),
                ("-due_date", "Due date, latest first"),
                ("-priority", "Priority, highest first"),
                ("priority", "Priority, lowest first"),
            ],
            "today": selectors.today_in(project.team.time_zone),
            "can_work": can(request.user, Action.WORK, project.team_id),
        },
    )


@login_required
def project_edit(request, pk: int):
    project = _project_or_404(request, pk)
    require(request.user, Action.MANAGE, project.team_id)
    form = ProjectForm(request.POST or None, initial={"name": project.name, "description": project.description})
    if request.method == "POST" and form.is_valid():
        try:
            services.project_update(actor=request.user, project=project, data=form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Project saved.")
            return redirect("tasks:board", project.pk)
    return render(
        request,
        "tasks/project_edit.html",
        {"project": project, "form": form},
        status=422 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def project_delete(request, pk: int):
    project = _project_or_404(request, pk)
    require(request.user, Action.MANAGE, project.team_id)
    try:
        services.project_delete(actor=request.user, project=project)
    except ValidationError as exc:
        messages.error(request, _errors_text(exc))
        return redirect("tasks:project_edit", project.pk)
    messages.success(request, f"Project “{project.name}” deleted.")
    return redirect("tasks:project_list")


# --- tasks ----------------------------------------------------------------------------------------------


@login_required
def task_create(request, pk: int):
    project = _project_or_404(request, pk)
    require(request.user, Action.WORK, project.team_id)
    initial = {}
    template_id = request.GET.get("template")
    if template_id and template_id.isdigit():
        initial["template"] = int(template_id)
    form = TaskCreateForm(request.POST or None, team_id=project.team_id, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            task, created = services.task_create(
                actor=request.user,
                project=project,
                title=data["title"],
                description=data["description"],
                priority=data["priority"],
                assignee=data["assignee"],
                due_date=data["due_date"],
                labels=data.get("labels") or (),
                template=data["template"],
                idempotency_key=data["idempotency_key"] or None,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if created:
                messages.success(request, f"Task “{task.title}” created.")
            return redirect("tasks:task_detail", task.pk)
    return render(
        request,
        "tasks/task_create.html",
        {"project": project, "form": form},
        status=422 if request.method == "POST" else 200,
    )


def _describe(activity: Activity, people: dict) -> str:
    """One line of the history, in words. Values are stored as ids and strings; this names them."""
    verb, field, old, new = activity.verb, activity.field, activity.old_value, activity.new_value
    status_label = dict(Status.choices)
    if verb in (Activity.Verb.STATUS_CHANGED, Activity.Verb.COMPLETED, Activity.Verb.REOPENED):
        return f"moved the task from {status_label.get(old, old)} to {status_label.get(new, new)}"
    if verb == Activity.Verb.ASSIGNED:
        if new is None:
            return "unassigned the task"
        person = people.get(new)
        return f"assigned the task to {person.get_full_name() if person else 'a former member'}"
    if verb == Activity.Verb.UPDATED:
        if field == "priority":
            return f"changed the priority from {Priority(old).label} to {Priority(new).label}"
        if field == "due_date":
            if not new:
                return "removed the due date"
            return f"set the due date to {new}" if not old else f"moved the due date from {old} to {new}"
        if field == "title":
            return f"renamed the task from “{old}” to “{new}”"
        if field == "labels":
            return "changed the labels"
        return f"changed the {field.replace('_', ' ')}"
    if verb == Activity.Verb.STAGE_ADDED:
        return f"added the stage “{(new or {}).get('name', '')}”"
    if verb == Activity.Verb.STAGE_COMPLETED:
        return f"completed {field} “{new.get('name', '')}” in {new.get('actual_hours', '?')} h"
    if verb in (Activity.Verb.STAGE_STARTED, Activity.Verb.STAGE_REOPENED):
        return f"{'started' if verb == Activity.Verb.STAGE_STARTED else 'reopened'} {field} “{new}”"
    if verb == Activity.Verb.STAGE_DELETED:
        return f"deleted {field} “{old}”"
    if verb == Activity.Verb.STAGE_UPDATED:
        return f"changed {field}"
    return activity.get_verb_display()


def _task_page(request, task: Task, *, status: int = 200, **forms):
    """The task page; `forms` replaces a blank form by the bound one whose errors are to be shown."""
    team_id = task.project.team_id
    stages = list(task.stages.all())
    activities = list(selectors.task_activity(task))
    people = selectors.users_by_id(a.new_value for a in activities if a.verb == Activity.Verb.ASSIGNED)
    for a in activities:
        a.text = _describe(a, people)
    complete_for = forms.pop("complete_for", None)
    for stage in stages:
        stage.complete_form = (
            complete_for[1]
            if complete_for and complete_for[0] == stage.pk
            else StageCompleteForm(
                initial={"actual_hours": stage.actual_hours}, prefix=f"stage{stage.pk}", auto_id="id_%s"
            )
        )
    edit_initial = {
        "title": task.title,
        "description": task.description,
        "priority": task.priority,
        "assignee": task.assignee_id,
        "due_date": task.due_date,
        "labels": [label.pk for label in task.labels.all()],
    }
    can_work = can(request.user, Action.WORK, team_id)
    context = {
        "task": task,
        "stages": stages,
        "stages_done": sum(1 for s in stages if s.status == Status.COMPLETED),
        "estimated_total": sum((s.estimated_hours for s in stages), Decimal("0")),
        "actual_total": sum((s.actual_hours or Decimal("0") for s in stages), Decimal("0")),
        "comments": list(selectors.task_comments(task)),
        "activities": activities,
        "today": selectors.today_in(task.project.team.time_zone),
        "can_work": can_work,
        "status_choices": Status.choices,
        "statuses": Status,
    }
    if can_work:
        context.update(
            {
                "edit_form": forms.get("edit_form") or TaskForm(initial=edit_initial, team_id=team_id),
                "stage_form": forms.get("stage_form") or StageForm(),
                "comment_form": forms.get("comment_form") or CommentForm(),
                "label_form": forms.get("label_form") or LabelForm(),
                "open_edit": "edit_form" in forms,
            }
        )
    return render(request, "tasks/task_detail.html", context, status=status)


@login_required
def task_detail(request, pk: int):
    return _task_page(request, _task_or_404(request, pk))


def _task_for_work(request, pk: int) -> Task:
    """The task, if the user sees it (else 404) and may work on it (else 403)."""
    task = _task_or_404(request, pk)
    require(request.user, Action.WORK, task.project.team_id)
    return task


@login_required
@require_POST
def task_edit(request, pk: int):
    task = _task_for_work(request, pk)
    form = TaskForm(request.POST, team_id=task.project.team_id)
    if form.is_valid():
        data = dict(form.cleaned_data)
        if "labels" in data:
            data["labels"] = list(data["labels"])
        try:
            services.task_update(actor=request.user, task=task, data=data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Task saved.")
            return redirect("tasks:task_detail", task.pk)
    task = _task_or_404(request, pk)  # the service may have changed the copy before refusing
    return _task_page(request, task, status=422, edit_form=form)


@login_required
@require_POST
def task_status(request, pk: int):
    """Move a task to a status (the board's cards, the task page). A refused move is a message, not an error
    page: a task with stages follows its stages."""
    task = _task_for_work(request, pk)
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose pending, in progress or completed.")
    else:
        try:
            services.task_set_status(actor=request.user, task=task, status=form.cleaned_data["status"])
        except ValidationError as exc:
            messages.error(request, f"“{task.title}” was not moved: {_errors_text(exc)}")
        else:
            messages.success(request, f"“{task.title}” is now {task.get_status_display().lower()}.")
    return _back(request, reverse("tasks:task_detail", args=[task.pk]))


@login_required
@require_POST
def task_delete(request, pk: int):
    task = _task_for_work(request, pk)
    services.task_delete(actor=request.user, task=task)
    messages.success(request, f"“{task.title}” was moved to the trash.")
    return redirect("tasks:board", task.project_id)


@login_required
@require_POST
def task_restore(request, pk: int):
    task = _task_or_404(request, pk, include_deleted=True)
    require(request.user, Action.WORK, task.project.team_id)
    services.task_restore(actor=request.user, task=task)
    messages.success(request, f"“{task.title}” was restored.")
    return _back(request, reverse("tasks:trash"))


@login_required
@require_POST
def label_add(request, pk: int):
    task = _task_for_work(request, pk)
    form = LabelForm(request.POST)
    if form.is_valid():
        try:
            label = services.label_create(actor=request.user, team=task.project.team, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Label “{label.name}” created; tick it in the task's details to use it.")
            return redirect("tasks:task_detail", task.pk)
    return _task_page(request, task, status=422, label_form=form)


# --- stages ---------------------------------------------------------------------------------------------


@login_required
@require_POST
def stage_add(request, pk: int):
    task = _task_for_work(request, pk)
    form = StageForm(request.POST)
    if form.is_valid():
        try:
            services.stage_add(actor=request.user, task=task, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect(reverse("tasks:task_detail", args=[task.pk]) + "#stages")
    return _task_page(request, _task_or_404(request, pk), status=422, stage_form=form)


def _stage_for_work(request, pk: int):
    stage = get_object_or_404(selectors.stages_visible_to(request.user), pk=pk)
    require(request.user, Action.WORK, stage.task.project.team_id)
    return stage


def _after_stage(request, stage, exc: ValidationError | None = None):
    if exc is not None:
        messages.error(request, f"Stage “{stage.name}”: {_errors_text(exc)}")
    return redirect(reverse("tasks:task_detail", args=[stage.task_id]) + "#stages")


def _stage_transition(request, pk: int, service):
    stage = _stage_for_work(request, pk)
    try:
        service(actor=request.user, stage=stage)
    except ValidationError as exc:
        return _after_stage(request, stage, exc)
    return _after_stage(request, stage)


@login_required
@require_POST
def stage_start(request, pk: int):
    return _stage_transition(request, pk, services.stage_start)


@login_required
@require_POST
def stage_complete(request, pk: int):
    stage = _stage_for_work(request, pk)
    form = StageCompleteForm(request.POST, prefix=f"stage{stage.pk}", auto_id="id_%s")
    if form.is_valid():
        try:
            services.stage_complete(actor=request.user, stage=stage, actual_hours=form.cleaned_data["actual_hours"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Stage “{stage.name}” completed.")
            return _after_stage(request, stage)
    task = _task_or_404(request, stage.task_id)
    return _task_page(request, task, status=422, complete_for=(stage.pk, form))


@login_required
@require_POST
def stage_reopen(request, pk: int):
    return _stage_transition(request, pk, services.stage_reopen)


@login_required
@require_POST
def stage_delete(request, pk: int):
    stage = _stage_for_work(request, pk)
    try:
        services.stage_delete(actor=request.user, stage=stage)
    except ValidationError as exc:
        return _after_stage(request, stage, exc)
    messages.success(request, f"Stage “{stage.name}” deleted.")
    return _after_stage(request, stage)


@login_required
@require_POST
def stage_move(request, pk: int):
    """Move a stage one place up or down (a keyboard-friendly reorder, through stages_reorder)."""
    stage = _stage_for_work(request, pk)
    form = StageMoveForm(request.POST)
    if not form.is_valid():
        return _after_stage(request, stage, ValidationError("Move a stage up or down."))
    ids = list(stage.task.stages.order_by("order").values_list("pk", flat=True))
    i = ids.index(stage.pk)
    j = i - 1 if form.cleaned_data["direction"] == "up" else i + 1
    if 0 <= j < len(ids):
        ids[i], ids[j] = ids[j], ids[i]
        try:
            services.stages_reorder(actor=request.user, task=stage.task, stage_ids=ids)
        except ValidationError as exc:
            return _after_stage(request, stage, exc)
    return _after_stage(request, stage)


# --- comments -------------------------------------------------------------------------------------------


@login_required
@require_POST
def comment_add(request, pk: int):
    task = _task_for_work(request, pk)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            comment = services.comment_create(actor=request.user, task=task, body=form.cleaned_data["body"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect(reverse("tasks:task_detail", args=[task.pk]) + f"#comment-{comment.pk}")
    return _task_page(request, task, status=422, comment_form=form)


# --- templates ------------------------------------------------------------------------------------------


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
@require_POST
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


# --- trash, archive, dashboard --------------------------------------------------------------------------


@login_required
def trash(request):
    page = CappedPaginator(selectors.trash_page(request.user), LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    for task in page:
        task.can_restore = can(request.user, Action.WORK, task.project.team_id)
    return render(request, "tasks/trash.html", {"page": page})


@login_required
def archive(request):
    page = CappedPaginator(selectors.archive_page(request.user), LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "tasks/archive.html", {"page": page})


@login_required
def dashboard_pending(request):
    """Where the navigation's Dashboard link points until the analytics pages exist."""
    return render(request, "tasks/dashboard_pending.html")
