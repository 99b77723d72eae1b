"""Read queries, always scoped to what the user may see. `tasks_visible_to` is the one door to task rows:
every list and detail view starts from it, so another team's task is simply not found (404)."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db.models import (
    CharField,
    Count,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from accounts.permissions import team_ids_visible_to

from .models import Activity, Comment, Label, Project, Stage, Status, Task, Template


def today_in(time_zone: str | None = None) -> date:
    """Today's date in a team's time zone (default: the site's)."""
    return timezone.now().astimezone(zoneinfo.ZoneInfo(time_zone or settings.TIME_ZONE)).date()


def projects_visible_to(user) -> QuerySet[Project]:
    return Project.objects.filter(team__in=team_ids_visible_to(user)).select_related("team")


def tasks_visible_to(user, *, include_deleted: bool = False, resolve_projects: bool = False) -> QuerySet[Task]:
    """Every task of the user's teams (archived ones included; trashed ones only when asked).

    With `resolve_projects` the user's project ids are read first (one small query) and the tasks filtered on
    them. For a page across projects (My work) that is what lets PostgreSQL estimate the rows and walk an
    ordered index: the team subquery's join misled it into a bitmap scan and a sort (160 ms -> 2 ms at a
    million tasks, docs/performance.md)."""
    if resolve_projects:
        project_ids = list(projects_visible_to(user).order_by().values_list("id", flat=True))
        qs = Task.objects.filter(project_id__in=project_ids)
    else:
        qs = Task.objects.filter(project__team__in=team_ids_visible_to(user))
    return qs if include_deleted else qs.filter(deleted_at__isnull=True)


def _stage_count(**conditions) -> Coalesce:
    """How many of the outer task's stages match: a correlated subquery, so that it is computed only for the
    rows a page returns (a join + GROUP BY would aggregate every matching task before the LIMIT)."""
    matching = Stage.objects.filter(task=OuterRef("pk"), **conditions).order_by().values("task")
    return Coalesce(Subquery(matching.annotate(n=Count("pk")).values("n")[:1]), 0)


def with_card_data(qs: QuerySet[Task]) -> QuerySet[Task]:
    """What a card or list row shows, in a fixed number of queries however many tasks there are."""
    return (
        qs.select_related("project", "assignee")
        .prefetch_related("labels")
        .annotate(stage_count=_stage_count(), stages_done=_stage_count(status=Status.COMPLETED))
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


MY_WORK_GROUP_LIMIT = 50
BOARD_COLUMN_LIMIT = 50


def my_work(
    user, *, today: date | None = None, due_soon_days: int = 2, limit: int = MY_WORK_GROUP_LIMIT
) -> dict[str, list[Task]]:
    """My open tasks in three groups, each by due date (undated last) then priority: "overdue", "soon" (due
    within `due_soon_days`) and "later". At most `limit` + 1 tasks a group (the extra one tells the page there
    are more), each group one range scan of the index task_assignee_open_due, however many tasks I have."""
    today = today or today_in()
    soon_end = today + timedelta(days=due_soon_days)
    mine = with_card_data(tasks_visible_to(user, resolve_projects=True).active().open().filter(assignee=user))
    ranges = {  # each one index range; "later" is two, as an OR of them would make PostgreSQL scan them all
        "overdue": Q(due_date__lt=today),
        "soon": Q(due_date__gte=today, due_date__lte=soon_end),
        "later": Q(due_date__gt=soon_end),
        "undated": Q(due_date__isnull=True),
    }
    found = {
        name: list(mine.filter(where).order_by("due_date", "-priority", "id")[: limit + 1])
        for name, where in ranges.items()
    }
    later = found.pop("later") + found.pop("undated")
    return {**found, "later": later[: limit + 1]}


def trash(user) -> QuerySet[Task]:
    """The user's trashed tasks, latest first (index task_trashed_latest; the id breaks ties)."""
    visible = tasks_visible_to(user, include_deleted=True, resolve_projects=True)
    return visible.filter(deleted_at__isnull=False).order_by("-deleted_at", "-id")


def archive(user) -> QuerySet[Task]:
    """The user's archived tasks, latest first (index task_archived_latest; the id breaks ties)."""
    visible = tasks_visible_to(user, resolve_projects=True)
    return visible.filter(archived_at__isnull=False).order_by("-archived_at", "-id")


def templates_visible_to(user) -> QuerySet[Template]:
    return Template.objects.filter(team__in=team_ids_visible_to(user)).prefetch_related("stages")


def labels_visible_to(user) -> QuerySet[Label]:
    return Label.objects.filter(team__in=team_ids_visible_to(user))


# --- pages of the web UI --------------------------------------------------------------------------------


COUNT_CAP = 999


def _capped_task_count(*, open_only: bool) -> RawSQL:
    """How many live tasks the outer project has (only open ones if asked), counted up to COUNT_CAP + 1: one
    short range of the index task_board_order per project, where an exact COUNT would read every row of a
    project with half a million tasks on each visit. Pages show a count past the cap as "999+"."""
    open_clause = "AND t.status <> 'completed'" if open_only else ""
    # RawSQL: the ORM cannot count a LIMITed correlated subquery. The text is fixed; the cap is a parameter.
    return RawSQL(  # noqa: S611
        f"""SELECT COUNT(*) FROM (SELECT 1 FROM tasks_task t
                WHERE t.project_id = tasks_project.id AND t.deleted_at IS NULL AND t.archived_at IS NULL
                {open_clause} LIMIT %s) capped""",  # noqa: S608
        (COUNT_CAP + 1,),
        output_field=IntegerField(),
    )


def projects_with_counts(user) -> QuerySet[Project]:
    """The user's projects with how many live tasks each has, open and in all, each capped (one query)."""
    return (
        projects_visible_to(user)
        .annotate(task_count=_capped_task_count(open_only=False), open_count=_capped_task_count(open_only=True))
        .order_by("team__name", "name")
    )


def project_tasks(user, project: Project) -> QuerySet[Task]:
    """A project's active tasks (not trashed, not archived) with their card data, for the board and the list."""
    return with_card_data(tasks_visible_to(user, resolve_projects=True).active().filter(project=project))


def board_columns(user, project: Project, *, limit: int = BOARD_COLUMN_LIMIT) -> dict[str, list[Task]]:
    """The project's active tasks by status, most urgent first: at most `limit` + 1 cards a column (the extra
        one tells the page there are more; the list page shows them all), with how many of each card's stages have
    begun (`stages_begun`: the moves a card offers depend on it). Each column is one range scan of the
        index task_board_order, plus one query for its labels, however many tasks the project has."""
    ordered = (
        project_tasks(user, project)
        .annotate(stages_begun=_stage_count(status__in=[Status.IN_PROGRESS, Status.COMPLETED]))
        .order_by("-priority", "due_date", "-created_at", "-id")
    )
    return {status: list(ordered.filter(status=status)[: limit + 1]) for status in Status.values}


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
