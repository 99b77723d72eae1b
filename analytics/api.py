"""GET /api/v1/dashboard/ (the figures as JSON) and GET /api/v1/reports/tasks.csv (the scope's tasks, streamed).

Thin: the filters are parsed by analytics.forms, the scope is checked by analytics.selectors (another team's
project or team is a 404, as everywhere in the API), and bad input is a 400 naming the parameter.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.tokens import DenylistJWTAuthentication
from aether import generations
from aether.api import ERROR_DESCRIPTIONS, ErrorSerializer
from aether.conditional import ConditionalGetMixin

from .export import export_filename, tasks_csv
from .forms import DashboardFilterForm
from .selectors import PRESETS, dashboard_figures, dashboard_scope

ID = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
FILTERS = [
    OpenApiParameter("project", ID, description="A project of your teams (else: a team, else your own tasks)."),
    OpenApiParameter("team", ID, description="A team of yours: every project of it."),
    OpenApiParameter("assignee", ID, description="Only this person's tasks."),
    OpenApiParameter("range", str, enum=list(PRESETS), description="A preset range, instead of since/until."),
    OpenApiParameter("since", OpenApiTypes.DATE, description="First day (inclusive, in the team's time zone)."),
    OpenApiParameter("until", OpenApiTypes.DATE, description="Last day (inclusive)."),
]
NOT_FOUND = OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS["404"])


def _scope(request):
    form = DashboardFilterForm(request.query_params)
    if not form.is_valid():
        raise ValidationError(form.errors.as_data())
    return dashboard_scope(request.user, **form.scope_arguments())


# --- the response schema (documentation; the view returns the selector's dict as it is) -------------------


class DashboardScopeSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["project", "team", "mine"])
    project = serializers.IntegerField(allow_null=True)
    team = serializers.IntegerField(allow_null=True)
    assignee = serializers.IntegerField(allow_null=True)
    since = serializers.DateField(allow_null=True)
    until = serializers.DateField(allow_null=True)
    today = serializers.DateField()


class DashboardCountsSerializer(serializers.Serializer):
    created = serializers.IntegerField(help_text="Tasks created in the range (not trashed).")
    by_status = serializers.DictField(child=serializers.IntegerField())
    by_priority = serializers.DictField(child=serializers.IntegerField())


class DashboardOverdueSerializer(serializers.Serializer):
    open = serializers.IntegerField(help_text="Open tasks now.")
    overdue = serializers.IntegerField(help_text="Open tasks due before today (team's time zone).")
    share = serializers.FloatField(allow_null=True, help_text="overdue / open; null without open tasks.")


class _CompletionFields(serializers.Serializer):
    count = serializers.IntegerField()
    mean_hours = serializers.FloatField(allow_null=True)
    cycle_count = serializers.IntegerField()
    mean_cycle_hours = serializers.FloatField(allow_null=True)
    with_due_date = serializers.IntegerField()
    mean_delay_days = serializers.FloatField(allow_null=True)
    on_time_rate = serializers.FloatField(allow_null=True)


class DashboardPriorityCompletionSerializer(_CompletionFields):
    priority = serializers.ChoiceField(choices=["low", "medium", "high", "urgent"])


class DashboardCompletionSerializer(_CompletionFields):
    median_hours = serializers.FloatField(allow_null=True)
    median_relative_error = serializers.FloatField(allow_null=True)
    by_priority = DashboardPriorityCompletionSerializer(many=True)


class DashboardWeekSerializer(serializers.Serializer):
    week = serializers.CharField(help_text="ISO year-week, e.g. 2026-W49.")
    count = serializers.IntegerField()
    days = serializers.IntegerField(help_text="Days of the week inside the range (7 but at its ends).")
    mean_hours = serializers.FloatField(allow_null=True)


class DashboardDaySerializer(serializers.Serializer):
    day = serializers.DateField()
    count = serializers.IntegerField()


class DashboardBucketSerializer(serializers.Serializer):
    from_hours = serializers.FloatField()
    count = serializers.IntegerField()


class DashboardHeatmapSerializer(serializers.Serializer):
    weekdays = serializers.ListField(child=serializers.CharField())
    counts = serializers.ListField(child=serializers.ListField(child=serializers.IntegerField()))


class DashboardThroughputSerializer(serializers.Serializer):
    week = serializers.CharField()
    created = serializers.IntegerField()
    completed = serializers.IntegerField()


class DashboardStageSerializer(serializers.Serializer):
    name = serializers.CharField()
    count = serializers.IntegerField()
    estimated_hours = serializers.FloatField()
    actual_hours = serializers.FloatField()
    mean_error_hours = serializers.FloatField(allow_null=True)
    error_variance = serializers.FloatField(allow_null=True)
    error_stddev = serializers.FloatField(allow_null=True)
    accuracy = serializers.FloatField(allow_null=True)


class DashboardBottleneckSerializer(serializers.Serializer):
    name = serializers.CharField()
    mean_overrun_hours = serializers.FloatField()


class DashboardStagesSerializer(serializers.Serializer):
    by_name = DashboardStageSerializer(many=True)
    ranking = serializers.ListField(
        child=serializers.CharField(), help_text="Stage names by mean overrun, largest first (what the page shows)."
    )
    most_overestimated = serializers.ListField(child=serializers.CharField())
    most_underestimated = serializers.ListField(child=serializers.CharField())
    bottlenecks = DashboardBottleneckSerializer(many=True)


class DashboardWorkloadSerializer(serializers.Serializer):
    assignee = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    open = serializers.IntegerField()
    overdue = serializers.IntegerField()
    completed = serializers.IntegerField()


class DashboardSerializer(serializers.Serializer):
    scope = DashboardScopeSerializer()
    counts = DashboardCountsSerializer()
    overdue = DashboardOverdueSerializer()
    completion = DashboardCompletionSerializer()
    completion_trend = DashboardWeekSerializer(many=True)
    daily_completions = DashboardDaySerializer(many=True)
    lead_histogram = DashboardBucketSerializer(many=True)
    heatmap = DashboardHeatmapSerializer()
    throughput = DashboardThroughputSerializer(many=True)
    stages = DashboardStagesSerializer()
    workload = DashboardWorkloadSerializer(many=True)


class DashboardView(ConditionalGetMixin, APIView):
    refusals = {"GET": ("422",)}  # an end before the start, or a preset and dates
    etag_days = True  # today, in each team's time zone, bounds the ranges and decides what is overdue

    def etag_scopes(self, request) -> list[str]:
        teams = self.team_ids(request)
        return [*(generations.team_tasks(t) for t in teams), *(generations.team(t) for t in teams)]

    @extend_schema(
        tags=["analytics"],
        summary="Dashboard figures",
        description="Counts, overdue, completion, stage estimates, throughput and workload for a project, a team "
        "or your own tasks; formulas in docs/analytics.md. A viewer may read them.",
        parameters=FILTERS,
        responses={200: DashboardSerializer, 404: NOT_FOUND},
    )
    def get(self, request):
        return Response(dashboard_figures(_scope(request)))


class _JsonErrorsWhateverAccepted(BaseContentNegotiation):
    """The file is streamed as it is; only an error answer is rendered, always as JSON (a client asking for
    text/csv must still get its 400 or 404, not a 406)."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class TasksCsvView(APIView):
    refusals = {"GET": ("422",)}
    # Also the browser's session: the dashboard and the task list link to this file.
    authentication_classes = [
        DenylistJWTAuthentication,
        SessionAuthentication,
    ]  # a signed-out token is refused here too
    content_negotiation_class = _JsonErrorsWhateverAccepted

    @extend_schema(
        tags=["analytics"],
        summary="Tasks as CSV",
        description="One row per task of the scope (trashed tasks left out, archived kept) with its stage summary, "
        "streamed; UTF-8 with a byte order mark.",
        parameters=FILTERS,
        responses={(200, "text/csv"): OpenApiTypes.STR, 404: NOT_FOUND},
    )
    def get(self, request):
        scope = _scope(request)
        response = StreamingHttpResponse(tasks_csv(scope), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{export_filename(scope)}"'
        return response
