"""A team's forecasting record, read from the kept figures (never from the task tables), as of any day.

Contract: `TeamHistory.load(team_id)` reads two small grouped queries (StageDay's ln-ratio sums by day and
stage name, CompletedDay's ln-pace sums by day and assignee) and keeps them as per-key prefix sums over days.
`at(end)` gives method.HistoryAt from the rows of days strictly before `end`: every stage name's record, the
team's record of all stages, each assignee's pace over the PERSON_WINDOW days before `end`, and the team's
whole pace record. A live forecast as of day d uses `at(d + 1)` (today's completions count); the backtest of a
task that started on day s uses `at(s)` (what was known the evening before). Each `at` is a binary search per
key, so the backtest replays hundreds of tasks from memory with no query per task. A live forecast, which needs
one day only, reads `history_at(team_id, end)`: the same figures summed by the database (two grouped queries
that return a row per stage name and per assignee), a few milliseconds on a team with a million tasks.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from datetime import date, timedelta

from django.db.models import Q, Sum

from ..models import CompletedDay, StageDay
from .method import PERSON_WINDOW, HistoryAt, Record


class _Prefix:
    """Cumulative (n, sum, squares) of one key over its days, in day order."""

    def __init__(self, rows: list[tuple[date, int, int, int]]):
        rows.sort()
        self.days = [r[0] for r in rows]
        self.cum: list[Record] = [Record()]
        for _, n, total, squares in rows:
            self.cum.append(self.cum[-1] + Record(int(n), float(total), float(squares)))

    def before(self, end: date) -> Record:
        return self.cum[bisect_left(self.days, end)]


class TeamHistory:
    def __init__(self, stage_rows, pace_rows):
        by_name: dict[str, list] = defaultdict(list)
        for day, name, n, total, squares in stage_rows:
            by_name[name].append((day, n, total, squares))
        self.names = {name: _Prefix(rows) for name, rows in by_name.items()}
        self.stages = _Prefix(_merged(r for rows in by_name.values() for r in rows))
        by_person: dict[int, list] = defaultdict(list)
        for day, assignee, n, total, squares in pace_rows:
            by_person[assignee].append((day, n, total, squares))
        self.people = {person: _Prefix(rows) for person, rows in by_person.items()}
        self.pace = _Prefix(_merged(r for rows in by_person.values() for r in rows))

    @classmethod
    def load(cls, team_id: int, *, using: str = "default") -> TeamHistory:
        stage_rows = (
            StageDay.objects.using(using)
            .filter(team_id=team_id)
            .exclude(ratio_n=0)
            .order_by()
            .values_list("day", "name")
            .annotate(Sum("ratio_n"), Sum("ratio_sum"), Sum("ratio_sq"))
        )
        pace_rows = (
            CompletedDay.objects.using(using)
            .filter(team_id=team_id)
            .exclude(pace_n=0)
            .order_by()
            .values_list("day", "assignee_id")
            .annotate(Sum("pace_n"), Sum("pace_sum"), Sum("pace_sq"))
        )
        return cls(list(stage_rows), list(pace_rows))

    def at(self, end: date) -> HistoryAt:
        window = end - timedelta(days=PERSON_WINDOW)
        return HistoryAt(
            names={name: prefix.before(end) for name, prefix in self.names.items()},
            stages=self.stages.before(end),
            people={person: prefix.before(end) - prefix.before(window) for person, prefix in self.people.items()},
            pace=self.pace.before(end),
        )


def _merged(rows) -> list[tuple[date, int, int, int]]:
    by_day: dict[date, list] = {}
    for day, n, total, squares in rows:
        current = by_day.setdefault(day, [day, 0, 0, 0])
        current[1] += n
        current[2] += total
        current[3] += squares
    return [tuple(v) for v in by_day.values()]


def history_at(team_id: int, end: date, *, using: str = "default") -> HistoryAt:
    """TeamHistory.load(team_id).at(end), summed in the database (see the module's docstring)."""
    names = {
        name: Record(int(n), float(total), float(squares))
        for name, n, total, squares in StageDay.objects.using(using)
        .filter(team_id=team_id, day__lt=end)
        .exclude(ratio_n=0)
        .order_by()
        .values_list("name")
        .annotate(Sum("ratio_n"), Sum("ratio_sum"), Sum("ratio_sq"))
    }
    stages = Record()
    for record in names.values():
        stages = stages + record
    window = Q(day__gte=end - timedelta(days=PERSON_WINDOW))
    people, pace = {}, Record()
    for person, n, total, squares, wn, wtotal, wsquares in (
        CompletedDay.objects.using(using)
        .filter(team_id=team_id, day__lt=end)
        .exclude(pace_n=0)
        .order_by()
        .values_list("assignee_id")
        .annotate(
            n=Sum("pace_n"),
            total=Sum("pace_sum"),
            squares=Sum("pace_sq"),
            window_n=Sum("pace_n", filter=window, default=0),
            window_total=Sum("pace_sum", filter=window, default=0),
            window_squares=Sum("pace_sq", filter=window, default=0),
        )
    ):
        pace = pace + Record(int(n), float(total), float(squares))
        people[person] = Record(int(wn), float(wtotal), float(wsquares))
    return HistoryAt(names=names, stages=stages, people=people, pace=pace)
