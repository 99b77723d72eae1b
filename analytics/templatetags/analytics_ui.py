"""How the dashboard says a figure: in the words and units people use ("2.5 days", "24 % longer than
estimated", "1 day late"), "no data" where there is none, never a division error; and the link from a figure
to the tasks behind it (the project's task list with the filters it supports)."""

from __future__ import annotations

from urllib.parse import urlencode

from django import template
from django.urls import reverse

from tasks.models import Status

register = template.Library()

LONG_HOURS = 48  # from two days on, a time reads in days


def _number(value: float) -> str:
    """One decimal below 10 (2.5), none from 10 (24); never a trailing ".0"."""
    text = f"{value:,.1f}" if abs(value) < 10 else f"{value:,.0f}"
    return text.removesuffix(".0")


@register.filter
def figure(value, unit: str = ""):
    if value is None:
        return "no data"
    if isinstance(value, float):
        value = _number(value)
    elif isinstance(value, int):
        value = f"{value:,}"
    return f"{value} {unit}".strip()


@register.filter
def duration(hours):
    """A time span as people say it: minutes under an hour, hours under two days, days beyond."""
    if hours is None:
        return "no data"
    if hours < 1:
        return f"{round(hours * 60)} min"
    if hours < LONG_HOURS:
        return f"{_number(hours)} h"
    return f"{_number(hours / 24)} days"


@register.filter
def delay(days):
    """A signed delay against the due date: "1.5 days late", "2 days early", "on the due date"."""
    if days is None:
        return "no data"
    if abs(days) < 0.05:
        return "on the due date"
    text = _number(abs(days))
    return f"{text} day{'' if text == '1' else 's'} {'late' if days > 0 else 'early'}"


@register.filter
def percent(value):
    """A share in whole percent ("less than 1 %" rather than a 0 that is not)."""
    if value is None:
        return "no data"
    if 0 < value < 0.005:
        return "less than 1 %"
    return f"{round(value * 100)} %"


@register.filter
def against_estimate(accuracy):
    """Σ actual ÷ Σ estimated, said as people would: "24 % longer than estimated"."""
    if accuracy is None:
        return "no estimate"
    change = round((accuracy - 1) * 100)
    if change == 0:
        return "as estimated"
    return f"{abs(change)} % {'longer' if change > 0 else 'shorter'} than estimated"


@register.filter
def overrun(hours):
    """A signed mean overrun: "+1.5 h a stage", "-0.5 h a stage"."""
    if hours is None:
        return "no data"
    if abs(hours) < 0.05:
        return "on estimate"
    sign = "+" if hours > 0 else "\u2212"  # a minus sign, as in print
    return f"{sign}{duration(abs(hours))} a stage"


@register.filter
def status_label(value: str) -> str:
    """ "in_progress" as the rest of the site says it: "In progress"."""
    return Status(value).label


@register.filter
def heat_level(value: int, peak: int) -> int:
    """0 (none) to 5 (the busiest hour), for the heatmap's cell colour."""
    if not value or not peak:
        return 0
    return 1 + min(4, (4 * value) // peak)


@register.simple_tag
def tasks_link(scope, **filters) -> str:
    """The task list behind a figure, where one list holds them: a project's list (`tasks:task_list`) with the
    filters it supports (status, priority, assignee, overdue), the scope's assignee kept. "" for a team or
    "my work" (their tasks are in several projects' lists; the page links to those instead)."""
    if scope is None or scope.project is None:
        return ""
    params = {name: value for name, value in filters.items() if value not in (None, "")}
    if scope.assignee_id is not None:
        params.setdefault("assignee", scope.assignee_id)
    url = reverse("tasks:task_list", args=[scope.project.pk])
    return f"{url}?{urlencode(params)}" if params else url
