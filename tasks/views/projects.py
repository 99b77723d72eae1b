"""My work, the project list, the board and the task list, and project settings."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.forms import add_service_errors
from accounts.permissions import Action, can, require
from accounts.selectors import team_members

from .. import selectors, services
from ..deadlines import deadlines_for
from ..filters import TaskFilter
from ..forms import (
    ProjectCreateForm,
    ProjectForm,
)
from ..models import Priority, Status
from ._common import LIST_PAGE_SIZE, CappedPaginator, _errors_text, _project_or_404, _teams_where


@login_required
def my_work(request):
    deadlines = deadlines_for(request)
    limit = selectors.MY_WORK_GROUP_LIMIT
    groups = selectors.my_work(request.user, deadlines=deadlines, limit=limit)
    return render(
        request,
        "tasks/my_work.html",
        {
            # name -> (the first `limit` tasks, whether there are more)
            "groups": {name: (tasks[:limit], len(tasks) > limit) for name, tasks in groups.items()},
            "empty": not any(groups.values()),
            "deadlines": deadlines,  # rows of several teams: each judged in its own (`team_time_zone`)
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
            "deadlines": deadlines_for(request).day(project.team.time_zone),
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
            "deadlines": deadlines_for(request).day(project.team.time_zone),
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
