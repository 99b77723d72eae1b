"""Forms of the task pages. They parse and describe input; the services in tasks/services.py decide and write,
and their ValidationErrors are put back next to the field they name (accounts.forms.add_service_errors)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from django import forms

from accounts.models import User
from accounts.selectors import active_members_of

from .models import Label, Priority, Status, Template
from .recurrence import DAY_NAMES, MAX_COUNT, MAX_INTERVAL, WEEKDAYS, rule_from_choices

HOURS = {"max_digits": 7, "decimal_places": 2, "min_value": Decimal("0")}


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class MemberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name()


class TaskForm(forms.Form):
    """Title, description, priority, assignee, due date and labels: the editable fields of a task."""

    title = forms.CharField(max_length=200)
    description = forms.CharField(
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Markdown works. Type @ to mention a team member (the start of their email address, @bob): "
        "they are notified.",
    )
    priority = forms.TypedChoiceField(choices=Priority.choices, coerce=int, initial=Priority.MEDIUM)
    assignee = MemberChoiceField(queryset=User.objects.none(), required=False, empty_label="Nobody")
    due_date = forms.DateField(required=False, widget=DateInput())
    labels = forms.ModelMultipleChoiceField(
        queryset=Label.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, team_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = active_members_of(team_id)
        self.fields["labels"].queryset = Label.objects.filter(team_id=team_id)
        if not self.fields["labels"].queryset.exists():
            del self.fields["labels"]


class TaskCreateForm(TaskForm):
    """A new task, blank or stamped from one of the team's templates. The idempotency key, made when the form
    is shown, makes a double submit create one task."""

    template = forms.ModelChoiceField(
        queryset=Template.objects.none(),
        required=False,
        empty_label="Blank task (no stages)",
        help_text="A template gives the task its stages.",
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64, required=False)

    def __init__(self, *args, team_id: int, **kwargs):
        super().__init__(*args, team_id=team_id, **kwargs)
        self.fields["template"].queryset = Template.objects.filter(team_id=team_id).order_by("name")
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4().hex)
        self.order_fields(["title", "template"])


class DueDateForm(forms.Form):
    """The calendar's "move to" control: the day a task is due from now on."""

    due_date = forms.DateField(
        widget=DateInput(),
        error_messages={"required": "Choose a day.", "invalid": "Enter a real day, such as 2026-03-01."},
    )


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=Status.choices)


class StageForm(forms.Form):
    name = forms.CharField(max_length=120, label="Stage name")
    estimated_hours = forms.DecimalField(label="Estimated hours", **HOURS)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "id_stage_%s")  # the task page also has the label form's "name"
        super().__init__(*args, **kwargs)
        self.fields["estimated_hours"].widget.attrs.update(step="0.25", min="0.25", inputmode="decimal")


class StageCompleteForm(forms.Form):
    actual_hours = forms.DecimalField(label="Actual hours", **HOURS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["actual_hours"].widget.attrs.update(step="0.25", min="0", inputmode="decimal")


class StagesCompleteForm(forms.Form):
    """The actual hours of each open stage of a task, to complete them all at once (a drop on Completed).
    One field per stage, named as tasks.services.task_complete_with_stages names its errors."""

    def __init__(self, *args, stages, field_name, **kwargs):
        super().__init__(*args, **kwargs)
        self.stages = list(stages)
        for stage in self.stages:
            field = forms.DecimalField(
                label=f"Actual hours for {stage.name}",
                required=stage.actual_hours is None,
                error_messages={"required": f"Enter the actual hours of “{stage.name}”."},
                **HOURS,
            )
            field.widget.attrs.update(step="0.25", min="0", inputmode="decimal")
            field.initial = stage.actual_hours
            field.stage = stage
            self.fields[field_name(stage.pk)] = field

    def hours_by_stage(self) -> dict[int, Decimal | None]:
        return {field.stage.pk: self.cleaned_data.get(name) for name, field in self.fields.items()}


class StageMoveForm(forms.Form):
    direction = forms.ChoiceField(choices=[("up", "Up"), ("down", "Down")])


class CommentForm(forms.Form):
    body = forms.CharField(label="Comment", max_length=10000, widget=forms.Textarea(attrs={"rows": 3}))


class LabelForm(forms.Form):
    name = forms.CharField(max_length=40, label="New label")
    color = forms.RegexField(
        regex=r"^#[0-9a-fA-F]{6}$",
        initial="#6b7280",
        label="Colour",
        error_messages={"invalid": "Enter a colour such as #3b82f6."},
        widget=forms.TextInput(attrs={"type": "color"}),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "id_label_%s")  # the task page also has the stage form's "name"
        super().__init__(*args, **kwargs)


class NameDescriptionForm(forms.Form):
    """A project's or a template's name and description."""

    name = forms.CharField(max_length=120)
    description = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))


class InTeamForm(NameDescriptionForm):
    """Name and description of something new, and the team (among `teams`) it belongs to; the choice is
    hidden when there is only one."""

    team = forms.TypedChoiceField(coerce=int, choices=())

    def __init__(self, *args, teams, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = [(t.pk, t.name) for t in teams]
        if len(teams) == 1:
            self.fields["team"].widget = forms.HiddenInput()
            self.initial.setdefault("team", teams[0].pk)
        self.order_fields(["team", "name", "description"])


ProjectForm = TemplateForm = NameDescriptionForm
ProjectCreateForm = TemplateCreateForm = InTeamForm


class TemplateStageRow(forms.Form):
    """One row of a template's stages; a row left blank is ignored."""

    name = forms.CharField(max_length=120, required=False, label="Stage")
    estimated_hours = forms.DecimalField(required=False, label="Estimated hours", **HOURS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["estimated_hours"].widget.attrs.update(step="0.25", min="0.25", inputmode="decimal")

    def clean(self):
        cleaned = super().clean()
        name, hours = cleaned.get("name"), cleaned.get("estimated_hours")
        if name and hours is None and "estimated_hours" not in self.errors:
            self.add_error("estimated_hours", "Give an estimate for this stage.")
        if hours is not None and not name:
            self.add_error("name", "Give this stage a name.")
        return cleaned


TemplateStageFormSet = forms.formset_factory(TemplateStageRow, extra=3, max_num=50, validate_max=True)


class TemplateUseForm(forms.Form):
    project = forms.TypedChoiceField(coerce=int, choices=(), label="In project")


class RecurrenceForm(forms.Form):
    """The rule editor: the choices a person makes, turned into an RRULE (tasks/recurrence.py) in `clean`;
    the service checks the rule again and decides from when it applies."""

    frequency = forms.ChoiceField(
        label="Repeats",
        choices=[
            ("daily", "Daily"),
            ("weekdays", "On weekdays (Mon to Fri)"),
            ("weekly", "Weekly"),
            ("monthly", "Monthly"),
            ("yearly", "Yearly"),
        ],
        initial="weekly",
    )
    interval = forms.IntegerField(
        label="Every", min_value=1, max_value=MAX_INTERVAL, initial=1, help_text="1 is every time; 2 every other."
    )
    weekdays = forms.MultipleChoiceField(
        label="On",
        choices=[(code, DAY_NAMES[code]) for code in WEEKDAYS],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="For a weekly rule.",
    )
    monthly_on = forms.ChoiceField(
        label="Each month on",
        choices=[("day", "Day of the month"), ("last", "The last day")],
        initial="day",
        widget=forms.RadioSelect,
    )
    month_day = forms.IntegerField(
        label="Day of the month",
        min_value=1,
        max_value=31,
        required=False,
        help_text="The 29th to 31st fall on the last day of a shorter month.",
    )
    starts_on = forms.DateField(
        label="Starting", required=False, widget=DateInput(), help_text="Blank: the task's due date, else today."
    )
    end = forms.ChoiceField(
        label="Ends",
        choices=[("never", "Never"), ("on", "On a date"), ("after", "After a number of times")],
        initial="never",
        widget=forms.RadioSelect,
    )
    until = forms.DateField(label="End date", required=False, widget=DateInput())
    count = forms.IntegerField(
        label="Times", min_value=1, max_value=MAX_COUNT, required=False, help_text="This task counts as the first."
    )

    def __init__(self, *args, default_start: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.default_start = default_start

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        if data["frequency"] == "weekly" and not data["weekdays"]:
            self.add_error("weekdays", "Choose at least one day of the week.")
        if data["end"] == "on" and data.get("until") is None:
            self.add_error("until", "Give the date the repeats end on.")
        if data["end"] == "after" and data.get("count") is None:
            self.add_error("count", "Give how many times the task happens.")
        start = data.get("starts_on") or self.default_start
        if data["end"] == "on" and data.get("until") is not None and data["until"] < start:
            self.add_error("until", "The end date is before the start.")
        if self.errors:
            return data
        rule = rule_from_choices(
            frequency=data["frequency"],
            interval=data["interval"],
            weekdays=data["weekdays"],
            monthly_on=data["monthly_on"],
            month_day=data.get("month_day"),
            starts_on=start,
            end=data["end"],
            until=data.get("until"),
            count=data.get("count"),
        )
        data["rule"] = rule.text()
        return data
