"""Figures kept about tasks, so that a dashboard reads a few small rows instead of every task.

Each table holds counts and exact integer sums (seconds, days, hundredths of an hour) and sums of squares,
keyed by team, project, assignee and a local day (in the team's time zone). They are written only by
analytics/figures.py: incrementally, in the transaction of every task write (tasks.changes), and in full by
`analytics_rebuild`. Trashed tasks contribute nothing; archived ones count like any other.

Key columns are never NULL, so that `INSERT ... ON CONFLICT (key) DO UPDATE SET n = n + excluded.n` finds the
row (NULLs are distinct in a unique index): no assignee is 0 and no due date is NO_DUE_DATE. Ids are plain
integers, not foreign keys: a figure row must not block deleting a user, and a project's rows go with it
(deleting a project is allowed only once its tasks are in the trash, where they count for nothing).
"""

from datetime import date

from django.db import models

NO_ASSIGNEE = 0
NO_DUE_DATE = date(9999, 12, 31)


class _KeptRow(models.Model):
    KEY: tuple[str, ...] = ()

    class Meta:
        abstract = True

    def __str__(self):
        return " ".join(f"{name}={getattr(self, name)}" for name in self.KEY)


STATUSES = ("pending", "in_progress", "completed")
PRIORITIES = (1, 2, 3, 4)
STATUS_PRIORITY = tuple(f"{status}_{priority}" for status in STATUSES for priority in PRIORITIES)
HOURS = tuple(f"h{hour:02d}" for hour in range(24))
LEAD_BUCKETS = 61  # see analytics.figures.LEAD_BOUNDS
BUCKETS = tuple(f"b{bucket:02d}" for bucket in range(LEAD_BUCKETS))


def _counters(names) -> dict:
    return {name: models.BigIntegerField(default=0) for name in names}


class CreatedDay(_KeptRow):
    """Tasks by the local day they were created, counted by their status and priority now (one column each,
    so that a project's year is a few hundred rows, not thousands)."""

    team_id = models.BigIntegerField()
    project_id = models.BigIntegerField()
    assignee_id = models.BigIntegerField()
    day = models.DateField()
    n = models.BigIntegerField(default=0)
    vars().update(_counters(STATUS_PRIORITY))  # pending_1 ... completed_4

    KEY = ("team_id", "project_id", "assignee_id", "day")
    SUMS = ("n", *STATUS_PRIORITY)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["team_id", "project_id", "assignee_id", "day"], name="analytics_created_key"
            )
        ]
        indexes = [
            models.Index(fields=["project_id", "day"], name="analytics_created_project"),
            models.Index(fields=["team_id", "day"], name="analytics_created_team"),
            models.Index(fields=["assignee_id", "day"], name="analytics_created_assignee"),
        ]


class OpenByDue(_KeptRow):
    """Open (not completed) tasks by due date: overdue = the sum over due dates before today (team's zone),
    so the figure moves with the calendar without any write."""

    team_id = models.BigIntegerField()
    project_id = models.BigIntegerField()
    assignee_id = models.BigIntegerField()
    due_date = models.DateField()
    n = models.BigIntegerField(default=0)

    KEY = ("team_id", "project_id", "assignee_id", "due_date")
    SUMS = ("n",)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["team_id", "project_id", "assignee_id", "due_date"], name="analytics_open_key"
            )
        ]
        indexes = [
            models.Index(fields=["project_id", "due_date"], name="analytics_open_project"),
            models.Index(fields=["team_id", "due_date"], name="analytics_open_team"),
            models.Index(fields=["assignee_id", "due_date"], name="analytics_open_assignee"),
        ]


class CompletedDay(_KeptRow):
    """Completed tasks by the local day of completion and priority.

    lead = completed_at - created_at (whole seconds); cycle = completed_at - started_at (tasks that started);
    delay = local completion date - due date (days, signed; tasks with a due date); on_time: delay <= 0.
    pace (the forecasts' history, analytics/forecasts/history.py): per completed task that started and has
    stage hours, ln(actual stage hours / working days from its local start day to its completion day,
    inclusive) in millionths, rounded, clamped to PACE_CLAMP; pace_n counts them, pace_sum and pace_sq their
    sum and sum of squares."""

    team_id = models.BigIntegerField()
    project_id = models.BigIntegerField()
    assignee_id = models.BigIntegerField()
    day = models.DateField()
    priority = models.PositiveSmallIntegerField()
    n = models.BigIntegerField(default=0)
    lead_sum = models.BigIntegerField(default=0)
    lead_sq = models.DecimalField(max_digits=38, decimal_places=0, default=0)
    cycle_n = models.BigIntegerField(default=0)
    cycle_sum = models.BigIntegerField(default=0)
    cycle_sq = models.DecimalField(max_digits=38, decimal_places=0, default=0)
    due_n = models.BigIntegerField(default=0)
    delay_sum = models.BigIntegerField(default=0)
    delay_sq = models.BigIntegerField(default=0)
    on_time = models.BigIntegerField(default=0)
    pace_n = models.BigIntegerField(default=0)
    pace_sum = models.BigIntegerField(default=0)
    pace_sq = models.DecimalField(max_digits=38, decimal_places=0, default=0)

    KEY = ("team_id", "project_id", "assignee_id", "day", "priority")
    SUMS = ("n", "lead_sum", "lead_sq", "cycle_n", "cycle_sum", "cycle_sq", "due_n", "delay_sum", "delay_sq", "on_time",
            "pace_n", "pace_sum", "pace_sq")  # fmt: skip

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["team_id", "project_id", "assignee_id", "day", "priority"], name="analytics_completed_key"
            )
        ]
        indexes = [
            models.Index(fields=["project_id", "day"], name="analytics_completed_project"),
            models.Index(fields=["team_id", "day"], name="analytics_completed_team"),
            models.Index(fields=["assignee_id", "day"], name="analytics_completed_assignee"),
        ]


class CompletedShape(_KeptRow):
    """Completions by local day, counted by local hour (h00..h23, the weekday x hour heatmap) and by lead-time
    bucket (b00..b60, analytics.figures.LEAD_BOUNDS, the median). Apart from CompletedDay so that its other
    scans read narrow rows; without priority in the key, a project's year is a few hundred rows."""

    team_id = models.BigIntegerField()
    project_id = models.BigIntegerField()
    assignee_id = models.BigIntegerField()
    day = models.DateField()
    weekday = models.PositiveSmallIntegerField()  # ISO: 1 = Monday ... 7 = Sunday; follows from day
    n = models.BigIntegerField(default=0)
    vars().update(_counters(HOURS))
    vars().update(_counters(BUCKETS))

    KEY = ("team_id", "project_id", "assignee_id", "day")
    SUMS = ("n", *HOURS, *BUCKETS)
    EXTRA = ("weekday",)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team_id", "project_id", "assignee_id", "day"], name="analytics_shape_key")
        ]
        indexes = [
            models.Index(fields=["project_id", "day"], name="analytics_shape_project"),
            models.Index(fields=["team_id", "day"], name="analytics_shape_team"),
            models.Index(fields=["assignee_id", "day"], name="analytics_shape_assignee"),
        ]


class StageDay(_KeptRow):
    """Completed stages by name and the local day the stage completed; hours in hundredths (exact).

    error = actual - estimated; the task's assignee is the stage's. ratio (the forecasts' estimate error,
    analytics/forecasts/history.py): per stage with estimate and actual above zero, ln(actual / estimated) in
    millionths, rounded, clamped to RATIO_CLAMP; ratio_n counts them, ratio_sum and ratio_sq their sum and sum
    of squares."""

    team_id = models.BigIntegerField()
    project_id = models.BigIntegerField()
    assignee_id = models.BigIntegerField()
    day = models.DateField()
    name = models.CharField(max_length=120)
    n = models.BigIntegerField(default=0)
    est_sum = models.BigIntegerField(default=0)
    act_sum = models.BigIntegerField(default=0)
    err_sum = models.BigIntegerField(default=0)
    err_sq = models.DecimalField(max_digits=38, decimal_places=0, default=0)
    ratio_n = models.BigIntegerField(default=0)
    ratio_sum = models.BigIntegerField(default=0)
    ratio_sq = models.DecimalField(max_digits=38, decimal_places=0, default=0)

    KEY = ("team_id", "project_id", "assignee_id", "day", "name")
    SUMS = ("n", "est_sum", "act_sum", "err_sum", "err_sq", "ratio_n", "ratio_sum", "ratio_sq")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["team_id", "project_id", "assignee_id", "day", "name"], name="analytics_stage_key"
            )
        ]
        indexes = [
            models.Index(fields=["project_id", "day"], name="analytics_stage_project"),
            models.Index(fields=["team_id", "day"], name="analytics_stage_team"),
            models.Index(fields=["assignee_id", "day"], name="analytics_stage_assignee"),
        ]


KEPT_MODELS = (CreatedDay, OpenByDue, CompletedDay, CompletedShape, StageDay)

# The forecasts' logarithms are kept in millionths (exact integers, so the kept sums verify exactly) and clamped,
# so that one absurd row (a typo of 500 hours on a 1-hour estimate) shifts a record by a bounded amount: a stage's
# actual/estimated within 1/20..20, a task's pace within 0.05..100 hours per working day.
MILLIONTHS = 1_000_000
RATIO_CLAMP = 2_995_732  # round(ln 20 * 1e6)
PACE_CLAMP = (-2_995_732, 4_605_170)  # round(ln 0.05 * 1e6), round(ln 100 * 1e6)


class ForecastBasis(models.TextChoices):
    """What a forecast's estimate error came from (analytics/forecasts), from most to least specific."""

    STAGES = "stages", "this team's record for these stages"
    TEAM = "team", "this team's record for all its stages"
    PRIOR = "prior", "a prior: too little record of this team's estimates"
    NONE = "none", "no forecast"


class Forecast(models.Model):
    """A task's completion forecast, kept: written only by analytics/forecasts (in the transaction of the task's
    own change, and by the refresh of its team), read by every page, the API and the CSV.

    `p50` and `p85` are team-local dates by which the task finishes with 50 % and 85 % probability, as of the
    team-local day `as_of`; `at_risk` is `p85 > the task's due date`. Where there is no honest date (no
    stages left to estimate, too little history) both dates are NULL and `reason` says why in plain words.
    """

    task = models.OneToOneField("tasks.Task", on_delete=models.CASCADE, primary_key=True, related_name="forecast")
    team_id = models.BigIntegerField()
    project_id = models.BigIntegerField()
    as_of = models.DateField()
    p50 = models.DateField(null=True, blank=True)
    p85 = models.DateField(null=True, blank=True)
    at_risk = models.BooleanField(default=False)
    basis = models.CharField(max_length=8, choices=ForecastBasis.choices, default=ForecastBasis.NONE)
    reason = models.CharField(max_length=200, blank=True)
    remaining_hours = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(p50__isnull=True, p85__isnull=True, at_risk=False) & ~models.Q(reason=""))
                | models.Q(p50__isnull=False, p85__isnull=False, p50__lte=models.F("p85")),
                name="analytics_forecast_dates_or_reason",
            ),
        ]
        indexes = [
            # The dashboard's and the API's at-risk lists: a team's at-risk tasks, latest 85 % date first.
            models.Index(fields=["team_id", "-p85"], condition=models.Q(at_risk=True), name="analytics_forecast_risk"),
            models.Index(fields=["project_id"], condition=models.Q(at_risk=True), name="analytics_forecast_risk_prj"),
        ]

    def __str__(self):
        return f"task {self.task_id}: {self.p50}..{self.p85}" if self.p50 else f"task {self.task_id}: {self.reason}"


class CalibrationShares:
    """The shares of a backtest's replayed tasks that finished by their 50 % and 85 % dates (None before any)."""

    replayed: int
    within_p50: int
    within_p85: int

    @property
    def share_p85(self) -> float | None:
        return self.within_p85 / self.replayed if self.replayed else None

    @property
    def share_p50(self) -> float | None:
        return self.within_p50 / self.replayed if self.replayed else None


class ForecastCalibration(CalibrationShares, models.Model):
    """How well the team's forecasts would have done: the backtest replays the team's recently completed tasks
    as they stood when they started, with only the history before then, and counts the actual finishes on or
    before the forecast's 50th and 85th percentile dates. Written by analytics/forecasts' backtest."""

    team_id = models.BigIntegerField(primary_key=True)
    as_of = models.DateField()
    replayed = models.PositiveIntegerField(default=0)  # completed tasks forecast as at their start
    within_p50 = models.PositiveIntegerField(default=0)
    within_p85 = models.PositiveIntegerField(default=0)
    thin = models.PositiveIntegerField(default=0)  # tasks with too little history at their start (not replayed)
    computed_at = models.DateTimeField()

    def __str__(self):
        return f"team {self.team_id}: {self.within_p85}/{self.replayed} within the 85 % date"


class ProjectForecast(models.Model):
    """A project's completion forecast: the distribution of its last open task's finish (per Monte Carlo draw,
    the latest finish of its open tasks that have a forecast), written by the team refresh
    (analytics/forecasts/refresh.py). `p50`/`p85` as on Forecast; `at_risk`: some open task's p85 is after its
    due date. `unforecast` open tasks have no dates (their reasons are on their Forecast rows) and are not in
    the dates; with none forecast, the dates are NULL and `reason` says why."""

    project_id = models.BigIntegerField(primary_key=True)
    team_id = models.BigIntegerField()
    as_of = models.DateField()
    p50 = models.DateField(null=True, blank=True)
    p85 = models.DateField(null=True, blank=True)
    at_risk = models.BooleanField(default=False)
    forecast = models.PositiveIntegerField(default=0)  # open tasks with dates, in p50/p85
    unforecast = models.PositiveIntegerField(default=0)  # open tasks without dates
    reason = models.CharField(max_length=200, blank=True)
    computed_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["team_id"], name="analytics_project_fc_team")]

    def __str__(self):
        return f"project {self.project_id}: {self.p50}..{self.p85}" if self.p50 else f"project {self.project_id}"


class ForecastTeamState(models.Model):
    """The refresh bookkeeping of a team's forecasts (analytics/forecasts/refresh.py): a change that moves the
    team's history or a forecast bumps `wanted` in its transaction; a refresh (one at a time per team, under a
    transaction-level advisory lock) reads `wanted`, refreshes, and sets `done` to what it read, then looks
    again: so every bump is covered by a refresh that started after it, and none runs twice at once."""

    team_id = models.BigIntegerField(primary_key=True)
    wanted = models.BigIntegerField(default=0)
    done = models.BigIntegerField(default=0)

    def __str__(self):
        return f"team {self.team_id}: {self.done}/{self.wanted}"


class ForecastDailyRun(models.Model):
    """The daily refresh's claim: one row per (team, team-local day), inserted by the run that does it (INSERT
    ... ON CONFLICT DO NOTHING in the run's transaction, like the deadline notices' claims)."""

    team_id = models.BigIntegerField()
    day = models.DateField()
    ran_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team_id", "day"], name="analytics_forecast_daily_once")]

    def __str__(self):
        return f"team {self.team_id} on {self.day}"
