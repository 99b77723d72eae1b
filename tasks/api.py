"""The task API: projects, tasks, stages, comments, activity, templates.

Views stay thin: reads start from the selectors (so another team's object is a 404), writes call
tasks/services/ (which checks roles again and records Activity). Each write view asks
accounts.permissions first, so a viewer's write is a 403 before its input is even looked at. Bad input is a
400 in the one error shape of aether/api.py; a service's ValidationError is turned into the same shape.
"""

from __future__ import annotations

import re

from django.db import transaction
from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, generics, mixins, status
from rest_framework.response import Response

from accounts.permissions import Action, require
from aether import generations
from aether.api_schema import id_path_parameter
from aether.conditional import ConditionalGetMixin
from aether.pagination import ID, Key, KeysetOrdering, KeysetPagination

from . import selectors, services
from .filters import TaskFilter
from .models import Recurrence, Status, Task
from .recurrence import parse_rule
from .serializers import (
    PRIORITY_NAMES,
    ActivitySerializer,
    CommentCreateSerializer,
    CommentSerializer,
    ProjectCreateSerializer,
    ProjectSerializer,
    ProjectUpdateSerializer,
    RecurrenceSerializer,
    RecurrenceSetSerializer,
    StageSerializer,
    StageSpecSerializer,
    StageUpdateSerializer,
    TaskCreateSerializer,
    TaskSerializer,
    TaskUpdateSerializer,
    TemplateCreateSerializer,
    TemplateSerializer,
)

NO_CONTENT = OpenApiResponse(description="Done; no body.")
# 1 to 64 visible ASCII characters, spaces only inside (what an HTTP header carries unchanged).
IDEMPOTENCY_KEY_PATTERN = r"^[!-~](?:[ -~]{0,62}[!-~])?$"
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "minLength": 1, "maxLength": 64, "pattern": IDEMPOTENCY_KEY_PATTERN},
    OpenApiParameter.HEADER,
    description="1 to 64 visible ASCII characters of your choosing (spaces inside allowed). The same key from the "
    "same user returns the task the first request created (200) and creates nothing.",
)


def _parse(serializer_class, request, **kwargs):
    serializer = serializer_class(data=request.data, context={"request": request}, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _task(request, id: int, *, include_deleted: bool = False, details: bool = True) -> Task:
    """The task, or a 404 when the user may not see it. Without `details`, only what a permission check and
    the services need (its project), for the endpoints that do not show the task itself."""
    qs = selectors.tasks_visible_to(request.user, include_deleted=include_deleted)
    qs = selectors.with_api_fields(qs) if details else qs.select_related("project")
    return get_object_or_404(qs, pk=id)


def _task_response(request, id: int, code: int = status.HTTP_200_OK) -> Response:
    """The task as it is now (re-read, so stages and status reflect every change a service made)."""
    (task,) = selectors.with_labels_and_stages([_task(request, id)])
    return Response(TaskSerializer(task, context={"request": request}).data, status=code)


class _Conditional(ConditionalGetMixin):
    """What the task API's GETs read, for their ETags (aether/conditional.py): the person's teams' own things
    (labels, projects, templates, members' names), plus what each view adds."""

    def etag_scopes(self, request) -> list[str]:
        return [generations.team(t) for t in self.team_ids(request)]


class _TaskConditional(_Conditional):
    """A view of one task (its path's id): that task's generation too."""

    etag_days = True

    def etag_scopes(self, request) -> list[str]:
        return [generations.task(self.kwargs["id"]), *super().etag_scopes(request)]


class _ListView(mixins.ListModelMixin, generics.GenericAPIView):
    pagination_class = KeysetPagination

    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular only wants the model
            return self.serializer_class.Meta.model.objects.none()
        return self.rows()


# --- me is in accounts/api.py; projects -----------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(tags=["projects"], summary="Projects of your teams"),
    post=extend_schema(
        tags=["projects"],
        summary="Create a project (team admins)",
        request=ProjectCreateSerializer,
        responses={201: ProjectSerializer},
    ),
)
class ProjectListView(_Conditional, _ListView):
    serializer_class = ProjectSerializer
    refusals = {"POST": ("409",)}  # the team has a project of that name
    keyset = KeysetOrdering("name", (Key("name", "text"), ID))

    def rows(self):
        return selectors.projects_visible_to(self.request.user)

    def post(self, request):
        data = _parse(ProjectCreateSerializer, request)
        project = services.project_create(actor=request.user, **data)
        return Response(ProjectSerializer(project).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["projects"], parameters=[id_path_parameter("A project id.")])
@extend_schema_view(
    get=extend_schema(summary="A project"),
    patch=extend_schema(summary="Rename or describe a project (team admins)", request=ProjectUpdateSerializer),
    delete=extend_schema(
        summary="Delete a project (team admins); refused while it has tasks outside the trash",
        responses={204: NO_CONTENT},
    ),
)
class ProjectDetailView(_Conditional, generics.GenericAPIView):
    serializer_class = ProjectSerializer
    refusals = {"PATCH": ("409",), "DELETE": ("409",)}  # a name taken; tasks outside the trash

    def _project(self, id):
        return get_object_or_404(selectors.projects_visible_to(self.request.user), pk=id)

    def get(self, request, id: int):
        return Response(ProjectSerializer(self._project(id)).data)

    def patch(self, request, id: int):
        project = self._project(id)
        require(request.user, Action.MANAGE, project.team_id)
        data = _parse(ProjectUpdateSerializer, request)
        project = services.project_update(actor=request.user, project=project, data=data)
        return Response(ProjectSerializer(project).data)

    def delete(self, request, id: int):
        project = self._project(id)
        services.project_delete(actor=request.user, project=project)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- tasks ----------------------------------------------------------------------------------------------


class TaskFilterBackend(DjangoFilterBackend):
    """TaskFilter, skipped when the request names none of its parameters: building the filter set (it
    deep-copies its filters and their querysets) took a fifth of a plain page's time, to filter nothing."""

    def filter_queryset(self, request, queryset, view):
        if request.query_params.keys().isdisjoint(TaskFilter.base_filters):
            return queryset
        return super().filter_queryset(request, queryset, view)


@extend_schema_view(
    get=extend_schema(
        tags=["tasks"],
        summary="Tasks of your teams (not trashed, not archived), with their stages",
        description="Filters combine. `assignee` is a user id or `me`. `ordering` is one of due_date, priority, "
        "created_at, each also with a leading `-`; the default is newest first. An invalid filter value is a "
        "400 naming the parameter.",
        parameters=[
            # What django-filter's introspection cannot tell: these take names, or an id or `me`.
            OpenApiParameter(
                "assignee", {"type": "string", "pattern": "^(me|[0-9]+)$"}, description="A user id or `me`."
            ),
            OpenApiParameter("priority", {"type": "string", "enum": PRIORITY_NAMES}),
            OpenApiParameter(
                "search",
                {"type": "string", "maxLength": 200},
                description="Words to find in title, description or comments, best match first (web-search syntax: "
                '`"exact phrase"`, `or`, `-word`).',
            ),
            OpenApiParameter(
                "overdue",
                bool,
                description="true: open and past the due date in its team's time zone; false: the others.",
            ),
            OpenApiParameter(
                "at_risk",
                bool,
                description="true: the tasks whose forecast's 85 % date is after their due date (each task's "
                "`forecast.at_risk`); false: the others, tasks without a forecast included.",
            ),
            OpenApiParameter(
                "due_soon",
                bool,
                description="true: open and due today or within AETHER_DUE_SOON_HOURS (24: today or tomorrow) in its "
                "team's time zone; false: the others.",
            ),
        ],
    ),
    post=extend_schema(
        tags=["tasks"],
        summary="Create a task, with stages from a template or from a list",
        request=TaskCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: TaskSerializer,
            200: OpenApiResponse(TaskSerializer, description="The task an earlier request with this key created."),
        },
    ),
)
class TaskListView(_Conditional, _ListView):
    serializer_class = TaskSerializer
    refusals = {"POST": ("422",)}  # an assignee, labels or template of another of your teams
    filter_backends = [TaskFilterBackend]
    filterset_class = TaskFilter
    etag_days = True  # the overdue and due-soon marks and filters change at each team's midnight

    def etag_scopes(self, request) -> list[str]:
        return [*(generations.team_tasks(t) for t in self.team_ids(request)), *super().etag_scopes(request)]

    def rows(self):
        return selectors.with_api_fields(selectors.tasks_visible_to(self.request.user).active())

    def keyset_ordering(self, request) -> KeysetOrdering:
        """The ordering asked for; without one, best match first for a search, else newest first. Each is one
        range of a partial index of active tasks on its keys (tasks/models.py)."""
        asked = request.query_params.get("ordering") or ""
        if asked in TASK_ORDERINGS:
            return TASK_ORDERINGS[asked]
        if (request.query_params.get("search") or "").strip():
            return SEARCH_ORDERING
        return TASK_ORDERINGS["-created_at"]

    def paginate_queryset(self, queryset):
        return selectors.with_labels_and_stages(super().paginate_queryset(selectors.api_rows(queryset)))

    def post(self, request):
        data = _parse(TaskCreateSerializer, request)
        key = request.headers.get("Idempotency-Key")
        if key is not None and not re.fullmatch(IDEMPOTENCY_KEY_PATTERN, key):
            raise exceptions.ValidationError(
                {"idempotency_key": ["Give 1 to 64 visible ASCII characters (spaces only inside)."]}
            )
        task, created = services.task_create(actor=request.user, idempotency_key=key, **data)
        return _task_response(request, task.pk, status.HTTP_201_CREATED if created else status.HTTP_200_OK)


# Every ordering of the task list, with the id last in the same direction (ties never repeat or skip a row).
# A task without a due date sorts as if due at infinity: last by due date, first by -due_date (PostgreSQL's
# NULLS LAST / FIRST), from the index task_active_due_keyset on that expression.
_DUE = Key("due_date", "date", null="'infinity'::date")
_CREATED, _PRIORITY = Key("created_at", "datetime"), Key("priority")
TASK_ORDERINGS = {
    name: KeysetOrdering(name, (key, ID), descending=name.startswith("-"))
    for name, key in (
        ("created_at", _CREATED),
        ("-created_at", _CREATED),
        ("due_date", _DUE),
        ("-due_date", _DUE),
        ("priority", _PRIORITY),
        ("-priority", _PRIORITY),
    )
}
SEARCH_ORDERING = KeysetOrdering("search", (Key("search_rank", "float"), ID), descending=True)


@extend_schema(tags=["tasks"], parameters=[id_path_parameter("A task id.")])
@extend_schema_view(
    get=extend_schema(summary="A task with its stages"),
    patch=extend_schema(summary="Change a task's fields or status", request=TaskUpdateSerializer),
    delete=extend_schema(summary="Move a task to the trash", responses={204: NO_CONTENT}),
)
class TaskDetailView(_TaskConditional, generics.GenericAPIView):
    serializer_class = TaskSerializer
    refusals = {"PATCH": ("409", "422")}  # in the trash, or a move its stages forbid; people or labels not of its team

    def get(self, request, id: int):
        return _task_response(request, id)

    def patch(self, request, id: int):
        task = _task(request, id, details=False)
        require(request.user, Action.WORK, task.project.team_id)
        data = _parse(TaskUpdateSerializer, request)
        new_status = data.pop("status", None)
        with transaction.atomic():
            if data:
                services.task_update(actor=request.user, task=task, data=data)
            if new_status is not None:
                services.task_set_status(actor=request.user, task=task, status=new_status)
        return _task_response(request, id)

    def delete(self, request, id: int):
        services.task_delete(actor=request.user, task=_task(request, id, details=False))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(
    tags=["tasks"],
    summary="Bring a task back from the trash",
    parameters=[id_path_parameter("A task id, trashed or not.")],
    request=None,
    responses={200: TaskSerializer},
)
class TaskRestoreView(generics.GenericAPIView):
    serializer_class = TaskSerializer

    def post(self, request, id: int):
        services.task_restore(actor=request.user, task=_task(request, id, include_deleted=True, details=False))
        return _task_response(request, id)


# --- repeats --------------------------------------------------------------------------------------------


def _recurrence_json(recurrence: Recurrence) -> dict:
    return RecurrenceSerializer(
        {
            "rule": recurrence.rule,
            "starts_on": recurrence.starts_on,
            "next_on": recurrence.next_on,
            "summary": parse_rule(recurrence.rule).summary(recurrence.starts_on),
            "updated_at": recurrence.updated_at,
        }
    ).data


@extend_schema(tags=["tasks"], parameters=[id_path_parameter("A task id.")])
@extend_schema_view(
    get=extend_schema(summary="The rule the task repeats by (404 when it does not repeat)"),
    put=extend_schema(
        summary="Make the task repeat, or change its rule",
        description="Occurrences are new tasks, made on their date in the team's time zone; changing the rule "
        "changes only the dates not made yet.",
        request=RecurrenceSetSerializer,
        responses={200: RecurrenceSerializer},
    ),
    delete=extend_schema(summary="Stop the repeats; occurrences made stay", responses={204: NO_CONTENT}),
)
class TaskRecurrenceView(_TaskConditional, generics.GenericAPIView):
    serializer_class = RecurrenceSerializer
    refusals = {"PUT": ("409", "422"), "DELETE": ("409",)}  # in the trash; a rule that cannot be made to repeat

    def get(self, request, id: int):
        task = _task(request, id, details=False)
        recurrence = Recurrence.objects.filter(task=task, stopped_at__isnull=True).first()
        if recurrence is None:
            raise exceptions.NotFound("This task does not repeat.")
        return Response(_recurrence_json(recurrence))

    def put(self, request, id: int):
        task = _task(request, id, details=False)
        require(request.user, Action.WORK, task.project.team_id)
        data = _parse(RecurrenceSetSerializer, request)
        recurrence = services.recurrence_set(
            actor=request.user, task=task, rule=data["rule"], starts_on=data.get("starts_on")
        )
        return Response(_recurrence_json(recurrence))

    def delete(self, request, id: int):
        task = _task(request, id, details=False)
        require(request.user, Action.WORK, task.project.team_id)
        services.recurrence_stop(actor=request.user, task=task)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- stages ---------------------------------------------------------------------------------------------


@extend_schema(
    tags=["stages"],
    summary="Append a stage to a task",
    parameters=[id_path_parameter("A task id.")],
    request=StageSpecSerializer,
    responses={201: StageSerializer},
)
class TaskStagesView(generics.GenericAPIView):
    serializer_class = StageSerializer
    refusals = {"POST": ("409",)}  # in the trash, or at its most stages

    def post(self, request, id: int):
        task = _task(request, id, details=False)
        require(request.user, Action.WORK, task.project.team_id)
        data = _parse(StageSpecSerializer, request)
        stage = services.stage_add(actor=request.user, task=task, **data)
        return Response(StageSerializer(stage).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["stages"], parameters=[id_path_parameter("A stage id.")])
@extend_schema_view(
    patch=extend_schema(
        summary="Change a stage, or start, complete or reopen it through `status`",
        description="`status: completed` needs `actual_hours`, in the same request or recorded before; without "
        "them the answer is a 400 naming `actual_hours`. The task's status follows its stages.",
        request=StageUpdateSerializer,
    ),
    delete=extend_schema(summary="Delete a stage; the later ones move up", responses={204: NO_CONTENT}),
)
class StageDetailView(generics.GenericAPIView):
    serializer_class = StageSerializer
    refusals = {"PATCH": ("409",), "DELETE": ("409",)}  # a move the stage's status forbids; the task in the trash

    def _stage(self, id):
        return get_object_or_404(selectors.stages_visible_to(self.request.user), pk=id)

    def patch(self, request, id: int):
        stage = self._stage(id)
        require(request.user, Action.WORK, stage.task.project.team_id)
        data = _parse(StageUpdateSerializer, request)
        new_status = data.pop("status", None)
        actor = request.user
        completing = new_status == Status.COMPLETED and stage.status != Status.COMPLETED
        with transaction.atomic():
            if completing:  # the hours first, as completing needs them
                hours = data.pop("actual_hours", None)
                if data:
                    services.stage_update(actor=actor, stage=stage, data=data)
                services.stage_set_status(actor=actor, stage=stage, status=new_status, actual_hours=hours)
            else:  # the status first: a reopened stage may then have its hours cleared
                if new_status is not None:
                    services.stage_set_status(actor=actor, stage=stage, status=new_status)
                if data:
                    services.stage_update(actor=actor, stage=stage, data=data)
        stage.refresh_from_db()
        return Response(StageSerializer(stage).data)

    def delete(self, request, id: int):
        services.stage_delete(actor=request.user, stage=self._stage(id))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- comments and activity ------------------------------------------------------------------------------


@extend_schema(tags=["comments"], parameters=[id_path_parameter("A task id.")])
@extend_schema_view(
    get=extend_schema(summary="A task's comments, oldest first"),
    post=extend_schema(
        summary="Comment on a task", request=CommentCreateSerializer, responses={201: CommentSerializer}
    ),
)
class TaskCommentsView(_TaskConditional, _ListView):
    serializer_class = CommentSerializer
    refusals = {"POST": ("409",)}  # the task in the trash
    keyset = KeysetOrdering("created_at", (_CREATED, ID))

    def rows(self):
        return selectors.task_comments(_task(self.request, self.kwargs["id"], details=False))

    def post(self, request, id: int):
        task = _task(request, id, details=False)
        require(request.user, Action.WORK, task.project.team_id)
        data = _parse(CommentCreateSerializer, request)
        comment = services.comment_create(actor=request.user, task=task, **data)
        return Response(CommentSerializer(comment).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["comments"], parameters=[id_path_parameter("A comment id.")])
@extend_schema_view(
    patch=extend_schema(
        summary="Change the text of your own comment",
        description="Only its author may. People the new text mentions (`@name`) who were not mentioned before "
        "are notified.",
        request=CommentCreateSerializer,
        responses={200: CommentSerializer},
    ),
    delete=extend_schema(summary="Delete a comment (its author, or an admin of the team)", responses={204: NO_CONTENT}),
)
class CommentDetailView(generics.GenericAPIView):
    serializer_class = CommentSerializer
    refusals = {"PATCH": ("409",), "DELETE": ("409",)}  # the task in the trash, the comment deleted meanwhile

    def _comment(self, id: int):
        return get_object_or_404(selectors.comments_visible_to(self.request.user), pk=id)

    def patch(self, request, id: int):
        comment = self._comment(id)
        require(request.user, Action.WORK, comment.task.project.team_id)
        data = _parse(CommentCreateSerializer, request, partial=True)
        # A PATCH that names nothing changes nothing (the service still checks it is the author's to change).
        comment = services.comment_update(actor=request.user, comment=comment, body=data.get("body", comment.body))
        return Response(CommentSerializer(comment).data)

    def delete(self, request, id: int):
        services.comment_delete(actor=request.user, comment=self._comment(id))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(
    tags=["activity"], summary="A task's history, oldest first", parameters=[id_path_parameter("A task id.")]
)
class TaskActivityView(_TaskConditional, _ListView):
    serializer_class = ActivitySerializer
    keyset = KeysetOrdering("created_at", (_CREATED, ID))

    def rows(self):
        return selectors.task_activity(_task(self.request, self.kwargs["id"], details=False))


# --- templates ------------------------------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(tags=["templates"], summary="Your teams' templates with their stages"),
    post=extend_schema(
        tags=["templates"],
        summary="Create a template (team admins)",
        request=TemplateCreateSerializer,
        responses={201: TemplateSerializer},
    ),
)
class TemplateListView(_Conditional, _ListView):
    serializer_class = TemplateSerializer
    refusals = {"POST": ("409",)}  # the team has a template of that name
    keyset = KeysetOrdering("name", (Key("name", "text"), ID))

    def rows(self):
        return selectors.templates_visible_to(self.request.user)

    def post(self, request):
        data = _parse(TemplateCreateSerializer, request)
        template = services.template_save(actor=request.user, **data)
        template = selectors.templates_visible_to(request.user).get(pk=template.pk)
        return Response(TemplateSerializer(template).data, status=status.HTTP_201_CREATED)
