"""What "overdue" and "due soon" mean, defined once for every surface: the API filter and field, My work, the
board and list marks, the deadline jobs and analytics.

A task is judged in its team's time zone. `deadlines_at(now)` takes one instant and works out, per team time
zone, "today" and the due-soon horizon (the day `AETHER_DUE_SOON_HOURS` later). From that one object come both
forms of each rule, so they cannot disagree:

- the per-row predicates, `Deadlines.is_overdue(task)` and `is_due_soon(task)` (for a row already loaded), and
- the SQL conditions, `Deadlines.overdue()`, `due_soon()` and `later()` (`Q` objects over Task, for lists).

- overdue: open (not completed) and due before today;
- due soon: open and due from today up to the horizon (with the default 24 hours: today or tomorrow);
- later: open and due after the horizon (undated tasks are none of the three).

A `Q` is one condition per distinct "today" among the team time zones (at most three dates at any instant,
from UTC-12 to UTC+14), ANDed with the widest bound on `due_date` alone, so that an index on `due_date` (My
work's `task_assignee_open_due`, the jobs' `task_open_due_date`) is still read as one range.
"""

from __future__ import annotations

import logging
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from .models import Status

log = logging.getLogger(__name__)

# The team time zone seen from a Task row.
TEAM_ZONE = "project__team__time_zone"
# "Not completed" as the open statuses: an index led by status (task_board_order) then skips the completed
# tasks instead of reading them (a capped "overdue" count of a 500,000-task project: 225 ms -> 10 ms).
OPEN_STATUSES = [s for s in Status.values if s != Status.COMPLETED]


def current_time() -> datetime:
    """The instant the request-time surfaces judge by (tests replace it to stand at a fixed instant)."""
    return timezone.now()


def zone_info(name: str | None) -> zoneinfo.ZoneInfo:
    """The team's time zone; a name zoneinfo does not know (only possible by writing the row around the form's
    validation) is judged in the site's time zone."""
    try:
        return zoneinfo.ZoneInfo(name or settings.TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        log.warning("team time zone %r is unknown; using %s", name, settings.TIME_ZONE)
        return zoneinfo.ZoneInfo(settings.TIME_ZONE)


@dataclass(frozen=True, order=True)
class Day:
    """Today and the due-soon horizon in one time zone, with the two rules as predicates on a row. The horizon
    is usually the next day; across a change of clocks it can be today or the day after next."""

    today: date
    horizon: date

    def is_overdue(self, task) -> bool:
        return task.status != Status.COMPLETED and task.due_date is not None and task.due_date < self.today

    def is_due_soon(self, task) -> bool:
        return (
            task.status != Status.COMPLETED
            and task.due_date is not None
            and self.today <= task.due_date <= self.horizon
        )


class Deadlines:
    """The two rules at one instant, for every team time zone. Build it with `deadlines_at`."""

    def __init__(self, now: datetime, *, soon_hours: int, zones: list[str] | None = None):
        self.now = now
        self.soon_hours = soon_hours
        self._days: dict[str, Day] = {}
        if zones is not None:
            self.__dict__["zones"] = list(dict.fromkeys(zones))

    @cached_property
    def zones(self) -> list[str]:
        """Every distinct team time zone (read once, when a condition over many teams is first built)."""
        from accounts.models import Team

        return list(Team.objects.order_by().values_list("time_zone", flat=True).distinct())

    def day(self, zone: str | None) -> Day:
        if zone not in self._days:
            tz = zone_info(zone)
            later = self.now + timedelta(hours=self.soon_hours)
            self._days[zone] = Day(self.now.astimezone(tz).date(), later.astimezone(tz).date())
        return self._days[zone]

    def today(self, zone: str | None = None) -> date:
        """Today in `zone` (default: the site's time zone)."""
        return self.day(zone).today

    # --- per row ------------------------------------------------------------------------------------------

    def is_overdue(self, task, zone: str | None = None) -> bool:
        return self.day(zone or zone_of(task)).is_overdue(task)

    def is_due_soon(self, task, zone: str | None = None) -> bool:
        return self.day(zone or zone_of(task)).is_due_soon(task)

    # --- in SQL -------------------------------------------------------------------------------------------

    def overdue(self, *, zone_field: str = TEAM_ZONE, zone: str | None = None) -> Q:
        """Open tasks due before today in their team's time zone (or in `zone`, for tasks of one team)."""
        return Q(status__in=OPEN_STATUSES) & self._per_zone(
            zone_field,
            zone,
            lambda d: {"due_date__lt": d.today},
            bound=lambda days: {"due_date__lt": max(d.today for d in days)},
        )

    def due_soon(self, *, zone_field: str = TEAM_ZONE, zone: str | None = None) -> Q:
        """Open tasks due from today up to the horizon, in their team's time zone (or in `zone`)."""
        return Q(status__in=OPEN_STATUSES) & self._per_zone(
            zone_field,
            zone,
            lambda d: {"due_date__gte": d.today, "due_date__lte": d.horizon},
            bound=lambda days: {
                "due_date__gte": min(d.today for d in days),
                "due_date__lte": max(d.horizon for d in days),
            },
        )

    def later(self, *, zone_field: str = TEAM_ZONE, zone: str | None = None) -> Q:
        """Open tasks due after the horizon: neither overdue nor due soon, and dated."""
        return Q(status__in=OPEN_STATUSES) & self._per_zone(
            zone_field,
            zone,
            lambda d: {"due_date__gt": d.horizon},
            bound=lambda days: {"due_date__gt": min(d.horizon for d in days)},
        )

    def _per_zone(self, zone_field, zone, condition, *, bound) -> Q:
        zones = [zone] if zone is not None else self.zones
        if not zones:
            return Q(pk__in=[])
        by_day: dict[Day, list[str]] = defaultdict(list)
        for name in zones:
            by_day[self.day(name)].append(name)
        if zone is not None or len(by_day) == 1:
            # One day for every team that exists (or the one team asked for): no need to look at the zone.
            (day,) = by_day
            return Q(**condition(day))
        per_zone = Q()
        for day, names in sorted(by_day.items()):
            per_zone |= Q(**{f"{zone_field}__in": sorted(names)}, **condition(day))
        return Q(**bound(list(by_day))) & per_zone


def zone_of(task) -> str:
    """The task's team time zone: the `team_time_zone` annotation when the query has it, else its project's
    team (a query per task unless `project__team` was selected with it)."""
    zone = getattr(task, "team_time_zone", None)
    return zone if zone is not None else task.project.team.time_zone


def deadlines_at(now: datetime | None = None, *, soon_hours: int | None = None, zones=None) -> Deadlines:
    """The rules at `now` (default: `current_time()`), with the due-soon window of AETHER_DUE_SOON_HOURS.
    `zones` are the team time zones that exist (default: read from the database when a condition needs them);
    a condition built from a given list is exact only for tasks of those zones."""
    return Deadlines(
        now or current_time(),
        soon_hours=settings.AETHER_DUE_SOON_HOURS if soon_hours is None else soon_hours,
        zones=zones,
    )


def deadlines_for(request) -> Deadlines:
    """One `Deadlines` per request, so that a list's filter and its rows' fields judge by the same instant."""
    if request is None:
        return deadlines_at()
    found = getattr(request, "_aether_deadlines", None)
    if found is None:
        found = request._aether_deadlines = deadlines_at()
    return found
