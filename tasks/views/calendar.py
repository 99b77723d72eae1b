"""The calendar: a month of the tasks the user may see that have a due date, moving a task to another day,
and each user's private iCal feed of their open tasks."""

from __future__ import annotations

import re
from calendar import monthrange
from datetime import date, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import dateformat
from django.utils.cache import get_conditional_response
from django.utils.http import http_date, url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_http_methods, require_safe

from accounts import selectors as account_selectors
from accounts.permissions import Action, can
from aether.live.pages import live_page

from .. import ical, selectors, services
from ..deadlines import deadlines_for
from ..filters import TaskFilter
from ..forms import DueDateForm
from ..models import Status
from ._common import LIST_PAGE_SIZE, CappedPaginator, _back, _errors_text, _task_for_work
from .projects import _for_display, _url_maker

# The filters the calendar offers, all TaskFilter's (the list's and the API's), so they mean the same there.
CALENDAR_FILTERS = ("project", "assignee", "status")
MONTH = re.compile(r"^(\d{4})-(\d{2})$")
# Months the page shows: a whole grid of weeks (Monday to Sunday) stays inside what `date` can hold.
MIN_YEAR, MAX_YEAR = 2, 9998
# How long a written feed is kept in the cache (under its ETag) for the next app that asks without one.
FEED_CACHE_SECONDS = 600
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def month_start(text: str | None, default: date) -> tuple[date, str | None]:
    """The first day of the month `text` (YYYY-MM) names, or of `default`'s month with an error to show."""
    match = MONTH.match(text or "")
    if text and match:
        year, month = int(match[1]), int(match[2])
        if MIN_YEAR <= year <= MAX_YEAR and 1 <= month <= 12:
            return date(year, month, 1), None
    first = default.replace(day=1)
    return first, (f"“{text}” is not a month: give one such as {first:%Y-%m}." if text else None)


def month_grid(first: date) -> list[list[date]]:
    """The weeks, Monday to Sunday, that hold the month beginning on `first` (4 to 6 of them)."""
    last = first.replace(day=monthrange(first.year, first.month)[1])
    day = first - timedelta(days=first.weekday())
    end = last + timedelta(days=6 - last.weekday())
    weeks = []
    while day <= end:
        weeks.append([day + timedelta(days=i) for i in range(7)])
        day += timedelta(days=7)
    return weeks


def _shift(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _todays(request, project) -> dict[date, list[str]]:
    """Today in each time zone that matters here, by tasks/deadlines.py: the chosen project's team, else each
    of the user's teams (a team at UTC+14 can be a day ahead of one at UTC); each day names its teams."""
    deadlines = deadlines_for(request)
    teams = [project.team] if project is not None else [m.team for m in account_selectors.memberships_of(request.user)]
    todays: dict[date, list[str]] = {}
    for team in teams:
        todays.setdefault(deadlines.today(team.time_zone), []).append(team.name)
    if not todays:
        todays[deadlines.today()] = []
    return todays


def _for_calendar(request, tasks, here: str) -> None:
    """What the grid shows of each task, computed once here (as _for_display does for the board): its classes,
    the tooltip, and whether the user may move it with the link to its move page (the no-JS form; with JS
    the link opens the page's one move dialog). 168 tasks a month: each template lookup saved counts."""
    move_url = _url_maker("tasks:task_due_date")
    back = urlencode({"next": here})
    may_work: dict[int, bool] = {}
    for task in tasks:
        team_id = task.project.team_id
        if team_id not in may_work:
            may_work[team_id] = can(request.user, Action.WORK, team_id)
        task.can_move = may_work[team_id]
        task.move_url = f"{move_url(task.pk)}?{back}" if task.can_move else ""
        task.is_done = task.status == Status.COMPLETED
        task.cal_class = "cal-task" + (" is-overdue" if task.overdue else "") + (" is-done" if task.is_done else "")
        task.cal_title = " · ".join(
            part for part in (task.project.name, task.get_status_display(), task.assignee_name) if part
        )


def _cell(day: date, first: date, todays: dict[date, list[str]], shown: list, more_url) -> dict:
    """One day of the grid, its classes and labels formatted here rather than by template filters."""
    today_teams = todays.get(day)
    classes = "cal-day" + ("" if day.month == first.month else " out")
    classes += (" today" if today_teams is not None else "") + ("" if shown else " empty-day")
    total = shown[0].day_total if shown else 0
    return {
        "iso": day.isoformat(),
        "classes": classes,
        "num": dateformat.format(day, "j M") if day.day == 1 else str(day.day),
        "full": dateformat.format(day, "l j F"),
        "today": today_teams is not None,
        "today_title": f"Today in {', '.join(today_teams)}" if today_teams else "Today",
        "tasks": shown,
        "more": total - len(shown),
        "more_url": more_url(day) if total > len(shown) else "",
        "more_day": dateformat.format(day, "j F") if total > len(shown) else "",
    }


@login_required
@live_page("mine")
def month(request):
    data = request.GET.copy()
    for name in list(data):
        if name not in CALENDAR_FILTERS:
            data.pop(name)
    visible = selectors.tasks_visible_to(request.user, resolve_projects=True).active()
    filterset = TaskFilter(data or None, visible, request=request)
    form = filterset.form
    project = None
    if filterset.is_bound:
        form.is_valid()  # an invalid filter is shown by its field; the valid ones still apply
        project = form.cleaned_data.get("project")
    todays = _todays(request, project)
    first, month_error = month_start(request.GET.get("month"), min(todays))
    weeks = month_grid(first)
    deadlines = deadlines_for(request)
    tasks = selectors.calendar_days(filterset.qs, weeks[0][0], weeks[-1][-1])
    _for_display(tasks, deadlines)

    kept = {name: data[name] for name in CALENDAR_FILTERS if data.get(name)}
    here = request.get_full_path()
    _for_calendar(request, tasks, here)
    by_day: dict[date, list] = {}
    for task in tasks:
        by_day.setdefault(task.due_date, []).append(task)

    def more_url(day: date) -> str:
        """Where "+N more" leads: the project's list filtered to that day, or this page's list of the day."""
        if project is not None:
            filters = {k: v for k, v in kept.items() if k != "project"}
            filters |= {"due_after": day.isoformat(), "due_before": day.isoformat()}
            return f"{reverse('tasks:task_list', args=[project.pk])}?{urlencode(filters)}"
        return f"?{urlencode({**kept, 'month': f'{first:%Y-%m}', 'day': day.isoformat()})}#day"

    cells = [[_cell(day, first, todays, by_day.get(day, []), more_url) for day in week] for week in weeks]
    day_page, day_shown = None, None
    day_text = request.GET.get("day")
    if day_text:
        try:
            day_shown = date.fromisoformat(day_text)
        except ValueError:
            messages.error(request, f"“{day_text}” is not a day: give one such as {first:%Y-%m-%d}.")
    if day_shown is not None:
        qs = selectors.calendar_day_tasks(filterset.qs, day_shown)
        day_page = CappedPaginator(qs, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
        _for_display(day_page.object_list, deadlines)

    def month_url(start: date) -> str:
        return f"?{urlencode({**kept, 'month': f'{start:%Y-%m}'})}"

    prev_month, next_month = _shift(first, -1), _shift(first, 1)
    return render(
        request,
        "tasks/calendar.html",
        {
            "first": first,
            "weeks": cells,
            "any_tasks": bool(tasks),
            "any_movable": any(task.can_move for task in tasks),
            "weekdays": WEEKDAYS,
            "form": form,
            "filtered": bool(kept),
            "projects": list(selectors.projects_visible_to(request.user).order_by("team__name", "name")),
            "people": list(account_selectors.teammates_of(request.user)),
            "status_choices": Status.choices,
            "month_error": month_error,
            "prev_url": month_url(prev_month) if prev_month.year >= MIN_YEAR else "",
            "next_url": month_url(next_month) if next_month.year <= MAX_YEAR else "",
            "today_url": month_url(min(todays)),
            "today_teams": sorted(todays.items()),
            "day_limit": selectors.CALENDAR_DAY_LIMIT,
            "day_shown": day_shown,
            "day_page": day_page,
            "here": here,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def task_due_date(request, pk: int):
    """Move a task to another day (the calendar's "Move"), through task_update: the history and the figures
    follow. GET is the move page, the form alone: where the calendar's "Move" link leads without JS (with JS
    the link opens the calendar's one move dialog, and a drop on a day posts it). Another team's task is a
    404, a viewer gets a 403, and a day that is not one is a message (the POST goes back where it came from)."""
    task = _task_for_work(request, pk)
    if request.method == "GET":
        target = request.GET.get("next") or ""
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            target = reverse("tasks:calendar") + (f"?month={task.due_date:%Y-%m}" if task.due_date else "")
        return render(request, "tasks/task_due_date.html", {"task": task, "next": target})
    form = DueDateForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"“{task.title}” was not moved: {' '.join(form.errors['due_date'])}")
        day = task.due_date
    else:
        day = form.cleaned_data["due_date"]
        try:
            services.task_update(actor=request.user, task=task, data={"due_date": day})
        except ValidationError as exc:
            messages.error(request, f"“{task.title}” was not moved: {_errors_text(exc)}")
        else:
            messages.success(request, f"“{task.title}” is now due on {day.day} {day:%b %Y}.")
    default = reverse("tasks:calendar") + (f"?month={day:%Y-%m}" if day else "")
    return _back(request, default)


@require_safe
def feed(request, token: str):
    """A user's private iCal feed: their open tasks' due dates as all-day events. The token in the URL is the
    only credential and is good for nothing else: no session is read or made here, and an unknown or reset
    token is a 404. Two queries (the token's feed and user, then the tasks); an unchanged feed is a 304 by its
    ETag (tasks/ical.py feed_etag), without writing the body. If-Modified-Since alone never gives a 304: a
    task that leaves the feed changes nothing the remaining rows could date. Last-Modified is still sent, for
    the apps that show it."""
    found = account_selectors.calendar_feed_by_token(token)
    if found is None:
        raise Http404("No such calendar feed.")
    tasks = selectors.calendar_feed_tasks(found.user)
    name = f"Aether: {found.user.get_short_name()}'s tasks"
    etag = ical.feed_etag(tasks, name=name)
    last_modified = max([t.updated_at for t in tasks] + [found.created_at])
    headers = {
        "ETag": etag,
        "Last-Modified": http_date(last_modified.timestamp()),
        "Cache-Control": "private, max-age=300",
        "X-Robots-Tag": "noindex, nofollow",
        "Referrer-Policy": "no-referrer",
    }
    response = get_conditional_response(request, etag=etag)
    if response is None:
        key = "aether:ical:" + etag.strip('"')  # the ETag names the body: a hit is the same bytes
        body = cache.get(key)
        if body is None:
            body = ical.feed_calendar(tasks, name=name)
            cache.set(key, body, FEED_CACHE_SECONDS)
        response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
        response["Content-Disposition"] = 'inline; filename="aether-tasks.ics"'
    for name, value in headers.items():
        response[name] = value
    return response
