"""Small presentation helpers for the task pages."""

from django import template

from tasks.models import Priority

register = template.Library()


@register.filter
def overdue_on(task, today) -> bool:
    """`task|overdue_on:today`: open and due before today (overdue is derived, never stored)."""
    return task.is_overdue_on(today)


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
