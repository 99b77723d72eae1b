"""The forecast of one task, and of a project, from the team's records: a Monte Carlo of DRAWS draws, pure numpy.

Contract (docs/forecasts.md explains the why):

- A remaining stage's hours are its estimate times a ratio r, ln r drawn from the predictive distribution of
  the team's record for that stage name (n >= K_NAME), else of all the team's stages (n >= K_TEAM), else from
  PRIOR. A record's predictive distribution is Student's t with n - 1 degrees of freedom, centred on the mean
  of the kept ln ratios, scaled by their standard deviation times sqrt(1 + 1/n): the spread of the next
  observation, wider when the record is short, not the plain fit.
- The pace (hours of stage work per working day) is drawn the same way from the assignee's record of the last
  PERSON_WINDOW days (n >= K_PERSON), else the team's whole record; a team with fewer than K_TEAM_PACE
  finished tasks gets no date at all: "Too little history".
- Per draw, D = sum(est_i * r_i) / pace; the finish is the k-th working day counting the team-local `as_of`
  day as the first when it is one (workdays.nth_working_day), k = D rounded to the nearest whole number (half
  up), at least 1. Why rounded, not ceil: the kept pace is hours / the whole number of working days a task
  touched (start and finish day included), so D already estimates that whole number; ceil would add half a
  day on average (the backtest showed it: 65 % of demo tasks finished by the p50 date with ceil).
  p50 and p85 are the draws' order statistics ceil(0.50 N) and ceil(0.85 N).
- Deterministic for a given history and day: the draws come from one vector of N standard normals per
  (team, as_of) (numpy PCG64 seeded with both) and, per degrees of freedom, one chi-square vector, so Student
  draws are Z / sqrt(chi2 / df). A task reads that vector cyclically from its own offsets: slot 0 (the pace)
  at o(task), the stage at position `order` at o(task) + STRIDE * order (mod N; STRIDE is prime to N, so a
  task's slots never share a draw). Adding a stage adds one positive term to every draw and leaves the others
  as they were; raising an estimate raises one term: more remaining work never brings a quantile earlier
  (the property test checks it exactly). Tasks' draws are paired by draw index, so a project's last finish is
  the per-draw maximum.
- Never raises on data: a task with no stages, no remaining estimate, too little history, or a finish more
  than HORIZON_DAYS away gets dates None and a plain reason.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import numpy as np

from ..models import MILLIONTHS, ForecastBasis
from .workdays import day_of_weekday_index, weekdays_before

DRAWS = 1000
STRIDE = 7  # prime to DRAWS (1000 = 2^3 * 5^3)
Q50, Q85 = math.ceil(0.50 * DRAWS) - 1, math.ceil(0.85 * DRAWS) - 1  # 0-based order statistics
K_NAME = 5  # stages of one name before that name's own record is used
K_TEAM = 5  # stages of the team before its record replaces the prior
K_PERSON = 3  # tasks of the assignee in PERSON_WINDOW days before their own pace is used
K_TEAM_PACE = 5  # tasks of the team before any date is given
PERSON_WINDOW = 90
HORIZON_DAYS = 5 * 365
_HORIZON_WORKING_DAYS = HORIZON_DAYS * 5 // 7
LOG_CLIP = 7.0  # a drawn log ratio or pace is kept within e^+-7 (x1100): Student tails must not overflow

_BASIS_RANK = {ForecastBasis.STAGES: 0, ForecastBasis.TEAM: 1, ForecastBasis.PRIOR: 2}
_BASIS_BY_RANK = {rank: basis for basis, rank in _BASIS_RANK.items()}


@dataclass(frozen=True)
class Record:
    """n kept logarithms (millionths): their sum and sum of squares."""

    n: int = 0
    total: float = 0
    squares: float = 0

    def __add__(self, other: Record) -> Record:
        return Record(self.n + other.n, self.total + other.total, self.squares + other.squares)

    def __sub__(self, other: Record) -> Record:
        return Record(self.n - other.n, self.total - other.total, self.squares - other.squares)

    def predictive(self) -> Predictive:
        """Student's t predictive of the next value (n >= 2), in natural-log units."""
        mean = self.total / self.n
        var = max(self.squares / self.n - mean * mean, 0.0) * self.n / (self.n - 1)
        scale = math.sqrt(var) * math.sqrt(1 + 1 / self.n) / MILLIONTHS
        return Predictive(mean / MILLIONTHS, scale, self.n - 1)


@dataclass(frozen=True)
class Predictive:
    """ln value ~ loc + scale * T_df (df 0: normal)."""

    loc: float
    scale: float
    df: int = 0


# The prior, for a team with fewer than K_TEAM completed stages: a median overrun of 30 % (actual = 1.3 x the
# estimate) and a log spread of 0.5 (85 % of stages within 2.2 x the estimate), normal. Jorgensen's review of
# expert effort estimation (J. Systems and Software 70, 2004) finds average overruns of 30-40 %; the spread is
# chosen wide rather than fitted, since a team that new has told us nothing yet. docs/forecasts.md.
PRIOR = Predictive(math.log(1.3), 0.5, 0)


@dataclass(frozen=True)
class HistoryAt:
    """A team's records as of one day (analytics/forecasts/history.py makes them)."""

    names: dict[str, Record] = field(default_factory=dict)
    stages: Record = Record()
    people: dict[int, Record] = field(default_factory=dict)  # assignee -> pace record of the last window
    pace: Record = Record()  # the team's whole pace record
    _levels: dict = field(default_factory=dict, compare=False, repr=False)  # memo of the two methods below

    def stage_level(self, name: str) -> tuple[Predictive, str]:
        found = self._levels.get(name)
        if found is None:
            record = self.names.get(name)
            if record is not None and record.n >= K_NAME:
                found = record.predictive(), ForecastBasis.STAGES
            elif self.stages.n >= K_TEAM:
                found = self.stages.predictive(), ForecastBasis.TEAM
            else:
                found = PRIOR, ForecastBasis.PRIOR
            self._levels[name] = found
        return found

    def pace_level(self, assignee: int | None) -> Predictive | None:
        if self.pace.n < K_TEAM_PACE:
            return None  # a team this new has told us nothing yet, whoever does the work
        key = ("pace", assignee or 0)
        if key not in self._levels:
            record = self.people.get(assignee or 0)
            own = assignee and record is not None and record.n >= K_PERSON
            self._levels[key] = (record if own else self.pace).predictive()
        return self._levels[key]


@dataclass(frozen=True)
class TaskInput:
    task_id: int
    assignee_id: int | None
    due_date: date | None
    has_stages: bool
    remaining: Sequence[tuple[int, str, float]]  # (order, name, estimated hours) of the stages not completed


@dataclass
class Result:
    task_id: int
    p50: date | None = None
    p85: date | None = None
    at_risk: bool = False
    basis: str = ForecastBasis.NONE
    reason: str = ""
    remaining_hours: Decimal = Decimal(0)
    finishes: np.ndarray | None = None  # per draw, the finish in working days from as_of (the project's maximum)


def _offset(task_id: int) -> int:
    """A task's starting offset in the draw vector: splitmix64 of its id (well spread, stable)."""
    z = (task_id + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return (z ^ (z >> 31)) % DRAWS


class Draws:
    """The draw vectors of one team on one day; each distribution's exp() vector is made once, doubled in
    length so that a task's cyclic read is a slice (a view), not a copy."""

    def __init__(self, team_id: int, as_of: date):
        self.seed = (int(team_id), as_of.toordinal())
        self.z = np.random.Generator(np.random.PCG64(self.seed)).standard_normal(DRAWS)
        self._t: dict[int, np.ndarray] = {}
        self._exp: dict[Predictive, np.ndarray] = {}

    def _student(self, df: int) -> np.ndarray:
        if df <= 0 or df > 1000:  # beyond 1000 degrees of freedom t is the normal to 0.1 %
            return self.z
        t = self._t.get(df)
        if t is None:
            chi2 = np.random.Generator(np.random.PCG64((*self.seed, df))).chisquare(df, DRAWS)
            t = self._t[df] = self.z / np.sqrt(chi2 / df)
        return t

    def factors(self, p: Predictive) -> np.ndarray:
        """exp(loc + scale * T_df), doubled."""
        found = self._exp.get(p)
        if found is None:
            values = np.exp(np.clip(p.loc + p.scale * self._student(p.df), -LOG_CLIP, LOG_CLIP))
            found = self._exp[p] = np.concatenate([values, values])
        return found


def forecast_tasks(tasks: Sequence[TaskInput], history: HistoryAt, draws: Draws, as_of: date) -> list[Result]:
    """The forecasts of these tasks of one team as of `as_of` (see the module's contract)."""
    results: list[Result] = []
    pending: list[Result] = []
    days = np.zeros((len(tasks), DRAWS))  # one row per task that gets draws (the first len(pending))
    scaled = np.empty(DRAWS)
    for task in tasks:
        result = Result(task.task_id)
        results.append(result)
        remaining = [(order, name, est) for order, name, est in task.remaining if est > 0]
        result.remaining_hours = Decimal(repr(sum(est for _, _, est in remaining))).quantize(Decimal("0.01"))
        if not task.has_stages:
            result.reason = "No forecast: this task has no stages to estimate its work from."
            continue
        if not remaining:
            result.reason = "No forecast: no stage with an estimate is left to do."
            continue
        pace = history.pace_level(task.assignee_id)
        if pace is None:
            result.reason = (
                f"Too little history: the team has {history.pace.n} finished tasks with stage hours, "
                f"and a date needs at least {K_TEAM_PACE}."
            )
            continue
        base = _offset(task.task_id)
        row = days[len(pending)]
        worst = 0
        for order, name, est in remaining:
            level, basis = history.stage_level(name)
            worst = max(worst, _BASIS_RANK[basis])
            start = (base + STRIDE * order) % DRAWS
            np.multiply(draws.factors(level)[start : start + DRAWS], est, out=scaled)
            row += scaled  # hours of this draw
        result.basis = _BASIS_BY_RANK[worst]
        row /= draws.factors(pace)[base : base + DRAWS]  # working days
        pending.append(result)
    if pending:
        _quantiles(pending, days[: len(pending)], as_of)
    for task, result in zip(tasks, results, strict=True):
        result.at_risk = bool(result.p85 and task.due_date and result.p85 > task.due_date)
    return results


def _quantiles(pending: list[Result], days: np.ndarray, as_of: date) -> None:
    first = weekdays_before(as_of)
    matrix = np.floor(days + 0.5).astype(np.float32)  # D to the nearest whole working day (exact in float32)
    np.clip(matrix, 1, None, out=matrix)
    cut = np.partition(matrix, [Q50, Q85], axis=1)
    for i, result in enumerate(pending):
        k50, k85 = cut[i, Q50], cut[i, Q85]
        if k85 > _HORIZON_WORKING_DAYS:
            result.basis = ForecastBasis.NONE
            result.reason = (
                f"No forecast: at this team's pace the {result.remaining_hours} hours left would take more than "
                f"{HORIZON_DAYS // 365} years; check the estimates."
            )
            continue
        result.p50 = day_of_weekday_index(first + int(k50) - 1)
        result.p85 = day_of_weekday_index(first + int(k85) - 1)
        result.finishes = matrix[i]  # a view: working days from as_of, per draw


@dataclass(frozen=True)
class ProjectResult:
    p50: date | None
    p85: date | None
    forecast: int
    unforecast: int
    reason: str


def forecast_project(results: Sequence[Result], as_of: date) -> ProjectResult:
    """The distribution of the project's last open task's finish: per draw, the latest of its tasks' finishes
    (their `finishes`, working days from `as_of`, all made as of that day)."""
    dated = [r.finishes for r in results if r.finishes is not None]
    if not dated:
        reason = "No open tasks." if not results else "No forecast: none of its open tasks has one yet."
        return ProjectResult(None, None, 0, len(results), reason)
    last = dated[0].copy()
    for finishes in dated[1:]:
        np.maximum(last, finishes, out=last)
    cut = np.partition(last, [Q50, Q85])
    first = weekdays_before(as_of)
    return ProjectResult(
        day_of_weekday_index(first + int(cut[Q50]) - 1),
        day_of_weekday_index(first + int(cut[Q85]) - 1),
        len(dated),
        len(results) - len(dated),
        "",
    )
