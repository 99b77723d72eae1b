"""Small presentation helpers for the task pages."""

from django import template

from tasks.models import Priority

register = template.Library()


@register.filter
def overdue_on(task, deadlines) -> bool:
    """`task|overdue_on:deadlines`: overdue as tasks/deadlines.py defines it (derived, never stored). `deadlines`
    is the view's `Day` (a page of one team's tasks) or `Deadlines` (tasks of several teams)."""
    return deadlines.is_overdue(task)


@register.filter
def due_soon_on(task, deadlines) -> bool:
    """`task|due_soon_on:deadlines`: due soon as tasks/deadlines.py defines it."""
    return deadlines.is_due_soon(task)


@register.filter
def priority_label(value) -> str:
    try:
        return Priority(int(value)).label
    except (TypeError, ValueError):
        return ""


@register.filter
def priority_class(value) -> str:
    try:
        return Priority(int(value)).name.lower()
    except (TypeError, ValueError):
        return ""


@register.filter
def at_most(count: int, cap: int) -> str:
    """A count read up to a cap: "999+" past it (see the capped counts of tasks/selectors.py)."""
    return f"{cap:,}+" if count > cap else f"{count:,}"
