"""The CSV export: one row per task of a dashboard's scope (trashed tasks left out, archived ones kept), with its
stage summary, streamed in bounded memory.

The database writes the CSV itself (`COPY (SELECT ...) TO STDOUT`, read through psycopg 3 in blocks), so the
serving process only passes bytes on. The file starts with a UTF-8 byte order mark (so spreadsheets read
accents right), fields are quoted where they need it, and a text field starting with = + - @ (a formula to a
spreadsheet) is prefixed with an apostrophe.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db import connections

from aether.copy_out import copy_out, csv_head
from tasks.models import Priority

from .routers import reporting_alias
from .selectors import Scope

EXPORT_WORK_MEM = "256MB"
COLUMNS = (
    "id",
    "project",
    "title",
    "status",
    "priority",
    "assignee",
    "due_date",
    "created_at",
    "started_at",
    "completed_at",
    "archived_at",
    "stages",
    "stages_completed",
    "estimated_hours",
    "actual_hours",
)


def export_filename(scope: Scope) -> str:
    what = f"project-{scope.project.pk}" if scope.project else (f"team-{scope.team.pk}" if scope.team else "my-work")
    return f"aether-tasks-{what}-{scope.today.isoformat()}.csv"


def tasks_csv(scope: Scope) -> Iterator[bytes]:
    """The CSV of the scope's tasks, as blocks of bytes."""
    return _copy(scope, reporting_alias())


def _safe(column: str) -> str:
    # left() and IN, not a regular expression: cheaper on a million rows.
    formula = "('=', '+', '-', '@', chr(9), chr(13))"
    return f"CASE WHEN left({column}, 1) IN {formula} THEN '''' || {column} ELSE {column} END"


def _utc(column: str) -> str:
    # "2026-12-01 18:36:33": UTC to the second, a form every spreadsheet reads as a date and time.
    return f"({column} AT TIME ZONE 'UTC')::timestamp(0)"


def _where(scope: Scope) -> tuple[str, list]:
    """The scope as SQL conditions on t (task), p (project) and tm (team), with their parameters."""
    clauses, params = ["t.deleted_at IS NULL"], []
    if scope.kind == "project":
        clauses.append("t.project_id = %s")
        params.append(scope.project.pk)
    elif scope.kind == "team":
        clauses.append("p.team_id = %s")
        params.append(scope.team.pk)
    else:
        clauses.append("p.team_id = ANY(%s)")
        params.append([t.pk for t in scope.teams])
    if scope.assignee_id is not None:
        clauses.append("t.assignee_id = %s")
        params.append(scope.assignee_id)
    # The same days as the dashboard's counts: the task's creation date in its team's time zone.
    if scope.since is not None:
        clauses.append("(t.created_at AT TIME ZONE tm.time_zone)::date >= %s")
        params.append(scope.since)
    if scope.until is not None:
        clauses.append("(t.created_at AT TIME ZONE tm.time_zone)::date <= %s")
        params.append(scope.until)
    return " AND ".join(clauses), params


def _copy(scope: Scope, alias: str) -> Iterator[bytes]:
    where, params = _where(scope)
    priority = " ".join(f"WHEN {p.value} THEN '{p.name.lower()}'" for p in Priority)
    sql = f"""
        COPY (
            SELECT t.id, {_safe("p.name")}, {_safe("t.title")}, t.status, CASE t.priority {priority} END,
                   {_safe("COALESCE(NULLIF(u.full_name, ''), u.email)")}, t.due_date,
                   {_utc("t.created_at")}, {_utc("t.started_at")}, {_utc("t.completed_at")}, {_utc("t.archived_at")},
                   s.stages, s.completed, COALESCE(s.estimated, 0), s.actual
            FROM tasks_task t
            JOIN tasks_project p ON p.id = t.project_id
            JOIN accounts_team tm ON tm.id = p.team_id
            LEFT JOIN accounts_user u ON u.id = t.assignee_id
            CROSS JOIN LATERAL (
                SELECT count(*) AS stages, count(*) FILTER (WHERE st.status = 'completed') AS completed,
                       sum(st.estimated_hours) AS estimated, sum(st.actual_hours) AS actual
                FROM tasks_stage st WHERE st.task_id = t.id
            ) s
            WHERE {where}
            ORDER BY t.id
        ) TO STDOUT WITH (FORMAT csv, HEADER false)
    """  # noqa: S608 -- fixed text; every value is a parameter
    connection = connections[alias]
    connection.ensure_connection()
    if connection.queries_logged:  # COPY bypasses Django's cursor wrapper: log it, so query counts see it
        connection.queries_log.append({"sql": " ".join(sql.split()), "time": "0.000"})
    with connection.cursor() as cursor:
        # The rows come sorted by id: with the default 4 MB a sort, a whole team's million rows (about 190 MB)
        # were sorted on disk in runs and merged. In the database server's memory, not this process's.
        cursor.execute(f"SET work_mem = '{EXPORT_WORK_MEM}'")
        try:
            yield from copy_out(cursor, sql, params, head=csv_head(COLUMNS))
        finally:
            cursor.execute("RESET work_mem")  # the connection serves other requests next
