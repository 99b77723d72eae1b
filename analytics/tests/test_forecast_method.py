"""The Monte Carlo (analytics/forecasts/method.py) against hand-computed cases, and the property that more remaining
work never brings a forecast earlier. No database: the records are built by hand, in the kept units (ln x 1e6,
rounded, as analytics/figures.py keeps them)."""

from __future__ import annotations

import math
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.forecasts.method import (
    DRAWS,
    PRIOR,
    Draws,
    HistoryAt,
    Record,
    TaskInput,
    forecast_project,
    forecast_tasks,
)
from analytics.forecasts.workdays import log_millionths, nth_working_day, weekdays_before, working_days

MONDAY, FRIDAY, SATURDAY = date(2026, 11, 9), date(2026, 11, 13), date(2026, 11, 14)


def same(value: float, n: int = 5) -> Record:
    """n identical kept values of ln(value): standard deviation 0, so every draw is exactly `value`."""
    v = round(math.log(value) * 1_000_000)
    return Record(n, n * v, n * v * v)


def history(**names) -> HistoryAt:
    """Stage names with constant ratios; the team's stage record is theirs together; pace 6 hours a day."""
    records = {name.replace("_", " "): same(r) for name, r in names.items()}
    total = Record()
    for record in records.values():
        total = total + record
    return HistoryAt(names=records, stages=total, pace=same(6.0))


def one(task: TaskInput, h: HistoryAt, as_of: date = MONDAY):
    (result,) = forecast_tasks([task], h, Draws(1, as_of), as_of)
    return result


def task(*stages, task_id=1, due=None, assignee=None) -> TaskInput:
    return TaskInput(task_id, assignee, due, True, [(i, name, est) for i, (name, est) in enumerate(stages, 1)])


def test_working_days_count_monday_to_friday_inclusive():
    assert working_days(MONDAY, MONDAY) == 1
    assert working_days(MONDAY, FRIDAY) == 5
    assert working_days(FRIDAY, MONDAY + timedelta(days=7)) == 2  # Friday and the next Monday
    assert working_days(SATURDAY, SATURDAY + timedelta(days=1)) == 1  # a weekend's work counts one day
    assert nth_working_day(FRIDAY, 2) == date(2026, 11, 16)
    assert nth_working_day(SATURDAY, 1) == date(2026, 11, 16)
    assert weekdays_before(date(1, 1, 8)) == 5
    assert log_millionths(1.5, -10, 10) == 10
    assert log_millionths(1.5, -(10**9), 10**9) == 405465


def test_one_stage_by_hand():
    # Build: estimated 11 h, the team's Build stages took 1.5x: 16.5 h at 6 h a day = 2.75 working days, to the
    # nearest whole day 3: the 3rd working day counting Monday as the first, Wednesday, at 50 % and 85 % (no spread).
    result = one(task(("Build", 11)), history(Build=1.5))
    assert (result.p50, result.p85) == (date(2026, 11, 11), date(2026, 11, 11))
    assert result.basis == "stages"
    assert result.reason == ""
    assert str(result.remaining_hours) == "11.00"


def test_as_of_a_friday_or_a_weekend_skips_the_weekend():
    assert one(task(("Build", 11)), history(Build=1.5), FRIDAY).p85 == date(2026, 11, 17)  # Fri, Mon, Tue
    assert one(task(("Build", 11)), history(Build=1.5), SATURDAY).p85 == date(2026, 11, 18)  # Mon, Tue, Wed


def test_several_stages_add_up():
    # 10 h x 1.5 + 4 h x 0.75 + 5 h x 2 = 15 + 3 + 10 = 28 h at 6 h a day = 4.67 -> 5: the 5th working day (Friday).
    result = one(task(("Build", 10), ("Review", 4), ("Ship", 5)), history(Build=1.5, Review=0.75, Ship=2.0))
    assert (result.p50, result.p85) == (FRIDAY, FRIDAY)
    assert str(result.remaining_hours) == "19.00"


def test_a_stage_name_never_seen_uses_the_team_record():
    # The team's record is Build's alone (1.5x): "Polish" (never seen) 3.4 h -> 5.1 h; with Build 10 h -> 15 h:
    # 20.1 h / 6 = 3.35 -> 3: the 3rd working day, Wednesday.
    result = one(task(("Build", 10), ("Polish", 3.4)), history(Build=1.5))
    assert result.p85 == date(2026, 11, 11)
    assert result.basis == "team"  # the least specific level used


def test_a_name_with_too_few_stages_uses_the_team_record():
    h = history(Build=1.5)
    h.names["Rare"] = same(4.0, n=2)  # two stages only: not enough for its own record
    assert one(task(("Rare", 6)), h).basis == "team"


def test_no_team_record_uses_the_prior():
    # Pace 6 h/day, no stage record: ln r ~ N(ln 1.3, 0.5). 30 h -> median 39 h = 6.5 days -> the 6th or 7th
    # working day; 85 %: 39 x e^(0.5 x 1.0364) = 65.5 h = 10.9 days -> 11th; sampling error: a day at most.
    result = one(task(("Build", 30)), HistoryAt(pace=same(6.0)))
    assert result.basis == "prior"
    assert abs(weekdays_before(result.p50) - weekdays_before(nth_working_day(MONDAY, 7))) <= 1
    assert abs(weekdays_before(result.p85) - weekdays_before(nth_working_day(MONDAY, 11))) <= 1
    assert PRIOR.loc == math.log(1.3)


def test_no_history_gives_a_reason_not_a_date():
    result = one(task(("Build", 10)), HistoryAt())
    assert result.p50 is None
    assert result.p85 is None
    assert result.basis == "none"
    assert result.reason.startswith("Too little history: the team has 0 finished tasks")


def test_the_assignees_own_pace_when_they_have_enough():
    h = history(Build=1.5)
    h.people[7] = same(4.0, n=3)  # 4 h a day: 15 h = 3.75 days -> 4: Thursday
    assert one(task(("Build", 10), assignee=7), h).p85 == date(2026, 11, 12)
    assert one(task(("Build", 11), assignee=8), h).p85 == date(2026, 11, 11)  # no record: the team's 6 h


def test_bad_inputs_give_reasons():
    h = history(Build=1.5)
    no_stages = TaskInput(1, None, None, False, [])
    assert "no stages" in one(no_stages, h).reason
    all_done = TaskInput(2, None, None, True, [])
    assert "no stage with an estimate is left" in one(all_done, h).reason
    zero = TaskInput(3, None, None, True, [(1, "Build", 0.0)])
    assert one(zero, h).p85 is None
    absurd = task(("Build", 99999.99))  # 150,000 h at 6 h a day: decades
    result = one(absurd, h)
    assert result.p85 is None
    assert "more than 5 years" in result.reason


def test_at_risk_is_p85_after_the_due_date():
    h = history(Build=1.5)
    assert one(task(("Build", 11), due=date(2026, 11, 10)), h).at_risk is True
    assert one(task(("Build", 11), due=date(2026, 11, 11)), h).at_risk is False
    assert one(task(("Build", 11)), h).at_risk is False


def test_the_draws_are_deterministic_and_differ_by_day():
    h = HistoryAt(stages=Record(20, 20 * 200_000, 20 * 200_000**2 + 20 * 400_000**2), pace=same(6.0))
    a = one(task(("Build", 40)), h)
    b = one(task(("Build", 40)), h)
    assert (a.p50, a.p85) == (b.p50, b.p85)
    assert list(a.finishes) == list(b.finishes)
    assert len(a.finishes) == DRAWS


def test_a_project_finishes_with_its_last_task():
    h = history(Build=1.5)
    results = forecast_tasks(
        [task(("Build", 11), task_id=1), task(("Build", 23), task_id=2)], h, Draws(1, MONDAY), MONDAY
    )
    project = forecast_project(results, MONDAY)
    assert project.p85 == results[1].p85 == date(2026, 11, 16)  # 34.5 h / 6 = 5.75 days -> 6: Monday next
    assert (project.forecast, project.unforecast) == (2, 0)
    assert forecast_project([], MONDAY).reason == "No open tasks."


records = st.builds(
    lambda n, mean, sd: Record(n, n * mean, n * (mean * mean + sd * sd)),
    st.integers(2, 200),
    st.integers(-1_500_000, 1_500_000),
    st.integers(0, 1_500_000),
)
stage_lists = st.lists(st.tuples(st.sampled_from(["A", "B", "C", "D"]), st.floats(0.25, 80)), min_size=1, max_size=8)


@settings(max_examples=60, deadline=None)
@given(
    names=st.dictionaries(st.sampled_from(["A", "B", "C"]), records, max_size=3),
    team=records,
    pace=records,
    stages=stage_lists,
    extra=st.tuples(st.sampled_from(["A", "B", "C", "D"]), st.floats(0.25, 80)),
    grow=st.floats(1.0, 5.0),
    task_id=st.integers(1, 10**9),
)
def test_more_remaining_work_never_brings_the_forecast_earlier(names, team, pace, stages, extra, grow, task_id):
    h = HistoryAt(names=names, stages=team, pace=pace)
    base = forecast_tasks([task(*stages, task_id=task_id)], h, Draws(3, MONDAY), MONDAY)[0]
    more_stages = forecast_tasks([task(*stages, extra, task_id=task_id)], h, Draws(3, MONDAY), MONDAY)[0]
    bigger = [(name, est * grow if i == 0 else est) for i, (name, est) in enumerate(stages)]
    larger = forecast_tasks([task(*bigger, task_id=task_id)], h, Draws(3, MONDAY), MONDAY)[0]
    for later in (more_stages, larger):
        if base.p85 is None:
            assert later.p85 is None  # beyond the horizon stays beyond it
            continue
        if later.p85 is None:
            continue  # pushed beyond the horizon: later still
        assert later.p50 >= base.p50
        assert later.p85 >= base.p85
        assert (later.finishes >= base.finishes).all()
