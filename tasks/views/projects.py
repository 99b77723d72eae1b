"""My work, the project list, the board and the task list, and project settings."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from accounts.forms import add_service_errors
from accounts.permissions import Action, can, require
from accounts.selectors import team_members
from aether.live.pages import live_page
from aether.posting import post_only

from .. import selectors, services
from ..deadlines import deadlines_for
from ..filters import StrictBooleanField, TaskFilter
from ..forecast_text import forecast_words, risk_words
from ..forms import (
    ProjectCreateForm,
    ProjectForm,
    StagesCompleteForm,
)
from ..models import Priority, Status, Task
from ._common import (
    LIST_PAGE_SIZE,
    CappedPaginator,
    _back,
    _errors_text,
    _project_or_404,
    _task_for_work,
    _teams_where,
)

POST, ASK_HOURS = "post", "hours"


def _url_maker(name: str):
    """A fast `reverse(name, args=[pk])` for the cards of a page: one reverse, then string formatting (a
    `{% url %}` per link was a fifth of the board's rendering)."""
    head, _, tail = reverse(name, args=[987654321]).partition("987654321")
    return lambda pk: f"{head}{pk}{tail}"


PRIORITY_DISPLAY = {p.value: (p.name.lower(), p.label) for p in Priority}


def _for_display(tasks, deadlines, *, forecasts: bool = False) -> None:
    """What the card and row templates (includes/task_meta.html) show of each task, computed once here in
    Python: its link, whether it is overdue or due soon by the one definition (`deadlines`: a Day of the
    project's team, or the Deadlines of a page that spans teams; tasks/deadlines.py), its priority's class
    and label, its due date as text and its assignee's name. A board renders 150 cards: each lookup and
    filter the template engine does not do is a few milliseconds of the page.

    With `forecasts` (rows from selectors.with_card_data, their forecast loaded): the forecast in words
    (`forecast_text`, the tooltip), whether it is at risk and why (`at_risk`, `risk_text`)."""
    detail = _url_maker("tasks:task_detail")
    for task in tasks:
        if forecasts:
            forecast, done = selectors.loaded_forecast(task), task.status == Status.COMPLETED
            task.forecast_text = "" if done else forecast_words(forecast)  # a completed task has no forecast
            task.at_risk = bool(forecast and forecast.at_risk) and not done
            task.risk_text = risk_words(forecast, task.due_date) if task.at_risk else ""
        task.url = detail(task.pk)
        task.overdue = deadlines.is_overdue(task)
        task.due_soon = not task.overdue and deadlines.is_due_soon(task)
        task.priority_class, task.priority_text = PRIORITY_DISPLAY.get(task.priority, ("", ""))
        if task.due_date is not None:
            task.due_iso, task.due_short = task.due_date.isoformat(), f"{task.due_date.day} {task.due_date:%b}"
        name = task.assignee.get_full_name() if task.assignee_id else ""
        task.assignee_name, task.assignee_initial = name, name[:1].upper()


def board_moves(task: Task) -> list[tuple[str, str, str]]:
    """The moves a card offers: (status, label, how), only those that can succeed (tasks.services'
    task_set_status rules). `how` is POST (the status form does it) or ASK_HOURS (Completed for a task with
    open stages: a form asks each open stage's actual hours, then task_complete_with_stages). Needs the
    board's annotations stage_count, stages_done and stages_begun (stages not pending)."""
    labels = dict(Status.choices)
    n, begun = task.stage_count, task.stages_begun
    allowed = []
    if task.status != Status.PENDING and (n == 0 or begun == 0):
        allowed.append((Status.PENDING, POST))
    if task.status != Status.IN_PROGRESS and (n == 0 or task.status == Status.COMPLETED or begun < n):
        allowed.append((Status.IN_PROGRESS, POST))
    if task.status != Status.COMPLETED:
        allowed.append((Status.COMPLETED, POST if n == 0 else ASK_HOURS))
    return [(str(status), labels[status], how) for status, how in allowed]


@login_required
@live_page("mine")
def my_work(request):
    deadlines = deadlines_for(request)
    limit = selectors.MY_WORK_GROUP_LIMIT
    groups = selectors.my_work(request.user, deadlines=deadlines, limit=limit)
    for tasks in groups.values():
        _for_display(tasks[:limit], deadlines, forecasts=True)
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


def _at_risk_param(request) -> tuple[bool | None, str | None]:
    """The board's `at_risk` (as the list's filter reads it: true or false, empty for either): (the value, the
    error to announce when it is not one; the board then shows every task)."""
    try:
        return StrictBooleanField(required=False).clean(request.GET.get("at_risk", "")), None
    except ValidationError as exc:
        return None, f"At risk: {_errors_text(exc)} Every task is shown."


@login_required
@live_page("project")
def board(request, pk: int):
    project = _project_or_404(request, pk)
    limit = selectors.BOARD_COLUMN_LIMIT
    at_risk, at_risk_error = _at_risk_param(request)
    columns = selectors.board_columns(request.user, project, limit=limit, at_risk=at_risk)
    day = deadlines_for(request).day(project.team.time_zone)
    can_work = can(request.user, Action.WORK, project.team_id)
    board_url = reverse("tasks:board", args=[project.pk])
    status_url, complete_url = _url_maker("tasks:task_status"), _url_maker("tasks:task_complete_stages")
    back = urlencode({"next": board_url})
    for cards in columns.values():
        _for_display(cards[:limit], day, forecasts=True)
        if can_work:
            for task in cards[:limit]:
                task.moves = board_moves(task)
                task.move_targets = " ".join(status for status, _, _ in task.moves)
                task.status_url = status_url(task.pk)
                task.complete_url = f"{complete_url(task.pk)}?{back}"
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
            "can_work": can_work,
            "ask_hours": ASK_HOURS,
            "board_url": board_url,
            "can_manage": can(request.user, Action.MANAGE, project.team_id),
            "at_risk": at_risk,
            "at_risk_error": at_risk_error,
            # what the columns' "see all in the list" links keep of the board's filter
            "list_filter": "&at_risk=true" if at_risk else "&at_risk=false" if at_risk is False else "",
        },
    )


# The list's sorts: the column a header sorts, its value of `ordering` (direction first) and the ORDER BY. Each
# ORDER BY is the order of an index or that order reversed (task_list_open_first, task_project_recent,
# task_list_urgent_first, task_list_due_first; with a status filter, task_board_order), so that a page reads
# its rows from the index instead of sorting the project's half a million (see docs/performance.md).
LIST_SORTS = {
    "-status": ("status", ("-status", "-created_at", "-id")),  # the default: open first (pending, in progress)
    "status": ("status", ("status", "created_at", "id")),
    "-created_at": ("created_at", ("-created_at", "-id")),
    "created_at": ("created_at", ("created_at", "id")),
    "-priority": ("priority", ("-priority", "due_date", "-created_at", "-id")),  # as the board: most urgent first
    "priority": ("priority", ("priority", "-due_date", "created_at", "id")),
    "due_date": ("due_date", ("due_date", "id")),
    "-due_date": ("due_date", ("-due_date", "-id")),
}
DEFAULT_LIST_SORT = "-status"
# Each sortable header: (column, label, the sort of its first click).
LIST_HEADERS = [
    ("created_at", "Task", "-created_at"),
    ("status", "Status", "-status"),
    ("priority", "Priority", "-priority"),
    ("assignee", "Assignee", None),
    ("due_date", "Due", "due_date"),
    ("stages", "Stages", None),
    ("forecast", "Forecast", None),
]
SORT_NAMES = {
    "-status": "open tasks first, newest first",
    "status": "completed tasks first",
    "-created_at": "newest first",
    "created_at": "oldest first",
    "-priority": "highest priority first",
    "priority": "lowest priority first",
    "due_date": "due soonest first",
    "-due_date": "due latest first",
}


def _list_headers(request, sort: str) -> list[dict]:
    """The table's headers: label, the link that sorts by it (the other filters kept, back to page 1), and
    aria-sort for the one in use."""
    column_now = LIST_SORTS[sort][0]
    headers = []
    for column, label, first in LIST_HEADERS:
        header = {"label": label, "url": None, "aria_sort": None}
        if first is not None:
            if column == column_now:
                header["aria_sort"] = "descending" if sort.startswith("-") else "ascending"
                target = sort[1:] if sort.startswith("-") else f"-{sort}"  # a second click turns it round
            else:
                target = first
            query = request.GET.copy()
            query.pop("page", None)
            query["ordering"] = target
            header["url"] = f"?{query.urlencode()}"
            header["next_sort"] = SORT_NAMES[target]
        headers.append(header)
    return headers


@dataclass
class TaskListQuery:
    """The task list as the screen's filters and sort choose it: what the page shows a page of and the CSV
    writes whole (tasks/views/export.py). `errors` are the bad parameters' messages by name ("ordering" for a
    bad sort); with any, `tasks` is what the page falls back to (none for a bad filter, the default sort)."""

    filterset: TaskFilter
    tasks: QuerySet[Task]
    sort: str
    sort_error: str | None
    filtered: bool

    @property
    def errors(self) -> dict[str, list[str]]:
        errors = {name: list(messages) for name, messages in self.filterset.form.errors.items()}
        if self.sort_error:
            errors["ordering"] = [self.sort_error]
        return errors


def task_list_query(request, project) -> TaskListQuery:
    """The one reading of the task list's parameters (filters, sort) over the project's tasks the user may see
    (selectors.project_tasks): the list page and its CSV both call it, so the file is what the screen shows."""
    data = request.GET.copy()
    sort = data.pop("ordering", [""])[-1] or DEFAULT_LIST_SORT
    sort_error = None
    if sort not in LIST_SORTS:
        sort_error = "Sort by the column headers (status, task, priority or due date)."
        sort = DEFAULT_LIST_SORT
    filterset = TaskFilter(data or None, selectors.project_tasks(request.user, project), request=request)
    filterset.form.fields.pop("project", None)
    return TaskListQuery(
        filterset=filterset,
        tasks=filterset.qs.order_by(*LIST_SORTS[sort][1]),
        sort=sort,
        sort_error=sort_error,
        filtered=any(v for k, v in data.items() if k != "page"),
    )


@login_required
@live_page("project")
def task_list(request, pk: int):
    project = _project_or_404(request, pk)
    listed = task_list_query(request, project)
    filterset, sort, sort_error, filtered = listed.filterset, listed.sort, listed.sort_error, listed.filtered
    page = CappedPaginator(listed.tasks, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    _for_display(page.object_list, deadlines_for(request).day(project.team.time_zone), forecasts=True)
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
            "sort": sort if sort != DEFAULT_LIST_SORT else "",
            "sort_name": SORT_NAMES[sort],
            "sort_error": sort_error,
            "headers": _list_headers(request, sort),
            "filtered": filtered,
            "filters_open": (filtered and not filterset.form.is_valid()) or sort_error is not None,
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
@post_only("tasks:project_edit")
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


@login_required
def task_complete_stages(request, pk: int):
    """Complete a task with open stages in one go: a form asks each open stage's actual hours (what a drop
    on the board's Completed column opens, in a dialog with JS or as this page without)."""
    task = _task_for_work(request, pk)
    board = reverse("tasks:board", args=[task.project_id])
    target = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = board
    stages = [s for s in task.stages.all() if s.status != Status.COMPLETED]
    if not stages and request.method != "POST":
        messages.info(request, f"“{task.title}” has no open stage to complete.")
        return redirect(target)
    form = StagesCompleteForm(request.POST or None, stages=stages, field_name=services.actual_hours_field)
    if request.method == "POST" and form.is_valid():
        try:
            services.task_complete_with_stages(actor=request.user, task=task, actual_hours=form.hours_by_stage())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"“{task.title}” is now completed, with its {len(stages)} open stages.")
            return _back(request, board)
    response = render(
        request,
        "tasks/task_complete.html",
        {"task": task, "form": form, "next": target},
        status=422 if request.method == "POST" else 200,
    )
    if request.method == "POST" and request.htmx:
        # A refusal replaces the form where it is (the board's dialog, or this page), not the whole page.
        response["HX-Retarget"] = "#complete-form"
        response["HX-Reselect"] = "#complete-form"
        response["HX-Reswap"] = "outerHTML"
    return response
