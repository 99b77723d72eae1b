"""The task list filters, shared by the HTML list page and the API, so both accept the same parameters and
answer bad values the same way (a form error naming the parameter)."""

from __future__ import annotations

import django_filters
from django import forms
from django.core.exceptions import ValidationError

from .deadlines import deadlines_for
from .models import Label, Priority, Project, Status, Task
from .selectors import search_tasks


class PriorityNameFilter(django_filters.ChoiceFilter):
    """`priority=high` (the API's names) filters on the stored rank."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("choices", [(p.name.lower(), p.label) for p in Priority])
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value in ("", None):
            return qs
        return qs.filter(priority=Priority.from_name(value))


class StrictBooleanField(forms.NullBooleanField):
    """true or false (1 or 0); empty means either. Anything else is an error, not a silent "either"."""

    widget = forms.TextInput  # the select widget would turn an unknown value into "either" before we see it

    def to_python(self, value):
        text = str(value).strip().lower() if value is not None else ""
        if text in ("", "unknown"):
            return None
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise ValidationError("Give true or false.", code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class AssigneeField(forms.CharField):
    def clean(self, value):
        value = super().clean(value)
        if value in ("", None, "me"):
            return value
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ValidationError("Give a user id or “me”.", code="invalid") from None


class AssigneeFilter(django_filters.Filter):
    """`assignee=<id>` or `assignee=me`."""

    field_class = AssigneeField

    def filter(self, qs, value):
        if value in ("", None):
            return qs
        if value == "me":
            return qs.filter(assignee=self.parent.request.user) if self.parent.request else qs.none()
        return qs.filter(assignee_id=value)


ORDERINGS = ["-created_at", "created_at", "due_date", "-due_date", "priority", "-priority"]


class TaskFilter(django_filters.FilterSet):
    """Filters and ordering of a task list. Give it a queryset already scoped by `tasks_visible_to(user)`."""

    project = django_filters.ModelChoiceFilter(queryset=Project.objects.none())
    status = django_filters.ChoiceFilter(choices=Status.choices)
    priority = PriorityNameFilter()
    assignee = AssigneeFilter()
    label = django_filters.ModelChoiceFilter(queryset=Label.objects.none(), field_name="labels")
    overdue = StrictBooleanFilter(method="filter_overdue")
    due_soon = StrictBooleanFilter(method="filter_due_soon")
    at_risk = StrictBooleanFilter(method="filter_at_risk")
    due_before = django_filters.DateFilter(field_name="due_date", lookup_expr="lte")
    due_after = django_filters.DateFilter(field_name="due_date", lookup_expr="gte")
    search = django_filters.CharFilter(method="filter_search", max_length=200)
    # One ordering at a time (the API pages along it by keyset, aether/pagination.py, with the id after it).
    ordering = django_filters.ChoiceFilter(choices=[(o, o) for o in ORDERINGS], method="filter_ordering")

    class Meta:
        model = Task
        fields: list[str] = []

    def __init__(self, data=None, queryset=None, *, request=None, **kwargs):
        super().__init__(data, queryset, request=request, **kwargs)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            from .selectors import labels_visible_to, projects_visible_to

            self.filters["project"].queryset = projects_visible_to(user)
            self.filters["label"].queryset = labels_visible_to(user)

    def filter_ordering(self, qs, name, value):
        """Newest first unless asked; the id breaks ties in the same direction."""
        if not value:
            return qs
        return qs.order_by(value, "-id" if value.startswith("-") else "id")

    def filter_overdue(self, qs, name, value):
        """Overdue as tasks/deadlines.py defines it, each task in its team's time zone, at the request's instant
        (the same one its rows' `is_overdue` is judged at)."""
        if value is None:
            return qs
        overdue = deadlines_for(self.request).overdue()
        return qs.filter(overdue) if value else qs.exclude(overdue)

    def filter_due_soon(self, qs, name, value):
        if value is None:
            return qs
        due_soon = deadlines_for(self.request).due_soon()
        return qs.filter(due_soon) if value else qs.exclude(due_soon)

    def filter_at_risk(self, qs, name, value):
        """At risk as analytics' forecast says it (its 85 % date after the due date); a task without a forecast
        is not at risk."""
        if value is None:
            return qs
        return qs.filter(forecast__at_risk=True) if value else qs.exclude(forecast__at_risk=True)

    def filter_search(self, qs, name, value):
        """The search box's selector: full-text over title, description and comments, best match first (an
        explicit `ordering` still wins, as OrderingFilter runs after this)."""
        if not value.strip():
            return qs
        return search_tasks(qs, value, user=getattr(self.request, "user", None))
