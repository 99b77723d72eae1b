"""What a repeating task's rule is, defined once: parsing and checking an RFC 5545 RRULE, its dates, its words.

A rule is kept as the text of an RRULE without DTSTART (`FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;UNTIL=20270301`);
its start is a separate date (Recurrence.starts_on). Its dates are dates, not instants: python-dateutil's
`rrulestr` expands the text from midnight of the start date, so no clock change can move an occurrence, and
"which day is it now" is the team's (tasks/deadlines.py).

The supported subset is what the rule editor can say, strictly checked (anything else is a RuleError naming
what is wrong, never a rule that expands to something unexpected):

- FREQ: DAILY, WEEKLY, MONTHLY or YEARLY; INTERVAL 1 to 999 ("every N days/weeks/months/years");
- BYDAY (with DAILY or WEEKLY): plain weekdays, MO to SU ("on weekdays" is WEEKLY;BYDAY=MO,TU,WE,TH,FR);
- BYMONTHDAY (with MONTHLY or YEARLY): days 1 to 31 or -1 (the last day). As RFC 5545 says, a month without
  that day is skipped (BYMONTHDAY=31 gives no date in April); the editor therefore writes "the 31st" as -1,
  and "the 29th/30th" as BYMONTHDAY=28,29,30;BYSETPOS=-1 (that day, or the last of a shorter month);
- BYSETPOS=-1, only with several BYMONTHDAY days (the idiom above); BYMONTH (with YEARLY): one month;
  a yearly rule started on 29 February is written BYMONTH=2;BYMONTHDAY=28,29;BYSETPOS=-1 by the editor
  (28 February in common years); a bare FREQ=YEARLY from 29 February repeats in leap years only (RFC 5545);
- the end: never, UNTIL=YYYYMMDD (a date, inclusive) or COUNT=1..1000 (the start counts), not both.

A rule of this subset that gives a date at all gives the next one within a few of its periods (the rarest, 29
February, within 8 years), and dateutil finds it quickly; but for a rule that never gives one (BYMONTHDAY=30 in
February, a weekday an INTERVAL=7 daily rule never lands on) dateutil searches period by period to the year
9999: seconds of CPU. `check_rule` therefore first decides by arithmetic, over one full cycle of the calendar
(`_lands`: at most 4,800 months or 400 years, a few milliseconds), whether the rule ever lands on a date, and
refuses it before dateutil is asked anything. Only rules that passed it are stored.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from dateutil.rrule import rrule, rrulestr

FREQS = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
WORKDAYS = WEEKDAYS[:5]
DAY_NAMES = dict(zip(WEEKDAYS, ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), strict=True))
MAX_RULE_LENGTH = 200
MAX_INTERVAL = 999
MAX_COUNT = 1000
_UNIT = {"DAILY": "day", "WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year"}
_KEYS = ("FREQ", "INTERVAL", "BYDAY", "BYMONTH", "BYMONTHDAY", "BYSETPOS", "UNTIL", "COUNT")


class RuleError(ValueError):
    """A rule that is malformed or outside the supported subset; the message says which part, in words."""


@dataclass(frozen=True)
class Rule:
    freq: str
    interval: int = 1
    byday: tuple[str, ...] = ()
    bymonthday: tuple[int, ...] = ()
    bymonth: int | None = None
    setpos: int | None = None
    until: date | None = None
    count: int | None = None

    # --- text -------------------------------------------------------------------------------------------

    def text(self) -> str:
        """The canonical RRULE (the order of _KEYS, weekdays in week order, days sorted)."""
        parts = [f"FREQ={self.freq}"]
        if self.interval != 1:
            parts.append(f"INTERVAL={self.interval}")
        if self.byday:
            parts.append("BYDAY=" + ",".join(self.byday))
        if self.bymonth is not None:
            parts.append(f"BYMONTH={self.bymonth}")
        if self.bymonthday:
            parts.append("BYMONTHDAY=" + ",".join(str(d) for d in self.bymonthday))
        if self.setpos is not None:
            parts.append(f"BYSETPOS={self.setpos}")
        if self.until is not None:
            parts.append(f"UNTIL={self.until:%Y%m%d}")
        if self.count is not None:
            parts.append(f"COUNT={self.count}")
        return ";".join(parts)

    # --- dates ------------------------------------------------------------------------------------------

    def expand(self, start: date) -> rrule:
        """The dateutil rule of this text from `start` (its datetimes are midnights; take `.date()`)."""
        return rrulestr(self.text(), dtstart=datetime.combine(start, time()))

    def first_on_or_after(self, start: date, day: date) -> date | None:
        """The first date of the rule (started on `start`) on or after `day`; None when it has ended."""
        found = self.expand(start).after(datetime.combine(day, time()), inc=True)
        return found.date() if found is not None else None

    def dates_between(self, start: date, first: date, last: date, *, limit: int) -> list[date]:
        """Up to `limit` dates of the rule from `first` to `last` inclusive, in order."""
        out: list[date] = []
        if last < first:
            return out
        for found in self.expand(start).xafter(datetime.combine(first, time()), inc=True):
            if found.date() > last or len(out) >= limit:
                break
            out.append(found.date())
        return out

    # --- words ------------------------------------------------------------------------------------------

    def summary(self, start: date | None = None) -> str:
        """In words, e.g. "Every 2 weeks on Mon, Thu, until 2027-03-01". `start` fills in what the rule takes
        from its start date (the weekday of a plain weekly rule, the day of a monthly or yearly one)."""
        unit = _UNIT[self.freq]
        every = f"Every {unit}" if self.interval == 1 else f"Every {self.interval} {unit}s"
        on = ""
        if self.freq in ("DAILY", "WEEKLY") and tuple(self.byday) == WORKDAYS:
            every = "Every weekday" if self.interval == 1 else f"Every {self.interval} weeks on weekdays"
        elif self.byday:
            on = " on " + ", ".join(DAY_NAMES[d] for d in self.byday)
        elif self.freq == "WEEKLY" and start is not None:
            on = f" on {DAY_NAMES[WEEKDAYS[start.weekday()]]}"
        if self.freq == "MONTHLY":
            on = " on " + self._month_days(start)
        elif self.freq == "YEARLY":
            on = " on " + self._year_day(start)
        end = ""
        if self.until is not None:
            end = f", until {self.until.isoformat()}"
        elif self.count is not None:
            end = ", once" if self.count == 1 else f", {self.count} times"
        return f"{every}{on}{end}"

    def _month_days(self, start: date | None) -> str:
        days = self.bymonthday
        if not days:
            return f"day {start.day}" if start is not None else "the start date's day"
        if days == (-1,):
            return "the last day"
        if self.setpos == -1:
            return f"day {max(days)} (or the last day of a shorter month)"
        return "day " + ", ".join("last" if d == -1 else str(d) for d in days)

    def _year_day(self, start: date | None) -> str:
        month = self.bymonth or (start.month if start is not None else None)
        if month is None:
            return "the start date"
        name = calendar.month_abbr[month]
        days = self.bymonthday or ((start.day,) if start is not None else ())
        if self.setpos == -1 and days:
            if month == 2 and max(days) == 29:
                return "29 Feb (28 Feb in other years)"
            return f"{max(days)} {name} (or the month's last day)"
        if days == (-1,):
            return f"the last day of {name}"
        return ", ".join(f"{d} {name}" for d in days) if days else f"{name}"


def parse_rule(text) -> Rule:
    """The Rule of an RRULE text (an optional "RRULE:" prefix is allowed; keys and values in any case).
    Raises RuleError for anything malformed or unsupported."""
    if not isinstance(text, str):
        raise RuleError("Give the rule as text, for example FREQ=WEEKLY;BYDAY=MO.")
    text = text.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if not text:
        raise RuleError("Give a rule, for example FREQ=WEEKLY;BYDAY=MO.")
    if len(text) > MAX_RULE_LENGTH:
        raise RuleError(f"A rule has at most {MAX_RULE_LENGTH} characters.")
    if not text.isascii() or not text.isprintable():
        raise RuleError("A rule has plain letters, digits, '=', ',', ';' and '-' only.")
    parts: dict[str, str] = {}
    for part in text.removesuffix(";").split(";"):
        key, sep, value = part.partition("=")
        key, value = key.strip().upper(), value.strip().upper()
        if not sep or not key or not value:
            raise RuleError(f"“{part}” is not KEY=VALUE.")
        if key not in _KEYS:
            raise RuleError(f"{key} is not supported (use {', '.join(_KEYS)}).")
        if key in parts:
            raise RuleError(f"{key} is given twice.")
        parts[key] = value
    freq = parts.get("FREQ")
    if freq is None:
        raise RuleError("A rule needs FREQ (DAILY, WEEKLY, MONTHLY or YEARLY).")
    if freq not in FREQS:
        raise RuleError(f"FREQ={freq} is not supported (use DAILY, WEEKLY, MONTHLY or YEARLY).")
    rule = Rule(freq=freq)
    if "INTERVAL" in parts:
        rule = replace(rule, interval=_number(parts["INTERVAL"], "INTERVAL", 1, MAX_INTERVAL))
    if "BYDAY" in parts:
        if freq not in ("DAILY", "WEEKLY"):
            raise RuleError("BYDAY is supported with FREQ=DAILY or WEEKLY only.")
        days = _items(parts["BYDAY"], "BYDAY")
        unknown = [d for d in days if d not in WEEKDAYS]
        if unknown:
            raise RuleError(f"BYDAY takes weekdays MO, TU, WE, TH, FR, SA, SU (not {unknown[0]}).")
        rule = replace(rule, byday=tuple(d for d in WEEKDAYS if d in days))
    if "BYMONTHDAY" in parts:
        if freq not in ("MONTHLY", "YEARLY"):
            raise RuleError("BYMONTHDAY is supported with FREQ=MONTHLY or YEARLY only.")
        days = [_number(d, "BYMONTHDAY", -1, 31) for d in _items(parts["BYMONTHDAY"], "BYMONTHDAY")]
        if 0 in days:
            raise RuleError("BYMONTHDAY takes days 1 to 31, or -1 for the last day.")
        rule = replace(rule, bymonthday=tuple(sorted(days, key=lambda d: 32 if d == -1 else d)))
    if "BYMONTH" in parts:
        if freq != "YEARLY":
            raise RuleError("BYMONTH is supported with FREQ=YEARLY only.")
        rule = replace(rule, bymonth=_number(parts["BYMONTH"], "BYMONTH", 1, 12))
    if "BYSETPOS" in parts:
        if parts["BYSETPOS"] != "-1" or len(rule.bymonthday) < 2 or -1 in rule.bymonthday:
            raise RuleError("BYSETPOS is supported only as BYSETPOS=-1 with several BYMONTHDAY days.")
        rule = replace(rule, setpos=-1)
    if "UNTIL" in parts and "COUNT" in parts:
        raise RuleError("Give UNTIL or COUNT, not both.")
    if "UNTIL" in parts:
        value = parts["UNTIL"]
        try:
            if len(value) != 8 or not value.isdigit():
                raise ValueError
            until = date(int(value[:4]), int(value[4:6]), int(value[6:]))
        except ValueError:
            raise RuleError("UNTIL is a date written YYYYMMDD, for example UNTIL=20270301.") from None
        rule = replace(rule, until=until)
    if "COUNT" in parts:
        rule = replace(rule, count=_number(parts["COUNT"], "COUNT", 1, MAX_COUNT))
    return rule


def check_rule(rule: Rule, start: date) -> None:
    """Raise RuleError unless the rule, started on `start`, gives at least one date (a date in the year 9999
    or a rule ending before it starts gives none). Bounded time: see the module docstring."""
    if rule.until is not None and rule.until < start:
        raise RuleError("The rule ends before it starts.")
    if start > date(9000, 1, 1):
        raise RuleError("Start before the year 9000.")
    if not _lands(rule, start):
        raise RuleError("This rule gives no date from its start (no such day in the days, months or years it visits).")
    if rule.first_on_or_after(start, start) is None:
        raise RuleError("This rule gives no date from its start (no such day in those months).")


def _has_day(days: tuple[int, ...], year: int, month: int) -> bool:
    """Whether a month has one of `days` (-1: the last day, which every month has)."""
    length = calendar.monthrange(year, month)[1]
    return any(d == -1 or d <= length for d in days)


def _lands(rule: Rule, start: date) -> bool:
    """Whether the rule, from `start`, ever gives a date, decided by arithmetic over one cycle of what it visits
    (weekdays repeat every 7 days; months and leap years every 400 years): a few thousand cheap steps at most."""
    k = rule.interval
    if rule.freq == "DAILY":
        if not rule.byday:
            return True
        wanted = {WEEKDAYS.index(d) for d in rule.byday}
        return any((start.weekday() + i * k) % 7 in wanted for i in range(7))
    if rule.freq == "WEEKLY":
        return True  # every week has every weekday
    days = rule.bymonthday or (start.day,)
    if rule.freq == "MONTHLY":
        for i in range(4800):  # 400 years of months: the calendar's whole cycle
            month = start.month - 1 + i * k
            year = start.year + month // 12
            if year > 9999:
                return False
            if _has_day(days, year, month % 12 + 1):
                return True
        return False
    month = rule.bymonth or start.month  # YEARLY
    for i in range(400):
        year = start.year + i * k
        if year > 9999:
            return False
        if _has_day(days, year, month):
            return True
    return False


def _items(value: str, key: str) -> list[str]:
    items = [v.strip() for v in value.split(",")]
    if any(not v for v in items):
        raise RuleError(f"{key} is a comma-separated list without empty items.")
    if len(set(items)) != len(items):
        raise RuleError(f"{key} names a value twice.")
    return items


def _number(value: str, key: str, low: int, high: int) -> int:
    digits = value[1:] if value.startswith("-") else value
    if not digits.isdigit() or len(digits) > 4 or not (low <= int(value) <= high):
        raise RuleError(f"{key} takes a whole number from {low} to {high}.")
    return int(value)


# --- the editor's words for a rule, both ways ---------------------------------------------------------------


def rule_from_choices(
    *,
    frequency: str,
    interval: int,
    weekdays: list[str],
    monthly_on: str,
    month_day: int | None,
    starts_on: date,
    end: str,
    until: date | None,
    count: int | None,
) -> Rule:
    """The rule of the editor's choices (tasks/forms.py RecurrenceForm), with the month-end care of the
    module docstring: the 29th-31st fall back to a shorter month's last day, 29 February to the 28th."""
    if frequency == "weekdays":
        rule = Rule(freq="WEEKLY", interval=interval, byday=WORKDAYS)
    elif frequency == "weekly":
        rule = Rule(freq="WEEKLY", interval=interval, byday=tuple(d for d in WEEKDAYS if d in weekdays))
    elif frequency == "monthly":
        day = month_day or starts_on.day
        if monthly_on == "last" or day == 31:
            rule = Rule(freq="MONTHLY", interval=interval, bymonthday=(-1,))
        elif day >= 29:
            rule = Rule(freq="MONTHLY", interval=interval, bymonthday=tuple(range(28, day + 1)), setpos=-1)
        else:
            rule = Rule(freq="MONTHLY", interval=interval, bymonthday=(day,))
    elif frequency == "yearly":
        if (starts_on.month, starts_on.day) == (2, 29):
            rule = Rule(freq="YEARLY", interval=interval, bymonth=2, bymonthday=(28, 29), setpos=-1)
        else:
            rule = Rule(freq="YEARLY", interval=interval)
    else:
        rule = Rule(freq="DAILY", interval=interval)
    if end == "on":
        rule = replace(rule, until=until)
    elif end == "after":
        rule = replace(rule, count=count)
    return rule


def choices_from_rule(rule: Rule, starts_on: date) -> dict:
    """The editor's initial choices for a stored rule (the inverse of rule_from_choices where it can be)."""
    choices = {
        "frequency": rule.freq.lower(),
        "interval": rule.interval,
        "weekdays": list(rule.byday),
        "monthly_on": "day",
        "month_day": starts_on.day,
        "starts_on": starts_on,
        "end": "on" if rule.until else "after" if rule.count else "never",
        "until": rule.until,
        "count": rule.count,
    }
    if rule.byday == WORKDAYS:
        choices["frequency"] = "weekdays"
    if rule.freq == "WEEKLY" and not rule.byday:
        choices["weekdays"] = [WEEKDAYS[starts_on.weekday()]]
    if rule.freq == "MONTHLY" and rule.bymonthday:
        if rule.bymonthday == (-1,):
            choices["monthly_on"] = "last"
        else:
            choices["month_day"] = max(rule.bymonthday)
    return choices


def next_day(day: date) -> date:
    return day + timedelta(days=1)
