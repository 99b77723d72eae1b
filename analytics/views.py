"""The HTML dashboard: filters, figures and charts. Thin: the form parses, the selectors scope and compute."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from accounts.selectors import teams_of
from tasks.selectors import projects_visible_to

from .forms import DashboardFilterForm
from .selectors import PRESETS, assignee_choices, dashboard_figures, dashboard_scope

DEFAULT_PRESET = "30"


@login_required
def dashboard(request):
    params = request.GET.copy()
    if not any(params.get(name) for name in ("range", "since", "until")):
        params["range"] = DEFAULT_PRESET
    form = DashboardFilterForm(params)
    context = {
        "form": form,
        "presets": PRESETS,
        "projects": projects_visible_to(request.user).order_by("team__name", "name"),
        "teams": teams_of(request.user),
    }
    if not form.is_valid():
        return render(request, "analytics/dashboard.html", context, status=400)
    scope = dashboard_scope(request.user, **form.scope_arguments())
    figures = dashboard_figures(scope)
    query = urlencode([(name, value) for name, value in request.GET.items() if value])  # the API refuses empty ones
    heat = figures["heatmap"]
    context.update(
        scope=scope,
        figures=figures,
        members=assignee_choices(scope),
        csv_query=query,
        hours=range(24),
        heat_rows=list(zip(heat["weekdays"], heat["counts"], strict=True)),
        heat_peak=max(max(row) for row in heat["counts"]),
    )
    return render(request, "analytics/dashboard.html", context)
