"""The project's forecast in its pages' head (templates/tasks/_project_head.html): `{% project_forecast project %}`.

A tag of analytics, which keeps the forecasts, so that the board and the list show it without tasks importing
analytics (aether/tests/test_app_imports.py). Two short queries (analytics/forecast_selectors.py
project_forecast: the engine's kept ProjectForecast row and a capped count of the at-risk tasks)."""

from __future__ import annotations

from django import template
from django.urls import reverse

from tasks.deadlines import deadlines_at
from tasks.forecast_text import project_words

from ..forecast_selectors import project_forecast as read_project_forecast

register = template.Library()


@register.inclusion_tag("analytics/_project_forecast.html")
def project_forecast(project):
    """Give a Project the user may see (from tasks.selectors.projects_visible_to: its team loaded)."""
    summary = read_project_forecast(project.pk)
    today = deadlines_at().today(project.team.time_zone)
    return {
        "summary": summary,
        "words": project_words(summary, today),
        "at_risk_url": reverse("tasks:task_list", args=[project.pk]) + "?at_risk=true",
    }
