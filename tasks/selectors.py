"""Read queries, always scoped to what the user may see. `tasks_visible_to` is the one door to task rows:
every list and detail view starts from it, so another team's task is simply not found (404)."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db.models import Case, CharField, Count, F, IntegerField, Prefetch, Q, QuerySet, Value, When
from django.db.models.functions import Cast
from django.utils import timezone

from accounts.permissions import team_ids_visible_to

from .models import Activity, Comment, Label, Project, Stage, Status, Task, Template


def today_in(time_zone: str | None = None) -> date:
    """Today's date in a team's time zone (default: the site's)."""
    return timezone.now().astimezone(zoneinfo.ZoneInfo(time_zone or settings.TIME_ZONE)).date()


def projects_visible_to(user) -> QuerySet[Project]:
    return Project.objects.filter(team__in=team_ids_visible_to(user)).select_related("team")


def tasks_visible_to(user, *, include_deleted: bool = False) -> QuerySet[Task]:
    """Every task of the user's teams (archived ones included; trashed ones only when asked)."""
    qs = Task.objects.filter(project__team__in=team_ids_visible_to(user))
    return qs if include_deleted else qs.filter(deleted_at__isnull=True)


def with_card_data(qs: QuerySet[Task]) -> QuerySet[Task]:
    """What a card or list row shows, in a fixed number of queries however many tasks there are."""
    return (
        qs.select_related("project", "assignee")
        .prefetch_related("labels")
        .annotate(
            stage_count=Count("stages", distinct=True),
            stages_done=Count("stages", filter=Q(stages__status=Status.COMPLETED), distinct=True),
        )
    )


def with_details(qs: QuerySet[Task]) -> QuerySet[Task]:
    """A task with everything its page or API object shows."""
    return qs.select_related("project__team", "assignee", "created_by", "template").prefetch_related(
        "labels", Prefetch("stages", queryset=Stage.objects.order_by("order"))
    )


def with_api_fields(qs: QuerySet[Task]) -> QuerySet[Task]:
    """What an API task row shows, lean: its own columns and its team's time zone (`team_time_zone`, for
    is_overdue). The API shows people, project and template as ids, so none of those rows is joined: on a
    million tasks each extra join costs the planner more than the rows do. Labels and stages come from
    `label_rows_by_task` and `stage_rows_by_task` once the page is known."""
    return qs.annotate(team_time_zone=F("project__team__time_zone"))


def label_rows_by_task(task_ids) -> dict[int, list[dict]]:
    """The labels of these tasks (already scoped to the user), by name, as plain rows: one query. (A
    prefetch into the related managers builds a queryset per task, which cost more than the query itself on
    a page of 50.)"""
    rows: dict[int, list[dict]] = {}
    links = Task.labels.through.objects.filter(task_id__in=task_ids).order_by("label__name", "label_id")
    for task_id, *label in links.values_list("task_id", "label_id", "label__name", "label__color"):
        rows.setdefault(task_id, []).append(dict(zip(("id", "name", "color"), label, strict=True)))
    return rows


STAGE_ROW_FIELDS = ("id", "name", "order", "estimated_hours", "actual_hours", "status", "started_at", "completed_at")
_STAGE_TIMES = ("started_at", "completed_at")


def _timestamp(text: str | None) -> datetime | None:
    """A timestamp read as text (see stage_rows_by_task): PostgreSQL gives its offset, SQLite stores UTC."""
    if text is None:
        return None
    value = datetime.fromisoformat(text)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def stage_rows_by_task(task_ids) -> dict[int, list[dict]]:
    """The stages of these tasks (already scoped to the user), in order, as plain rows: one query, and no model
    instances, which for a page of 50 tasks with 200 stages cost a third of the request's time.

    The two timestamps are read as text and parsed by `datetime.fromisoformat` (C): Django's timestamptz
    loader for psycopg is pure Python and was half the cost of these rows."""
    rows: dict[int, list[dict]] = {}
    as_text = {f"{name}_text": Cast(name, CharField()) for name in _STAGE_TIMES}
    columns = [name for name in STAGE_ROW_FIELDS if name not in _STAGE_TIMES]
    stages = Stage.objects.filter(task_id__in=task_ids).order_by("task_id", "order").annotate(**as_text)
    for task_id, *values, started, completed in stages.values_list("task_id", *columns, *as_text):
        row = dict(zip(columns, values, strict=True))
        row["started_at"], row["completed_at"] = _timestamp(started), _timestamp(completed)
        rows.setdefault(task_id, []).append(row)
    return rows


def task_comments(task: Task) -> QuerySet[Comment]:
    return task.comments.select_related("author")


def task_activity(task: Task) -> QuerySet[Activity]:
    return task.activities.select_related("actor")


def my_work(user, *, today: date | None = None, due_soon_days: int = 2) -> QuerySet[Task]:
    """My open tasks: overdue first, then due soon, then the rest (each by due date, undated last)."""
    today = today or today_in()
    urgency = Case(
        When(due_date__lt=today, then=Value(0)),
        When(due_date__lte=today + timedelta(days=due_soon_days), then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    qs = tasks_visible_to(user).active().open().filter(assignee=user)
    return with_card_data(qs).annotate(urgency=urgency).order_by("urgency", "due_date", "-priority", "id")


def trash(user) -> QuerySet[Task]:
    return tasks_visible_to(user, include_deleted=True).filter(deleted_at__isnull=False).order_by("-deleted_at")


def archive(user) -> QuerySet[Task]:
    return tasks_visible_to(user).filter(archived_at__isnull=False).order_by("-archived_at")


def templates_visible_to(user) -> QuerySet[Template]:
    return Template.objects.filter(team__in=team_ids_visible_to(user)).prefetch_related("stages")


def labels_visible_to(user) -> QuerySet[Label]:
    return Label.objects.filter(team__in=team_ids_visible_to(user))


# --- pages of the web UI --------------------------------------------------------------------------------


def projects_with_counts(user) -> QuerySet[Project]:
    """The user's projects with how many active tasks each has, open and in all (one query)."""
    active = Q(tasks__deleted_at__isnull=True, tasks__archived_at__isnull=True)
    return (
        projects_visible_to(user)
        .annotate(
            task_count=Count("tasks", filter=active),
            open_count=Count("tasks", filter=active & ~Q(tasks__status=Status.COMPLETED)),
        )
        .order_by("team__name", "name")
    )


def project_tasks(user, project: Project) -> QuerySet[Task]:
    """A project's active tasks (not trashed, not archived) with their card data, for the board and the list."""
    return with_card_data(tasks_visible_to(user).active().filter(project=project))


def board_columns(user, project: Project) -> dict[str, list[Task]]:
    """The project's active tasks by status, most urgent first (one query, plus one for their labels)."""
    columns: dict[str, list[Task]] = {status: [] for status in Status.values}
    for task in project_tasks(user, project).order_by("-priority", "due_date", "-created_at", "-id"):
        columns[task.status].append(task)
    return columns


def stages_visible_to(user) -> QuerySet[Stage]:
    """Stages of the user's live tasks, with their task and project (for the permission check)."""
    return Stage.objects.filter(task__in=tasks_visible_to(user)).select_related("task__project")


def trash_page(user) -> QuerySet[Task]:
    return trash(user).select_related("project", "assignee")


def archive_page(user) -> QuerySet[Task]:
    return archive(user).select_related("project", "assignee")


def users_by_id(ids) -> dict:
    """People named in activity rows (assignees), by id, for describing the history."""
    from accounts.models import User

    ids = {i for i in ids if isinstance(i, int)}
    return {u.pk: u for u in User.objects.filter(pk__in=ids)} if ids else {}
