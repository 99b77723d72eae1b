"""The task list's CSV: the tasks the list shows, with its filters and its order, as a person reads them.

The rows are the list's own queryset (tasks/views/projects.py `task_list_query`: the user's scope through the selectors,
the filters of the screen, the sort), turned into human values by the database: status and priority by their labels, the
assignee by name, labels by name, times in ISO 8601 with the offset of the team's time zone
("2026-12-06T09:30:00+01:00"), due dates as ISO days, and the task's absolute link; then its forecast (kept by
analytics, a LEFT JOIN on its key): the 50 % and 85 % dates as ISO days (where the forecast has no date, its reason
instead of the 50 % date, and "No forecast yet" for an open task without one) and whether it is at risk. PostgreSQL
writes the CSV itself (`COPY (<the queryset's SQL>) TO STDOUT`, read through psycopg 3 in blocks), so the serving
process only passes bytes on, in bounded memory: a million rows in a few seconds (docs/performance.md#task-list-csv).

The file starts with a UTF-8 byte order mark (spreadsheets then read accents right); a text starting with = + - @ (a
formula to a spreadsheet) is written after an apostrophe."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from datetime import date
from urllib.parse import quote

from django.conf import settings
from django.db import connections
from django.db.models import Case, CharField, F, Func, OuterRef, Q, QuerySet, Subquery, TextField, Value, When
from django.db.models.functions import Coalesce, NullIf
from django.urls import reverse

from aether.copy_out import copy_out, csv_head

from .forecast_text import NO_DATE, NO_FORECAST
from .models import Priority, Status, Task

TEXT = TextField()
EXPORT_WORK_MEM = "256MB"
# From this many rows (the planner's estimate) the export reads the table in parallel and sorts in memory rather
# than walking the list's index: the index spares the planner a sort, but its heap reads come in the index's
# order, one at a time, and the per-row expressions then run on one core (a million rows: 6.0 s by the index,
# 4.4-4.7 s by a parallel scan and sort; docs/performance.md). Below it, the index is the better plan.
PARALLEL_FROM_ROWS = 100_000
TIME_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM'  # to_char: ISO 8601 with the session time zone's offset

# (header, what the column is: a field name, an expression or a function of the site's task link prefix)
HEADERS = (
    "ID",
    "Title",
    "Status",
    "Priority",
    "Assignee",
    "Labels",
    "Due date",
    "Created",
    "Started",
    "Completed",
    "Link",
    "Likely by (50 %)",
    "85 % by",
    "At risk",
)


class _Repeating(Func):
    """A Func whose template names its expression more than once: its parameters are given once per mention."""

    def as_sql(self, compiler, connection, **extra):
        sql, params = super().as_sql(compiler, connection, **extra)
        return sql, tuple(params) * self.extra.get("template", self.template).count("%(expressions)s")


class SpreadsheetSafe(_Repeating):
    """A text a spreadsheet would take for a formula (= + - @, tab, carriage return first) gets an apostrophe."""

    template = "CASE WHEN left(%(expressions)s, 1) IN ('=', '+', '-', '@', chr(9), chr(13)) THEN '''' || %(expressions)s ELSE %(expressions)s END"  # noqa: E501
    output_field = TextField()


class _JoinedNames(_Repeating):
    """string_agg of the names, by name, as a plain expression of a correlated subquery (see csv_rows)."""

    template = "string_agg(%(expressions)s, '; ' ORDER BY %(expressions)s)"
    contains_aggregate = False
    output_field = TextField()


class ToChar(Func):
    function = "to_char"
    output_field = CharField()


def _label(field: str, choices) -> Func:
    """The stored value's label, as the pages show it ("In progress", "High"), by the database."""
    whens = " ".join(f"WHEN %(expressions)s = {_literal(value)} THEN {_literal(label)}" for value, label in choices)
    return _Repeating(F(field), template=f"CASE {whens} END", output_field=TextField())


def _literal(value) -> str:
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def csv_rows(tasks: QuerySet[Task], *, team_id: int) -> QuerySet:
    """The CSV's columns (HEADERS) over `tasks` (of the team `team_id`), keeping its filters and order: one
    statement."""
    head, _, tail = reverse("tasks:task_detail", args=[987654321]).partition("987654321")
    # Without GROUP BY (which Django adds for a real aggregate): an aggregate over no row is NULL, and the plan is
    # one index probe per task rather than a hash built per task.
    labels = (
        Task.labels.through.objects.filter(task_id=OuterRef("pk"))
        .order_by()
        .values(names=_JoinedNames(SpreadsheetSafe("label__name")))  # each name safe, so the joined text is too
    )
    return tasks.values_list(
        "pk",
        SpreadsheetSafe("title"),
        _label("status", Status.choices),
        _label("priority", Priority.choices),
        SpreadsheetSafe(
            Coalesce(NullIf(F("assignee__full_name"), Value("")), F("assignee__email"), output_field=TextField())
        ),
        # Most tasks have no label: a hashed set of the team's labelled tasks, built once, answers that in a probe,
        # and only a labelled task runs the subquery (a subquery for every task was a third of the export's time).
        Case(
            When(
                pk__in=Task.labels.through.objects.filter(label__team_id=team_id).values("task_id"),
                then=Coalesce(Subquery(labels, output_field=TEXT), Value(""), output_field=TEXT),
            ),
            default=Value(""),
            output_field=TEXT,
        ),
        "due_date",
        ToChar("created_at", Value(TIME_FORMAT)),
        ToChar("started_at", Value(TIME_FORMAT)),
        ToChar("completed_at", Value(TIME_FORMAT)),
        # A plain ||, not Concat (which wraps each part in COALESCE and a cast: 0.7 s of a million rows).
        Func(
            Value(settings.SITE_URL.rstrip("/") + head),
            F("pk"),
            Value(tail),
            template="(%(expressions)s)",
            arg_joiner=" || ",
            output_field=TEXT,
        ),
        *_forecast_columns(),
    )


def _forecast_columns() -> tuple:
    """ "Likely by (50 %)", "85 % by", "At risk": from the task's forecast row (analytics.models.Forecast, reached
    by the reverse one-to-one: a LEFT JOIN), in the words of tasks/forecast_text.py. A completed task has none."""
    done, none = Q(status=Status.COMPLETED), Q(forecast__as_of__isnull=True)
    likely = Case(
        When(done, then=Value("")),
        When(none, then=Value(NO_FORECAST)),
        When(
            forecast__p50__isnull=True,
            then=SpreadsheetSafe(Coalesce(NullIf(F("forecast__reason"), Value("")), Value(NO_DATE))),
        ),
        default=ToChar("forecast__p50", Value("YYYY-MM-DD"), output_field=TEXT),
        output_field=TEXT,
    )
    at_risk = Case(
        When(done | none, then=Value("")),
        When(forecast__at_risk=True, then=Value("Yes")),
        default=Value("No"),
        output_field=TEXT,
    )
    return likely, Case(When(done, then=None), default=F("forecast__p85")), at_risk


def tasks_csv(tasks: QuerySet[Task], *, team_id: int, time_zone: str, using: str = "default") -> Iterator[bytes]:
    """The CSV of `tasks` (already scoped and filtered by the caller), times in `time_zone`, as blocks of bytes.

    The session's time zone is the team's for the statement (to_char writes times and offsets in it), then
    reset, as is work_mem: the connection serves other requests next."""
    sql, params = csv_rows(tasks, team_id=team_id).query.get_compiler(using=using).as_sql()
    copy_sql = f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)"
    connection = connections[using]
    connection.ensure_connection()
    if connection.queries_logged:  # COPY bypasses Django's cursor wrapper: log it, so query counts see it
        connection.queries_log.append({"sql": copy_sql, "time": "0.000"})
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('TimeZone', %s, false)", [time_zone])
        # The hashed set of labelled tasks stays in memory (of the database server) rather than being probed by a
        # scan per task, as the dashboard's export does (analytics/export.py).
        cursor.execute(f"SET work_mem = '{EXPORT_WORK_MEM}'")
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        if cursor.fetchone()[0][0]["Plan"]["Plan Rows"] >= PARALLEL_FROM_ROWS:
            cursor.execute("SET enable_indexscan = off")
            cursor.execute("SET enable_bitmapscan = off")
        else:
            # The forecast of each row by its key, not a hash of every forecast of the table: for a filtered list
            # (50,008 rows of 1M) PostgreSQL hashed the 450,000 forecasts before its first row (first block 0.86 s
            # against 0.37 s by key, whole file 0.99 against 0.92 s; docs/performance.md).
            cursor.execute("SET enable_hashjoin = off")
        try:
            yield from copy_out(cursor, copy_sql, params, head=csv_head(HEADERS))
        finally:
            # Django set the connection's zone when it connected (UTC); put it back whatever happened.
            cursor.execute("SELECT set_config('TimeZone', %s, false)", [connection.timezone_name])
            cursor.execute("RESET work_mem")
            cursor.execute("RESET enable_indexscan")
            cursor.execute("RESET enable_bitmapscan")
            cursor.execute("RESET enable_hashjoin")


_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|;]+')


def export_filename(team_name: str, project_name: str, day: date) -> tuple[str, str]:
    """(an ASCII file name, the same in UTF-8): "<team> - <project> - tasks <day>.csv", with characters no file
    system or header takes (slashes, quotes, control characters...) replaced."""
    words = f"{team_name} - {project_name} - tasks {day.isoformat()}"
    utf8 = " ".join(_UNSAFE.sub(" ", words).split())[:150] + ".csv"
    ascii_name = unicodedata.normalize("NFKD", utf8).encode("ascii", "ignore").decode()
    ascii_name = " ".join(re.sub(r"[^A-Za-z0-9 ._()-]", " ", ascii_name).split()) or "tasks.csv"
    return ascii_name, utf8


def content_disposition(team_name: str, project_name: str, day: date) -> str:
    ascii_name, utf8 = export_filename(team_name, project_name, day)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(utf8, safe='')}"
