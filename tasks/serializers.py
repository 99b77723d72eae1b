"""JSON shapes of the task API. Output serializers render rows; input serializers only parse and check types
and limits (the rules themselves are in tasks/services/, which the views call).

Input serializers that take ids get `request` in their context: each id field only accepts objects the
requesting user may see, so another team's id is answered like an unknown one (400 naming the field).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from types import SimpleNamespace

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.selectors import teammates_of, teams_of

from . import selectors
from .deadlines import deadlines_for
from .forecast_text import forecast_words
from .models import HOURS, Activity, ActivityVerb, Comment, Label, Priority, Project, Stage, Status, Task, Template
from .services import MAX_STAGES

PRIORITY_NAMES = [p.name.lower() for p in Priority]
HOURS_FIELD = {"max_digits": HOURS["max_digits"], "decimal_places": HOURS["decimal_places"]}
# The hours columns are DECIMAL(7, 2): below 100000.
MAX_HOURS = Decimal("99999.99")


class HoursField(serializers.DecimalField):
    """Hours as a number (or a numeric string), checked against its bounds as given and then rounded to hundredths
    (half up), as the column keeps them: 1.005 is 1.01, never a 400 for a third decimal (the schema states the
    bounds, which a generated client checks; it cannot state "at most two decimals" of a float exactly)."""

    def __init__(self, **kwargs):
        super().__init__(max_digits=HOURS["max_digits"], decimal_places=HOURS["decimal_places"], **kwargs)

    def validate_precision(self, value):
        if self.min_value is not None and value < self.min_value:
            self.fail("min_value", min_value=self.min_value)
        if self.max_value is not None and value > self.max_value:
            self.fail("max_value", max_value=self.max_value)
        return super().validate_precision(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


class PriorityField(serializers.ChoiceField):
    """The stored rank (1..4) shown and accepted as its name: low, medium, high, urgent."""

    def __init__(self, **kwargs):
        super().__init__(choices=PRIORITY_NAMES, **kwargs)

    def to_representation(self, value):
        return Priority(value).name.lower()

    def to_internal_value(self, data):
        return Priority.from_name(super().to_internal_value(data))


class UserBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    full_name = serializers.CharField()


# --- output ---------------------------------------------------------------------------------------------


# The output serializers of tasks, stages and labels render by hand (`to_representation`): DRF's
# field-by-field rendering took about 20 ms for a page of 50 tasks with their 200 stages, the budget of the
# whole request. Their declared fields still document the shape (the OpenAPI schema is built from them), and
# the schemathesis test checks every response against that schema, so the two cannot drift apart unseen.
PRIORITY_BY_RANK = {p.value: p.name.lower() for p in Priority}


def _datetime(value, zone):
    """As DRF's DateTimeField renders it: in the current time zone, ISO 8601, UTC as "Z"."""
    if value is None:
        return None
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class LabelSerializer(serializers.ModelSerializer):
    class Meta:
        model = Label
        fields = ["id", "name", "color"]
        read_only_fields = fields

    def to_representation(self, label):
        return {"id": label.pk, "name": label.name, "color": label.color}


class StageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Stage
        fields = list(selectors.STAGE_ROW_FIELDS)
        read_only_fields = fields

    def to_representation(self, stage):
        row = {field: getattr(stage, field) for field in selectors.STAGE_ROW_FIELDS}
        return _stage_json(row, timezone.get_current_timezone())


def _stage_json(row: dict, zone) -> dict:
    """A stage row (from `selectors.stage_rows_by_task`) as the API shows it."""
    return {
        **row,
        "started_at": _datetime(row["started_at"], zone),
        "completed_at": _datetime(row["completed_at"], zone),
    }


BASIS_CHOICES = ["stages", "team", "prior", "none"]  # analytics.models.ForecastBasis (tasks may not import it)


class ForecastSerializer(serializers.Serializer):
    """A task's completion forecast (kept by analytics, renewed when the task or its team's record changes)."""

    p50 = serializers.DateField(allow_null=True, help_text="Finishes by this team-local day with 50 % probability.")
    p85 = serializers.DateField(allow_null=True, help_text="Finishes by this day with 85 % probability.")
    at_risk = serializers.BooleanField(help_text="The 85 % date is after the due date.")
    basis = serializers.ChoiceField(
        choices=BASIS_CHOICES,
        help_text="What the estimate error came from: the team's record for these stages, for all its stages, a "
        "prior (too little record), or none (no dates).",
    )
    reason = serializers.CharField(help_text="Why there is no date (both dates null); empty otherwise.")
    as_of = serializers.DateField(help_text="The team-local day the forecast was made.")
    text = serializers.CharField(help_text='In words, as the pages say it: "likely 12\u201315 Dec, 85 % by 15 Dec".')


def _forecast_json(task) -> dict | None:
    """The task's forecast from its row's `forecast_*` columns (selectors.with_api_fields), else from a loaded
    forecast row; None when it has none."""
    if hasattr(task, "forecast_as_of"):
        values = {name.removeprefix("forecast_"): getattr(task, name) for name in selectors.FORECAST_ROW_FIELDS}
        if values["as_of"] is None:
            return None
        forecast = SimpleNamespace(**values)
    else:
        forecast = selectors.loaded_forecast(task)
        if forecast is None:
            return None
    return {
        "p50": None if forecast.p50 is None else forecast.p50.isoformat(),
        "p85": None if forecast.p85 is None else forecast.p85.isoformat(),
        "at_risk": forecast.at_risk,
        "basis": forecast.basis,
        "reason": forecast.reason,
        "as_of": forecast.as_of.isoformat(),
        "text": forecast_words(forecast),
    }


class TaskSerializer(serializers.ModelSerializer):
    priority = PriorityField(read_only=True)
    is_overdue = serializers.SerializerMethodField()
    is_due_soon = serializers.SerializerMethodField()
    labels = LabelSerializer(many=True, read_only=True)
    stages = StageSerializer(many=True, read_only=True, help_text="In order.")
    forecast = ForecastSerializer(
        read_only=True, allow_null=True, help_text="When it will likely be done; null while it has no forecast."
    )

    class Meta:
        model = Task
        fields = [
            "id",
            "project",
            "title",
            "description",
            "status",
            "priority",
            "assignee",
            "created_by",
            "due_date",
            "started_at",
            "completed_at",
            "is_overdue",
            "is_due_soon",
            "labels",
            "stages",
            "forecast",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def _deadlines(self):
        return deadlines_for(self.context.get("request"))

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_is_overdue(self, task) -> bool:
        """Open and past its due date in the team's time zone (tasks/deadlines.py)."""
        return self._deadlines().is_overdue(task)

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_is_due_soon(self, task) -> bool:
        """Open and due from today to AETHER_DUE_SOON_HOURS ahead in the team's time zone (tasks/deadlines.py)."""
        return self._deadlines().is_due_soon(task)

    def to_representation(self, task):
        """Best given tasks from `selectors.with_api_fields`, with `label_rows` and `stage_rows` attached
        (see tasks/api.py); anything else works, with more queries."""
        zone = timezone.get_current_timezone()
        labels = getattr(task, "label_rows", None)
        if labels is None:
            labels = selectors.label_rows_by_task([task.pk]).get(task.pk, [])
        stages = getattr(task, "stage_rows", None)
        if stages is None:
            stages = selectors.stage_rows_by_task([task.pk]).get(task.pk, [])
        return {
            "id": task.pk,
            "project": task.project_id,
            "title": task.title,
            "description": task.description,
            "status": task.status,
            "priority": PRIORITY_BY_RANK[task.priority],
            "assignee": task.assignee_id,
            "created_by": task.created_by_id,
            "due_date": None if task.due_date is None else task.due_date.isoformat(),
            "started_at": _datetime(task.started_at, zone),
            "completed_at": _datetime(task.completed_at, zone),
            "is_overdue": self.get_is_overdue(task),
            "is_due_soon": self.get_is_due_soon(task),
            "labels": labels,
            "stages": [_stage_json(row, zone) for row in stages],
            "forecast": _forecast_json(task),
            "created_at": _datetime(task.created_at, zone),
            "updated_at": _datetime(task.updated_at, zone),
        }


class ProjectSerializer(serializers.ModelSerializer):
    class Meta:
        model = Project
        fields = ["id", "team", "name", "description"]
        read_only_fields = fields


class CommentSerializer(serializers.ModelSerializer):
    author = UserBriefSerializer(read_only=True)

    class Meta:
        model = Comment
        fields = ["id", "task", "author", "body", "created_at", "updated_at"]
        read_only_fields = fields


class ActivitySerializer(serializers.ModelSerializer):
    actor = UserBriefSerializer(read_only=True, allow_null=True, help_text="Null for the system (scheduled jobs).")
    verb = serializers.ChoiceField(choices=ActivityVerb.choices, read_only=True)
    # Any JSON value, null included (a JSON Schema of {}): "nullable" would make null match twice.
    old_value = serializers.JSONField(read_only=True)
    new_value = serializers.JSONField(read_only=True)

    class Meta:
        model = Activity
        fields = ["id", "actor", "verb", "field", "old_value", "new_value", "created_at"]
        read_only_fields = fields


class TemplateStageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    order = serializers.IntegerField()
    name = serializers.CharField()
    estimated_hours = serializers.DecimalField(**HOURS_FIELD)


class TemplateSerializer(serializers.ModelSerializer):
    stages = TemplateStageSerializer(many=True, read_only=True, help_text="In order.")

    class Meta:
        model = Template
        fields = ["id", "team", "name", "description", "stages", "created_at", "updated_at"]
        read_only_fields = fields


class RecurrenceSerializer(serializers.Serializer):
    rule = serializers.CharField(read_only=True, help_text="The RFC 5545 RRULE the task repeats by (no DTSTART).")
    starts_on = serializers.DateField(read_only=True, help_text="The rule's start date.")
    next_on = serializers.DateField(
        read_only=True, allow_null=True, help_text="The next date an occurrence is made for; null when ended."
    )
    summary = serializers.CharField(read_only=True, help_text="The rule in words.")
    updated_at = serializers.DateTimeField(read_only=True)


# --- input ----------------------------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.INT)
class ScopedPrimaryKeyField(serializers.PrimaryKeyRelatedField):
    """An id among the rows `scope(user)` returns for the requesting user."""

    def __init__(self, scope, **kwargs):
        self.scope = scope
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.scope(self.context["request"].user)


class StageSpecSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    estimated_hours = HoursField(min_value=Decimal("0.01"), max_value=MAX_HOURS)


DESCRIPTION_HELP = (
    "Markdown. `@name` (the part of a member's address before its `@`) mentions a member of the task's team, who "
    "is notified; an edit notifies only the people it mentions anew."
)


class TaskCreateSerializer(serializers.Serializer):
    project = ScopedPrimaryKeyField(selectors.projects_visible_to)
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(
        max_length=20000, allow_blank=True, trim_whitespace=False, required=False, help_text=DESCRIPTION_HELP
    )
    priority = PriorityField(required=False)
    assignee = ScopedPrimaryKeyField(teammates_of, allow_null=True, required=False)
    due_date = serializers.DateField(allow_null=True, required=False)
    labels = ScopedPrimaryKeyField(selectors.labels_visible_to, many=True, required=False)
    template = ScopedPrimaryKeyField(
        selectors.templates_visible_to, allow_null=True, required=False, help_text="Copy this template's stages."
    )
    stages = StageSpecSerializer(
        many=True,
        required=False,
        max_length=MAX_STAGES,
        help_text="The task's stages, when no template is given (both: 422).",
    )


class TaskUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(
        max_length=20000, allow_blank=True, trim_whitespace=False, required=False, help_text=DESCRIPTION_HELP
    )
    priority = PriorityField(required=False)
    assignee = ScopedPrimaryKeyField(teammates_of, allow_null=True, required=False)
    due_date = serializers.DateField(allow_null=True, required=False)
    labels = ScopedPrimaryKeyField(selectors.labels_visible_to, many=True, required=False)
    status = serializers.ChoiceField(
        choices=Status.choices,
        required=False,
        help_text="Move the task as the board does. A task with stages follows them: in_progress starts its first "
        "pending stage (or reopens the last one of a completed task); it completes when its last stage does.",
    )


class StageUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False)
    estimated_hours = HoursField(min_value=Decimal("0.01"), max_value=MAX_HOURS, required=False)
    actual_hours = HoursField(min_value=Decimal("0"), max_value=MAX_HOURS, allow_null=True, required=False)
    status = serializers.ChoiceField(
        choices=Status.choices,
        required=False,
        help_text="in_progress starts a pending stage or reopens a completed one; completed completes it and needs "
        "actual_hours (in this request or already recorded).",
    )


class CommentCreateSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=10000)


class ProjectCreateSerializer(serializers.Serializer):
    team = ScopedPrimaryKeyField(teams_of)
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(max_length=5000, allow_blank=True, trim_whitespace=False, required=False)


class ProjectUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False)
    description = serializers.CharField(max_length=5000, allow_blank=True, trim_whitespace=False, required=False)


class TemplateCreateSerializer(serializers.Serializer):
    team = ScopedPrimaryKeyField(teams_of)
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(max_length=5000, allow_blank=True, trim_whitespace=False, required=False)
    stages = StageSpecSerializer(many=True, min_length=1, max_length=MAX_STAGES)


class RecurrenceSetSerializer(serializers.Serializer):
    rule = serializers.CharField(
        max_length=200,
        help_text="An RFC 5545 RRULE without DTSTART, e.g. FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;UNTIL=20270301. "
        "Supported: FREQ DAILY/WEEKLY/MONTHLY/YEARLY, INTERVAL 1-999, BYDAY (plain weekdays, daily or weekly), "
        "BYMONTHDAY 1-31 or -1 (monthly or yearly), BYMONTH (yearly), BYSETPOS=-1 with several BYMONTHDAY days, "
        "UNTIL=YYYYMMDD or COUNT 1-1000. Anything else is a 400 naming `rule`.",
    )
    starts_on = serializers.DateField(
        required=False, allow_null=True, help_text="Default: the task's due date, else today in the team's time zone."
    )
