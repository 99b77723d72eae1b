"""Read queries, always scoped to what the user may see. `tasks_visible_to` is the one door to task rows:
every list and detail view starts from it, so another team's task is simply not found (404)."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

from django.db.models import (
    CharField,
    Count,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Coalesce
from django.db.models.query import ValuesIterable

from accounts.permissions import team_ids_visible_to

from . import sql
from .deadlines import Deadlines, deadlines_at
from .models import Activity, Comment, Label, Project, Stage, Status, Task, Template


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
    """What a card or list row shows, in a fixed number of queries however many tasks there are; its forecast
    (analytics' row, for the at-risk mark) comes along the reverse one-to-one, a LEFT JOIN on its key."""
    return (
        qs.select_related("project", "assignee", "forecast")
        .prefetch_related("labels")
        .annotate(stage_count=_stage_count(), stages_done=_stage_count(status=Status.COMPLETED))
    )


def with_details(qs: QuerySet[Task]) -> QuerySet[Task]:
    """A task with everything its page or API object shows."""
    return qs.select_related("project__team", "assignee", "created_by", "template", "forecast").prefetch_related(
        "labels", Prefetch("stages", queryset=Stage.objects.order_by("order"))
    )


def with_api_fields(qs: QuerySet[Task]) -> QuerySet[Task]:
    """What an API task row shows, lean: its own columns, its team's time zone (`team_time_zone`, for
    is_overdue) and its forecast's columns (`forecast_*`, NULL without a forecast row: a LEFT JOIN on the
    forecast's key, one probe a row of the page). The API shows people, project and template as ids, so none
    of those rows is joined: on a million tasks each extra join costs the planner more than the rows do. Labels
    and stages come from `label_rows_by_task` and `stage_rows_by_task` once the page is known."""
    return qs.annotate(
        team_time_zone=F("project__team__time_zone"),
        **{name: F(f"forecast__{name.removeprefix('forecast_')}") for name in FORECAST_ROW_FIELDS},
    )


# A task's forecast as the API shows it (tasks/serializers.py ForecastSerializer), read with the task's row.
FORECAST_ROW_FIELDS = (
    "forecast_p50", "forecast_p85", "forecast_at_risk", "forecast_basis", "forecast_reason", "forecast_as_of",
)  # fmt: skip


def loaded_forecast(task):
    """The task's forecast row when its query loaded it (`select_related("forecast")`: with_card_data,
    with_details), else None; never a query (a page that did not ask for forecasts shows none)."""
    return Task._meta.get_field("forecast").get_cached_value(task, default=None)


def label_rows_by_task(task_ids) -> dict[int, list[dict]]:
    """The labels of these tasks (already scoped to the user), by name, as plain rows: one query. (A
    prefetch into the related managers builds a queryset per task, which cost more than the query itself on
    a page of 50.)"""
    rows: dict[int, list[dict]] = {}
    links = Task.labels.through.objects.filter(task_id__in=task_ids).order_by("label__name", "label_id")
    for task_id, *label in links.values_list("task_id", "label_id", "label__name", "label__color"):
        rows.setdefault(task_id, []).append(dict(zip(("id", "name", "color"), label, strict=True)))
    return rows


# What an API task row reads (tasks/serializers.py TaskSerializer), besides its labels and stages.
API_ROW_FIELDS = (
    "id", "project_id", "title", "description", "status", "priority", "assignee_id", "created_by_id", "due_date",
    "started_at", "completed_at", "created_at", "updated_at", "team_time_zone", *FORECAST_ROW_FIELDS,
)  # fmt: skip


class _RowIterable(ValuesIterable):
    """Rows as plain objects with attributes (and `pk`), not model instances: building 50 Task instances cost
    more than their query (docs/performance.md); what reads them needs attributes only."""

    def __iter__(self):
        for row in super().__iter__():
            yield SimpleNamespace(pk=row["id"], **row)


def api_rows(qs: QuerySet[Task]) -> QuerySet:
    """`qs` (from `with_api_fields`, filtered and ordered as wanted) yielding lean rows with API_ROW_FIELDS (and
    `search_rank` when the query ranks a search)."""
    extra = [name for name in ("search_rank",) if name in qs.query.annotations]
    rows = qs.values(*API_ROW_FIELDS, *extra)
    rows._iterable_class = _RowIterable
    return rows


def with_labels_and_stages(tasks: list[Task]) -> list[Task]:
    """Attach each task's labels and stages (`label_rows`, `stage_rows`: what the API's task shows), with one
    query each for all the tasks."""
    ids = [task.pk for task in tasks]
    labels, stages = label_rows_by_task(ids), stage_rows_by_task(ids)
    for task in tasks:
        task.label_rows = labels.get(task.pk, [])
        task.stage_rows = stages.get(task.pk, [])
    return tasks


STAGE_ROW_FIELDS = ("id", "name", "order", "estimated_hours", "actual_hours", "status", "started_at", "completed_at")
_STAGE_TIMES = ("started_at", "completed_at")


def _timestamp(text: str | None) -> datetime | None:
    """A timestamp read as text (see stage_rows_by_task), with the offset PostgreSQL writes."""
    return None if text is None else datetime.fromisoformat(text)


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


# How many rows a My work group and cards a board column show; the rest are one link away (the project's list,
# filtered). Each card or row is most of its page's rendering time: at 50 a column the board took 140 to 175 ms
# of CPU over HTTP on a million tasks (docs/performance.md), over the 100 ms every page is held to.
MY_WORK_GROUP_LIMIT = 25
BOARD_COLUMN_LIMIT = 25


def my_work(user, *, deadlines: Deadlines | None = None, limit: int = MY_WORK_GROUP_LIMIT) -> dict[str, list[Task]]:
    """My open tasks in three groups, each by due date (undated last) then priority: "overdue", "soon" (due
    soon) and "later", each task judged in its team's time zone as tasks/deadlines.py defines it. At most
    `limit` + 1 tasks a group (the extra one tells the page there are more), each group one range scan of the
    index task_assignee_open_due, however many tasks I have. Rows carry `team_time_zone`, for their marks."""
    deadlines = deadlines or deadlines_at()
    mine = with_card_data(tasks_visible_to(user, resolve_projects=True).active().open().filter(assignee=user)).annotate(
        team_time_zone=F("project__team__time_zone")
    )
    ranges = {  # each one index range; "later" is two, as an OR of them would make PostgreSQL scan them all
        "overdue": deadlines.overdue(),
        "soon": deadlines.due_soon(),
        "later": deadlines.later(),
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


def board_columns(
    user, project: Project, *, limit: int = BOARD_COLUMN_LIMIT, at_risk: bool | None = None
) -> dict[str, list[Task]]:
    """The project's active tasks by status, most urgent first: at most `limit` + 1 cards a column (the extra
        one tells the page there are more; the list page shows them all), with how many of each card's stages have
    begun (`stages_begun`: the moves a card offers depend on it). Each column is one range scan of the
        index task_board_order, plus one query for its labels, however many tasks the project has."""
    ordered = (
        project_tasks(user, project)
        .annotate(stages_begun=_stage_count(status__in=[Status.IN_PROGRESS, Status.COMPLETED]))
        .order_by("-priority", "due_date", "-created_at", "-id")
    )
    if at_risk is not None:  # the board's filter, as the list's (tasks/filters.py filter_at_risk)
        ordered = ordered.filter(forecast__at_risk=True) if at_risk else ordered.exclude(forecast__at_risk=True)
    if at_risk:
        # A completed task is never at risk (forecasts are kept for open tasks): its column is not searched, which
        # would walk every completed task of the project to find none (3 s on the 1M bench).
        return {
            status: [] if status == Status.COMPLETED else list(ordered.filter(status=status)[: limit + 1])
            for status in Status.values
        }
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


# --- search ---------------------------------------------------------------------------------------------

SEARCH_MAX_LENGTH = 200
# How many of the newest matching tasks (and, apart, of the newest matching comments) are ranked: a bound on
# the work of one search, whatever the word. See search_tasks.
SEARCH_CANDIDATES = 200
# One text-search configuration for the generated columns (migration 0004) and the queries that use them:
# a query parsed with another configuration would stem differently and miss.
_TSQUERY = "websearch_to_tsquery('english'::regconfig, %s)"
# The user's teams: accounts' subquery (accounts/permissions.py `team_ids_visible_to`), compiled into the text.
_VISIBLE_PROJECTS = "SELECT p.id FROM tasks_project p WHERE p.team_id IN ({teams})"
_CANDIDATES_SQL = f"""
    SELECT id FROM (
        (SELECT t.id FROM tasks_task t
          WHERE t.search_vector @@ {_TSQUERY} AND t.deleted_at IS NULL AND t.project_id IN ({_VISIBLE_PROJECTS})
          ORDER BY t.id DESC LIMIT %s)
        UNION
        (SELECT c.task_id FROM tasks_comment c JOIN tasks_task ct ON ct.id = c.task_id
          WHERE c.search_vector @@ {_TSQUERY} AND ct.deleted_at IS NULL AND ct.project_id IN ({_VISIBLE_PROJECTS})
          ORDER BY c.id DESC LIMIT %s)
    ) candidates"""  # noqa: S608 -- fixed text; the words, the teams' subquery and the bound are parameters


def search_tasks(qs: QuerySet[Task], text: str, *, user) -> QuerySet[Task]:
    """The tasks of `qs` (already scoped by tasks_visible_to(user)) whose title, description or one of whose
    comments matches `text`, best first, with their `search_rank`.

    Full-text search in web-search syntax (`"exact phrase"`, `or`, `-word`) on the generated,
    GIN-indexed `search_vector` columns of tasks and comments, ranked by ts_rank: a title match (weight A)
    above a description match (B); a match only in a comment ranks last. What is ranked is the newest
    SEARCH_CANDIDATES matching tasks plus the tasks of the newest SEARCH_CANDIDATES matching comments: for a
    word in fewer tasks than that (most searches) this is every match, exactly ranked; for a word in 3% of a
    million tasks, ranking all 30,000 matches cost about a second (each match's row read for its rank), while
    the newest 200 cost 10 ms (a backward walk of the primary key that stops at the 200th match). A broad word
    is refined by adding another.
    """
    text = (text or "").strip()[:SEARCH_MAX_LENGTH]
    if not text or not getattr(user, "is_authenticated", False):
        return qs.none()
    # RawSQL: the ORM has no tsvector column to name (the columns are not model fields, see migration 0004).
    teams_sql, teams_params = team_ids_visible_to(user).query.sql_with_params()
    candidates = RawSQL(  # noqa: S611
        _CANDIDATES_SQL.format(teams=teams_sql),
        (text, *teams_params, SEARCH_CANDIDATES, text, *teams_params, SEARCH_CANDIDATES),
    )
    rank = RawSQL(f"ts_rank(tasks_task.search_vector, {_TSQUERY})", (text,), output_field=FloatField())  # noqa: S611
    return qs.filter(pk__in=candidates).annotate(search_rank=rank).order_by("-search_rank", "-id")


def tasks_search(user, text: str) -> QuerySet[Task]:
    """The search box: every task the user may see (archived ones too, not the trash), best match first."""
    return search_tasks(tasks_visible_to(user), text, user=user).select_related("project", "assignee")


def search_comment_matches(task_ids, text: str) -> dict[int, str]:
    """For the given tasks (already found by search_tasks for the user), the body of the first comment of each
    that matches `text`: what the results page quotes when the match is in a comment. One query."""
    text = (text or "").strip()[:SEARCH_MAX_LENGTH]
    task_ids = list(task_ids)
    if not text or not task_ids:
        return {}
    matching = RawSQL(  # noqa: S611 -- fixed text, the words are a parameter
        f"SELECT c.id FROM tasks_comment c WHERE c.task_id = ANY(%s) AND c.search_vector @@ {_TSQUERY}",  # noqa: S608
        (task_ids, text),
    )
    comments = Comment.objects.filter(task_id__in=task_ids, pk__in=matching).order_by("task_id", "created_at", "id")
    found: dict[int, str] = {}
    for task_id, body in comments.values_list("task_id", "body"):
        found.setdefault(task_id, body)
    return found


def comments_visible_to(user) -> QuerySet[Comment]:
    """Comments on the user's live tasks, with what a permission check needs (another team's is a 404)."""
    return Comment.objects.filter(task__in=tasks_visible_to(user)).select_related("task__project", "author")


# --- the calendar -----------------------------------------------------------------------------------------

CALENDAR_DAY_LIMIT = 4
CALENDAR_FEED_LIMIT = 1000


# The order of a calendar day: open tasks first ('pending' > 'in_progress' > 'completed'), the most urgent first,
# the oldest first among equals. The index task_calendar_day is in this order within each due date.
CALENDAR_ORDER = ("-status", "-priority", "id")


# What the grid shows of a task (tasks/views/calendar.py): its other columns, its project's and assignee's
# timestamps are not read, and loading them was a fifth of the Python time of the query.
CALENDAR_FIELDS = (
    "title", "status", "priority", "due_date", "project__name", "project__team", "assignee__full_name",
    "assignee__email",
)  # fmt: skip


def calendar_days(qs: QuerySet[Task], start, end, *, per_day: int = CALENDAR_DAY_LIMIT) -> list[Task]:
    """The tasks of `qs` (already scoped and filtered for the user) due from `start` to `end`, at most
    `per_day` of each day (CALENDAR_ORDER: open ones first, then by priority), each with `day_total`: how many
    that day has in all. Two queries, whatever the number of tasks (one when no task is due in the range):

    - how many tasks each day has: a GROUP BY over an index-only range of task_calendar_day;
    - the rows shown, with their project, assignee and team time zone (for the overdue mark): the ids are the
      first `per_day` entries of each day in task_calendar_day, read by a LATERAL subquery a day (tasks/sql.py
      calendar_day_firsts).

    The window was the one query before: at a million tasks it read and sorted the 74,000 tasks of six weeks
    (870 ms); the two queries now read 168 rows and count the rest in the index (docs/performance.md). The two
    run in their own snapshots, so a day's total is never less than what it shows (a task moved in between)."""
    in_range = qs.filter(due_date__gte=start, due_date__lte=end).order_by()
    totals = dict(in_range.values_list("due_date").annotate(n=Count("pk")))
    if not totals:
        return []
    firsts = sql.calendar_day_firsts(qs.order_by(*CALENDAR_ORDER), start=start, end=end, per_day=per_day)
    tasks = list(
        qs.filter(pk__in=firsts)
        .annotate(team_time_zone=F("project__team__time_zone"))
        .select_related("project", "assignee")
        .only(*CALENDAR_FIELDS)
        .order_by("due_date", *CALENDAR_ORDER)
    )
    shown: dict = {}
    for task in tasks:
        shown[task.due_date] = shown.get(task.due_date, 0) + 1
    for task in tasks:
        task.day_total = max(totals.get(task.due_date, 0), shown[task.due_date])
    return tasks


def calendar_day_tasks(qs: QuerySet[Task], day) -> QuerySet[Task]:
    """Every task of `qs` due on `day`, in the calendar's order: what a day's "+N more" opens."""
    return (
        qs.filter(due_date=day)
        .annotate(team_time_zone=F("project__team__time_zone"))
        .select_related("project", "assignee")
        .order_by(*CALENDAR_ORDER)
    )


def calendar_feed_tasks(user, *, limit: int = CALENDAR_FEED_LIMIT) -> list[Task]:
    """What the user's iCal feed lists: their open, live tasks with a due date, in the teams they are still
    a member of (tasks_visible_to), the latest `limit` due dates (a feed with more drops the oldest overdue
    ones). One query, a range of the index task_assignee_open_due."""
    mine = tasks_visible_to(user).active().open().filter(assignee=user, due_date__isnull=False)
    return list(mine.select_related("project").order_by("-due_date", "-id")[:limit])
