"""The dashboard's figures: a fixed handful of queries over the kept rows (analytics/models.py), whatever the
number of tasks, for a project, a team, or the signed-in user's own work, over a date range and optionally one
assignee. Every formula is written down in docs/analytics.md.

Reads of the kept rows go to the reporting database when one is configured (analytics/routers.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction

from django.conf import settings
from django.db import connections
from django.db.models import BigIntegerField, Case, IntegerField, Q, Sum, Value, When
from django.http import Http404

from accounts.models import Team, User
from accounts.permissions import Action, require
from accounts.selectors import team_for_member, team_members, teams_of
from tasks.deadlines import deadlines_at
from tasks.models import Priority, Project, Status
from tasks.selectors import projects_visible_to

from .figures import LEAD_BOUNDS, bucket_middle_hours
from .models import (
    BUCKETS,
    HOURS,
    NO_ASSIGNEE,
    STATUS_PRIORITY,
    CompletedDay,
    CompletedShape,
    CreatedDay,
    OpenByDue,
    StageDay,
)

PRESETS = {"7": "Last 7 days", "30": "Last 30 days", "90": "Last 90 days", "quarter": "This quarter", "all": "All time"}
THROUGHPUT_WEEKS = 12
MEDIAN_RELATIVE_ERROR = round(2 ** (1 / 8) - 1, 4)  # see analytics/figures.py LEAD_BOUNDS
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass
class Scope:
    """What a dashboard covers: one project, one team, or "mine" (my tasks in all my teams)."""

    kind: str  # "project" | "team" | "mine"
    where: Q
    today: date
    team_todays: dict[int, date]  # each team's today, for overdue
    project: Project | None = None
    team: Team | None = None
    assignee_id: int | None = None
    since: date | None = None
    until: date | None = None
    teams: list[Team] = field(default_factory=list)
    time_zone: str = "UTC"  # the scope's dates are days in this zone (the team's; the site's for "mine")


def preset_range(preset: str, today: date) -> tuple[date | None, date | None]:
    """A preset's (since, until), both inclusive; "all" is (None, None)."""
    if preset == "all":
        return None, None
    if preset == "quarter":
        first_month = 3 * ((today.month - 1) // 3) + 1
        return date(today.year, first_month, 1), today
    return today - timedelta(days=int(preset) - 1), today


def dashboard_scope(
    user,
    *,
    project_id: int | None = None,
    team_id: int | None = None,
    assignee_id: int | None = None,
    since: date | None = None,
    until: date | None = None,
    preset: str | None = None,
) -> Scope:
    """The scope, checked against what the user may see: another team's project or team is a 404 (Http404),
    and reading a dashboard needs the viewer role (every member has it). With neither a project nor a team,
    the scope is the user's own tasks in all their teams."""
    if project_id is not None:
        project = projects_visible_to(user).filter(pk=project_id).first()
        if project is None:
            raise Http404("No such project.")
        require(user, Action.VIEW, project.team_id)
        team = project.team
        if team_id is not None and team_id != team.pk:
            raise Http404("No such project in this team.")
        where, kind, teams = Q(project_id=project.pk), "project", [team]
    elif team_id is not None:
        team = team_for_member(user, team_id)
        if team is None:
            raise Http404("No such team.")
        require(user, Action.VIEW, team.pk)
        project, where, kind, teams = None, Q(team_id=team.pk), "team", [team]
    else:
        project, team, kind = None, None, "mine"
        teams = list(teams_of(user))
        where = Q(team_id__in=[t.pk for t in teams], assignee_id=user.pk)
        assignee_id = user.pk
    # "Today" per team as the one definition of overdue has it (tasks/deadlines.py), from one instant.
    deadlines = deadlines_at()
    team_todays = {t.pk: deadlines.today(t.time_zone) for t in teams}
    today = deadlines.today(team.time_zone if team is not None else None)
    if assignee_id is not None:
        where &= Q(assignee_id=assignee_id)
    if preset:
        since, until = preset_range(preset, today)
    time_zone = team.time_zone if team is not None else settings.TIME_ZONE
    return Scope(kind, where, today, team_todays, project, team, assignee_id, since, until, teams, time_zone)


def _sum(column: str) -> Sum:
    """A sum read as an exact Python int, whatever the column's type (a sum of squares is a 38-digit numeric)."""
    return Sum(column, output_field=BigIntegerField())


def _in_range(scope: Scope, column: str = "day") -> Q:
    q = Q()
    if scope.since is not None:
        q &= Q(**{f"{column}__gte": scope.since})
    if scope.until is not None:
        q &= Q(**{f"{column}__lte": scope.until})
    return q


def _ratio(a, b) -> float | None:
    return None if not b else float(Fraction(int(a), int(b)))


def _hours(seconds, n) -> float | None:
    return None if not n else round(float(Fraction(int(seconds), int(n) * 3600)), 2)


def _variance(total, squares, n) -> Fraction | None:
    """Population variance from exact integer sums."""
    if not n:
        return None
    n, total, squares = int(n), int(total), int(squares)
    return Fraction(squares * n - total * total, n * n)


def _priority_name(value: int) -> str:
    return Priority(value).name.lower()


def _iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def _median_hours(buckets: dict[int, int]) -> float | None:
    total = sum(buckets.values())
    if not total:
        return None
    seen, middle = 0, (total + 1) / 2
    for bucket in sorted(buckets):
        seen += buckets[bucket]
        if seen >= middle:
            return round(bucket_middle_hours(bucket), 2)
    return None  # unreachable


# Ranges up to a year show every one of their days; a longer one ("all time", or a start decades back) starts at
# its first completion, so that a start date in 1990 does not make the database list 13,000 empty days.
FULL_SERIES_DAYS = 366

_SERIES_SQL = """
WITH x AS ({inner}),
b AS (SELECT min(day) AS first, max(day) AS last FROM x),
h AS (SELECT first, LEAST(COALESCE(%s::date, 'infinity'::date), GREATEST(%s::date, last)) AS hi FROM b
      WHERE first IS NOT NULL),
r AS (SELECT CASE WHEN %s::date IS NULL OR hi - %s::date > {full_days} THEN GREATEST(%s::date, first)
                  ELSE %s::date END AS lo, hi FROM h),
filled AS (
  SELECT g::date AS day, COALESCE(x.n, 0) AS n, COALESCE(x.lead, 0) AS lead
  FROM r CROSS JOIN generate_series(r.lo, r.hi, interval '1 day') AS g LEFT JOIN x ON x.day = g::date
)
SELECT 'day' AS kind, day AS first, to_char(day, 'YYYY-MM-DD') AS label, n, lead, 1 AS days FROM filled
UNION ALL
SELECT 'week', min(day), to_char(min(day), 'IYYY-"W"IW'), sum(n), sum(lead), count(*) FROM filled
GROUP BY date_trunc('week', day)
ORDER BY 1, 2
"""


def _completions_by_day_and_week(done, scope: Scope) -> tuple[list[dict], list[dict]]:
    """Completions per local day and per ISO week over the range, in one query: the database fills in the days
    and weeks without a completion (`generate_series`), so both trends have a linear axis. A week cut by the
    range's ends says how many of its days are in (`days`). Nothing completed at all: two empty lists."""
    inner = done.values("day").annotate(n=_sum("n"), lead=_sum("lead_sum")).order_by()
    sql, params = inner.query.sql_with_params()
    since, until, today = scope.since, scope.until, scope.today
    with connections[inner.db].cursor() as cursor:
        cursor.execute(
            _SERIES_SQL.format(inner=sql, full_days=FULL_SERIES_DAYS),
            [*params, until, today, since, since, since, since],
        )
        rows = cursor.fetchall()
    daily, trend = [], []
    for kind, _first, label, n, lead, days in rows:
        if kind == "day":
            daily.append({"day": label, "count": int(n)})
        else:
            trend.append({"week": label, "count": int(n), "days": int(days), "mean_hours": _hours(lead, n)})
    return daily, trend


def dashboard_figures(scope: Scope) -> dict:
    """Every figure of the dashboard (a JSON-ready dict), computed from the kept rows every time: eight queries
    whatever the number of tasks. (No copy is kept in a cache: the API answers an unchanged dashboard 304 from
    its ETag, aether/conditional.py, and computing it is cheap; docs/performance.md.)"""
    # Rows an increment brought back to zero count for nothing (a consistent row with n = 0 has every sum 0).
    where, in_range = scope.where & Q(n__gt=0), _in_range(scope)

    # 1. tasks created in the range, by status and priority
    by_status = dict.fromkeys(Status.values, 0)
    by_priority = {_priority_name(p): 0 for p in Priority.values}
    created = CreatedDay.objects.filter(where, in_range).aggregate(**{c: _sum(c) for c in STATUS_PRIORITY})
    for column, value in created.items():
        status, priority = column.rsplit("_", 1)
        by_status[status] += int(value or 0)
        by_priority[_priority_name(int(priority))] += int(value or 0)

    # 2. open and overdue now, by assignee (overdue: due before today in the task's team's time zone)
    overdue_when = Q()
    for team_id, today in scope.team_todays.items():
        overdue_when |= Q(team_id=team_id, due_date__lt=today)
    overdue_sum = (
        Sum(Case(When(overdue_when, then="n"), default=Value(0), output_field=IntegerField()))
        if scope.team_todays
        else Value(0)
    )
    workload: dict[int, dict] = {}
    for row in OpenByDue.objects.filter(where).values("assignee_id").annotate(o=_sum("n"), d=overdue_sum).order_by():
        w = workload.setdefault(row["assignee_id"], {"open": 0, "overdue": 0, "completed": 0})
        w["open"], w["overdue"] = int(row["o"]), int(row["d"])
    open_now = sum(w["open"] for w in workload.values())
    overdue_now = sum(w["overdue"] for w in workload.values())

    # 3. completions in the range by priority and assignee: the completion figures by priority, and the
    # workload's completed count by assignee (a few rows a person, folded here: one query for both)
    base_sums = CompletedDay.SUMS
    done = CompletedDay.objects.filter(where, in_range)
    total = dict.fromkeys(base_sums, 0)
    prio_sums: dict[int, dict[str, int]] = {}
    by_who = done.values("priority", "assignee_id").annotate(**{f"s_{c}": _sum(c) for c in base_sums}).order_by()
    for row in by_who:
        sums = prio_sums.setdefault(row["priority"], dict.fromkeys(base_sums, 0))
        for c in base_sums:
            value = int(row[f"s_{c}"])
            sums[c] += value
            total[c] += value
        w = workload.setdefault(row["assignee_id"], {"open": 0, "overdue": 0, "completed": 0})
        w["completed"] += int(row["s_n"])
    by_prio = [{"priority": _priority_name(p), **_completion(prio_sums[p])} for p in sorted(prio_sums)]

    # 4. completions in the range by day and by ISO week, every day and week present (zeros included)
    daily, trend = _completions_by_day_and_week(done, scope)

    # 5. weekday x hour of completions, and the lead-time histogram (the median), from the same rows
    heat = [[0] * 24 for _ in WEEKDAYS]
    buckets: dict[int, int] = {}
    shapes = CompletedShape.objects.filter(where, in_range)
    by_weekday = shapes.values("weekday").annotate(**{c: _sum(c) for c in (*HOURS, *BUCKETS)}).order_by()
    for row in by_weekday:
        heat[row["weekday"] - 1] = [int(row[h]) for h in HOURS]
        for i, b in enumerate(BUCKETS):
            if row[b]:
                buckets[i] = buckets.get(i, 0) + int(row[b])

    # 6. stage estimates by stage name
    stage_rows = (
        StageDay.objects.filter(where, in_range)
        .values("name")
        .annotate(**{f"s_{c}": _sum(c) for c in StageDay.SUMS})
        .order_by("name")
    )
    stages = [_stage({c: int(row[f"s_{c}"]) for c in StageDay.SUMS}, row["name"]) for row in stage_rows]

    # 7. throughput: created and completed per ISO week, the last 12 weeks up to today (one UNION ALL)
    first = scope.today - timedelta(days=scope.today.isoweekday() - 1 + 7 * (THROUGHPUT_WEEKS - 1))
    weeks = {_iso_week(first + timedelta(weeks=i)): {"created": 0, "completed": 0} for i in range(THROUGHPUT_WEEKS)}
    window = Q(day__gte=first, day__lte=scope.today)
    per_day = [
        model.objects.filter(where, window).values("day").annotate(n=_sum("n"), what=Value(key)).order_by()
        for model, key in ((CreatedDay, "created"), (CompletedDay, "completed"))
    ]
    for row in per_day[0].union(per_day[1], all=True):
        weeks[_iso_week(row["day"])][row["what"]] += int(row["n"])

    # 8. the names of the people in the workload
    ids = [i for i in workload if i != NO_ASSIGNEE]
    names = {
        u["pk"]: u["full_name"] or u["email"]
        for u in User.objects.filter(pk__in=ids).values("pk", "full_name", "email")
    }

    completion = _completion(total)
    median = _median_hours(buckets)
    return {
        "scope": {
            "kind": scope.kind,
            "project": scope.project.pk if scope.project else None,
            "team": scope.team.pk if scope.team else None,
            "assignee": scope.assignee_id,
            "since": scope.since.isoformat() if scope.since else None,
            "until": scope.until.isoformat() if scope.until else None,
            "today": scope.today.isoformat(),
        },
        "counts": {"created": sum(by_status.values()), "by_status": by_status, "by_priority": by_priority},
        "overdue": {"open": open_now, "overdue": overdue_now, "share": _ratio(overdue_now, open_now)},
        "completion": {
            **completion,
            "median_hours": median,
            "median_relative_error": MEDIAN_RELATIVE_ERROR if median is not None else None,
            "by_priority": by_prio,
        },
        "completion_trend": trend,
        "daily_completions": daily,
        "lead_histogram": [
            {"from_hours": 0 if b == 0 else round(LEAD_BOUNDS[b - 1] / 3600, 2), "count": n}
            for b, n in sorted(buckets.items())
        ],
        "heatmap": {"weekdays": list(WEEKDAYS), "counts": heat},
        "throughput": [{"week": week, **counts} for week, counts in weeks.items()],
        "stages": _stage_summary(stages),
        "workload": sorted(
            (
                {
                    "assignee": None if who == NO_ASSIGNEE else who,
                    "name": "Unassigned" if who == NO_ASSIGNEE else names.get(who, f"User {who}"),
                    **counts,
                }
                for who, counts in workload.items()
                if any(counts.values())
            ),
            key=lambda w: (w["assignee"] is None, w["name"].lower()),
        ),
    }


def _completion(s: dict) -> dict:
    n, due_n = s["n"], s["due_n"]
    return {
        "count": n,
        "mean_hours": _hours(s["lead_sum"], n),
        "cycle_count": s["cycle_n"],
        "mean_cycle_hours": _hours(s["cycle_sum"], s["cycle_n"]),
        "with_due_date": due_n,
        "mean_delay_days": None if not due_n else round(float(Fraction(s["delay_sum"], due_n)), 2),
        "on_time_rate": None if not due_n else round(float(Fraction(s["on_time"], due_n)), 4),
    }


def _stage(s: dict, name: str) -> dict:
    n = s["n"]
    variance = _variance(s["err_sum"], s["err_sq"], n)  # in (hundredths of an hour)^2
    return {
        "name": name,
        "count": n,
        "estimated_hours": s["est_sum"] / 100,
        "actual_hours": s["act_sum"] / 100,
        "mean_error_hours": None if not n else round(float(Fraction(s["err_sum"], n * 100)), 2),
        "error_variance": None if variance is None else round(float(variance / 10000), 4),
        "error_stddev": None if variance is None else round(math.sqrt(variance / 10000), 4),
        "accuracy": None if not s["est_sum"] else round(float(Fraction(s["act_sum"], s["est_sum"])), 4),
    }


def _stage_summary(stages: list[dict]) -> dict:
    """Every stage figure the page shows, from ONE ranking: stage names by mean overrun (hours a stage took beyond
    its estimate, on average), largest first, then by name. The chart, the sentence under it and the table
    all follow `ranking`; the most under-estimated are its head (they took longer than estimated), the most
    over-estimated its tail (they took less), the bottlenecks its first five with an overrun."""
    ranked = sorted(
        (s for s in stages if s["mean_error_hours"] is not None),
        key=lambda s: (-s["mean_error_hours"], s["name"]),
    )
    longer = [s for s in ranked if s["mean_error_hours"] > 0]
    shorter = [s for s in reversed(ranked) if s["mean_error_hours"] < 0]
    return {
        "by_name": stages,
        "ranking": [s["name"] for s in ranked],
        "most_overestimated": [s["name"] for s in shorter][:3],
        "most_underestimated": [s["name"] for s in longer][:3],
        "bottlenecks": [{"name": s["name"], "mean_overrun_hours": s["mean_error_hours"]} for s in longer[:5]],
    }


def assignee_choices(scope: Scope) -> list[tuple[int, str]]:
    """The members of the scope's team, for the assignee filter (one query; none for "my work")."""
    if scope.team is None:
        return []
    return [(m.user_id, m.user.get_full_name()) for m in team_members(scope.team)]
