"""The HTML dashboard: filters, figures and charts. Thin: the form parses, the selectors scope and compute."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse

from accounts.selectors import first_team_run_by, teams_of
from tasks.selectors import projects_visible_to

from .forecast_selectors import AT_RISK_COUNT_CAP, at_risk_tasks, calibrations
from .forms import DashboardFilterForm
from .selectors import PRESETS, assignee_choices, dashboard_figures, dashboard_scope

DEFAULT_PRESET = "30"


@login_required
def dashboard(request):
    """`/dashboard/` with no scope opens on the team an owner or admin runs (their first by name), else on the
    person's own work; `team=` (empty, as the form sends "My work") asks for one's own work explicitly."""
    params = request.GET.copy()
    if "team" not in params and "project" not in params:
        team = first_team_run_by(request.user)
        if team is not None:
            params["team"] = str(team.pk)
    if not any(params.get(name) for name in ("range", "since", "until")):
        params["range"] = DEFAULT_PRESET
    form = DashboardFilterForm(params)
    projects = list(projects_visible_to(request.user).select_related("team").order_by("team__name", "name"))
    context = {"form": form, "presets": PRESETS, "projects": projects, "teams": teams_of(request.user)}
    if not form.is_valid():
        return render(request, "analytics/dashboard.html", context, status=400)
    try:
        scope = dashboard_scope(request.user, **form.scope_arguments())
    except Http404:
        # Another team's project or team (or one that does not exist): the same answer, said beside the field.
        field = "project" if form.cleaned_data.get("project") else "team"
        form.add_error(field, f"There is no such {field} among yours: choose one from the list.")
        return render(request, "analytics/dashboard.html", context, status=404)
    figures = dashboard_figures(scope)
    at_risk, at_risk_total = at_risk_tasks(scope)
    heat = figures["heatmap"]
    completion = figures["completion"]
    context.update(
        scope=scope,
        figures=figures,
        members=assignee_choices(scope),
        # the filters shown, defaults included (the API refuses empty values)
        csv_query=urlencode([(name, value) for name, value in params.items() if value]),
        hours=range(24),
        heat_rows=list(zip(heat["weekdays"], heat["counts"], strict=True)),
        heat_peak=max(max(row) for row in heat["counts"]),
        # nothing to chart: no task created or completed in the range, none open, none in the 12 weeks
        empty=not (
            figures["counts"]["created"]
            or figures["overdue"]["open"]
            or completion["count"]
            or any(w["created"] or w["completed"] for w in figures["throughput"])
        ),
        scope_projects=[p for p in projects if scope.team is not None and p.team_id == scope.team.pk],
        stages_ranked=_ranked(figures["stages"]),
        at_risk=at_risk,
        at_risk_total=at_risk_total,
        at_risk_cap=AT_RISK_COUNT_CAP,
        # the rest of a project's at-risk tasks: its list, filtered (a team's span projects, each its own list)
        at_risk_url=f"{reverse('tasks:task_list', args=[scope.project.pk])}?at_risk=true" if scope.project else None,
        calibrations=calibrations(scope),
    )
    return render(request, "analytics/dashboard.html", context)


def _ranked(stages: dict) -> list[dict]:
    """The stage rows in the selectors' one ranking (the chart's and the sentence's order)."""
    by_name = {s["name"]: s for s in stages["by_name"]}
    return [by_name[name] for name in stages["ranking"]]
