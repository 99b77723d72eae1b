"""How a forecast is said, in one place: the task page, the list's and board's marks and tooltips, the project's
head, the dashboard, the CSV's "no date" cells and the API's `text` all take their words from here.

Here in tasks, not in analytics which keeps the forecasts: the task pages, API and CSV say them, and tasks may not
import analytics (aether/tests/test_app_imports.py). A forecast is anything with analytics.models.Forecast's `p50`,
`p85`, `at_risk`, `reason` and `as_of` (a row, or the API's lean row).

A task's forecast reads "likely 12-15 Dec, 85 % by 15 Dec" (with EN_DASH): the range from its 50 % date to its 85 %
date, then the date by which it finishes with 85 % probability. One date when both are the same day ("likely 15 Dec, 85
% by 15 Dec"), both months when the range crosses one ("likely 28 Dec - 3 Jan, 85 % by 3 Jan", the dash spaced), and a
year only on a date outside the current one (the team's today). Where the engine found no honest date it gave a reason
(analytics.models.Forecast.reason), which is said instead; a task with no forecast row yet reads NO_FORECAST.

A project's forecast is the distribution of its last open task's finish (the engine keeps it): `project_words` says its
50 % and 85 % dates the same way, and what has no date yet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

EN_DASH = "\u2013"
NO_FORECAST = "No forecast yet"
NO_DATE = "No forecast date"  # a row without dates and, against its constraint, without a reason


def day_text(day: date, today: date) -> str:
    """ "15 Dec", with the year only when it is not `today`'s: "3 Jan 2028"."""
    text = f"{day.day} {day:%b}"
    return text if day.year == today.year else f"{text} {day.year}"


def range_text(first: date, last: date, today: date) -> str:
    """ "12-15 Dec", "15 Dec", "28 Dec - 3 Jan" (with EN_DASH; spaced when it separates two whole dates)."""
    if first == last:
        return day_text(first, today)
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}{EN_DASH}{day_text(last, today)}"
    return f"{day_text(first, today)} {EN_DASH} {day_text(last, today)}"


def forecast_words(forecast: Any, today: date | None = None) -> str:
    """The forecast in words (see the module); `today` (the team's) decides which years are said, by default
    the forecast's own `as_of` day."""
    if forecast is None:
        return NO_FORECAST
    if forecast.p50 is None or forecast.p85 is None:
        return forecast.reason or NO_DATE
    today = today or forecast.as_of
    return f"likely {range_text(forecast.p50, forecast.p85, today)}, 85 % by {day_text(forecast.p85, today)}"


def late_days(forecast: Any, due: date | None) -> int | None:
    """By how many days the 85 % date falls after the due date (None: no date to compare)."""
    if forecast is None or forecast.p85 is None or due is None:
        return None
    return (forecast.p85 - due).days


def risk_words(forecast: Any, due: date | None, today: date | None = None) -> str:
    """Why the task is marked at risk: "85 % date 18 Dec, 3 days after the due date" ("" when it is not)."""
    days = late_days(forecast, due)
    if not forecast or not forecast.at_risk or days is None:
        return ""
    today = today or forecast.as_of
    return f"85 % date {day_text(forecast.p85, today)}, {days} day{'' if days == 1 else 's'} after the due date"


@dataclass(frozen=True)
class ProjectSummary:
    """What a project's forecast says (analytics/forecast_selectors.py project_forecast, from the engine's kept
    ProjectForecast row): the 50 % and 85 % dates of its last open task's finish (None without), how many open
    tasks are at risk (counted up to a cap: `at_risk_capped`), how many have dates and how many have none, the
    reason when none has, and whether the engine has reached the project at all (`kept`)."""

    p50: date | None
    p85: date | None
    at_risk: int
    forecast: int
    undated: int
    reason: str = ""
    kept: bool = True
    at_risk_capped: bool = False


def project_words(summary: ProjectSummary, today: date) -> str:
    """ "Its last open task likely finishes 20-28 Jan, 85 % by 28 Jan" (with EN_DASH), or why there is no date."""
    if not summary.kept:
        return f"{NO_FORECAST} for its open tasks."
    if summary.p50 is None or summary.p85 is None:
        return summary.reason or "No forecast date for its open tasks."
    words = (
        f"Its last open task likely finishes {range_text(summary.p50, summary.p85, today)}, 85 % by "
        f"{day_text(summary.p85, today)}"
    )
    if summary.undated:
        words += f"; {summary.undated} open task{'' if summary.undated == 1 else 's'} without a date yet"
    return words + "."


def at_risk_count_words(n: int) -> str:
    if not n:
        return "No open task is at risk of missing its due date."
    return f"{n} open task{' is' if n == 1 else 's are'} at risk of missing {'its' if n == 1 else 'their'} due date."


def calibration_words(replayed: int, within_p85: int) -> str:
    """ "Of the last 412 finished tasks, 86 % finished by their 85 % date" (or why there is no figure)."""
    if not replayed:
        return "No finished task could be replayed yet, so there is no measure of the forecasts' accuracy."
    share = round(100 * within_p85 / replayed)
    return (
        f"Of the last {replayed:,} finished task{'' if replayed == 1 else 's'}, {share} % finished by their 85 % date."
    )
