"""The task list's CSV: the list's tasks, filters and sort (projects.task_list_query), streamed."""

from __future__ import annotations

import zoneinfo

from django.contrib.auth.decorators import login_required
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from ..export import content_disposition, tasks_csv
from ._common import _project_or_404
from .projects import task_list_query

# The list's filters as its page names them (templates/tasks/task_list.html).
FILTER_NAMES = {
    "search": "Search",
    "status": "Status",
    "priority": "Priority",
    "assignee": "Assignee",
    "label": "Label",
    "overdue": "Overdue",
    "due_soon": "Due soon",
    "at_risk": "At risk",
    "due_after": "Due from",
    "due_before": "Due until",
    "ordering": "Sort",
    "__all__": "Filters",
}


@login_required
def task_list_csv(request, pk: int):
    """GET /projects/<pk>/list/tasks.csv?<the list's parameters>: what the list shows, every page of it. A
    project the user may not see is a 404 (the selectors' scope); a bad parameter is a 400 page naming it."""
    project = _project_or_404(request, pk)
    listed = task_list_query(request, project)
    if (listed.filterset.is_bound and not listed.filterset.is_valid()) or listed.sort_error:
        errors = [(FILTER_NAMES.get(name, name), messages) for name, messages in listed.errors.items()]
        back = reverse("tasks:task_list", args=[project.pk]) + ("?" + request.GET.urlencode() if request.GET else "")
        return render(
            request, "tasks/task_list_csv_error.html", {"project": project, "errors": errors, "back": back}, status=400
        )
    team = project.team
    response = StreamingHttpResponse(
        tasks_csv(listed.tasks, team_id=team.pk, time_zone=team.time_zone), content_type="text/csv; charset=utf-8"
    )
    today = timezone.now().astimezone(zoneinfo.ZoneInfo(team.time_zone)).date()  # the team's day, as the times
    response["Content-Disposition"] = content_disposition(team.name, project.name, today)
    response["Cache-Control"] = "private, no-store"
    return response
