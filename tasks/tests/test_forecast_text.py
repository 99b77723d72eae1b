"""A forecast in words (tasks/forecast_text.py), as every page, the CSV and the API say it."""

from datetime import date
from types import SimpleNamespace

import pytest

from tasks.forecast_text import (
    NO_FORECAST,
    ProjectSummary,
    calibration_words,
    forecast_words,
    project_words,
    risk_words,
)

TODAY = date(2026, 12, 5)


def forecast(p50, p85, *, reason="", at_risk=False, as_of=TODAY):
    return SimpleNamespace(p50=p50, p85=p85, reason=reason, at_risk=at_risk, as_of=as_of)


@pytest.mark.parametrize(
    ("p50", "p85", "words"),
    [
        (date(2026, 12, 12), date(2026, 12, 15), "likely 12\u201315 Dec, 85 % by 15 Dec"),
        (date(2026, 12, 15), date(2026, 12, 15), "likely 15 Dec, 85 % by 15 Dec"),
        (date(2026, 11, 28), date(2026, 12, 3), "likely 28 Nov \u2013 3 Dec, 85 % by 3 Dec"),
        (date(2026, 12, 28), date(2027, 1, 3), "likely 28 Dec \u2013 3 Jan 2027, 85 % by 3 Jan 2027"),
        (date(2027, 2, 1), date(2027, 2, 9), "likely 1\u20139 Feb 2027, 85 % by 9 Feb 2027"),
    ],
)
def test_the_range_then_the_85_percent_date_with_the_year_only_outside_this_one(p50, p85, words):
    assert forecast_words(forecast(p50, p85), TODAY) == words


def test_the_current_year_is_the_forecasts_own_day_by_default():
    assert forecast_words(forecast(date(2027, 1, 2), date(2027, 1, 4), as_of=date(2027, 1, 1))) == (
        "likely 2\u20134 Jan, 85 % by 4 Jan"
    )


def test_no_row_and_no_date_are_said_not_guessed():
    assert forecast_words(None, TODAY) == NO_FORECAST == "No forecast yet"
    thin = forecast(None, None, reason="Too little history: 2 finished tasks with stages")
    assert forecast_words(thin, TODAY) == "Too little history: 2 finished tasks with stages"


def test_why_a_task_is_at_risk():
    late = forecast(date(2026, 12, 14), date(2026, 12, 18), at_risk=True)
    assert risk_words(late, date(2026, 12, 15), TODAY) == "85 % date 18 Dec, 3 days after the due date"
    assert risk_words(forecast(date(2026, 12, 14), date(2026, 12, 16), at_risk=True), date(2026, 12, 15)) == (
        "85 % date 16 Dec, 1 day after the due date"
    )
    assert risk_words(forecast(date(2026, 12, 1), date(2026, 12, 2)), date(2026, 12, 15)) == ""
    assert risk_words(None, date(2026, 12, 15)) == ""


def test_a_project_says_when_its_last_open_task_finishes_and_what_has_no_date():
    words = project_words(ProjectSummary(date(2027, 1, 20), date(2027, 1, 28), 2, 5, 1), TODAY)
    assert words == (
        "Its last open task likely finishes 20\u201328 Jan 2027, 85 % by 28 Jan 2027; 1 open task without a date yet."
    )
    assert project_words(ProjectSummary(None, None, 0, 0, 0, kept=False), TODAY) == (
        "No forecast yet for its open tasks."
    )
    thin = ProjectSummary(None, None, 0, 0, 3, reason="Too little history: no date yet.")
    assert project_words(thin, TODAY) == "Too little history: no date yet."


def test_the_calibration_in_plain_words():
    assert calibration_words(412, 354) == "Of the last 412 finished tasks, 86 % finished by their 85 % date."
    assert calibration_words(1, 1) == "Of the last 1 finished task, 100 % finished by their 85 % date."
    assert "no measure" in calibration_words(0, 0)
