"""The private iCal feed's body (RFC 5545, written by the `icalendar` package): one all-day event per task.

The body depends only on the tasks' rows, never on the clock, so the same tasks give the same bytes. Its ETag
is `feed_etag`, a hash of exactly what the body is written from (no need to write the body to answer a 304,
which for a thousand events costs about a second), and a written body is kept in the cache under that ETag.
Each event's UID is the task's id at the site's host, so an app updates the event in place when the task moves
to another day.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import reverse

from .models import Status, Task

PRODID = "-//Aether//Task due dates//EN"
REFRESH = timedelta(hours=1)  # what the feed asks the apps that honour it to poll at (Google decides alone)


def task_url(task: Task) -> str:
    return f"{settings.SITE_URL.rstrip('/')}{reverse('tasks:task_detail', args=[task.pk])}"


def task_uid(task: Task) -> str:
    host = urlsplit(settings.SITE_URL).hostname or "aether"
    return f"task-{task.pk}@{host}"


# Bump when feed_calendar writes something new: every feed's ETag changes with it.
FEED_VERSION = "2"

# RFC 5545 text has no control characters (a tab is allowed, but calendar apps show it badly); a title may hold
# them (typed or pasted: an escape sequence, a bell), and one of them made the whole feed unreadable to some apps.
_CONTROLS = dict.fromkeys(range(32)) | {0x7F: None, 0x09: " "}


def _text(value: str) -> str:
    """`value` without control characters (a tab becomes a space), for one line of the feed."""
    return value.translate(_CONTROLS)


def feed_etag(tasks: Iterable[Task], *, name: str) -> str:
    """The ETag of `feed_calendar(tasks, name=name)`: a hash of every value the body is written from (the
    project's name included: renaming a project changes no task's updated_at)."""
    digest = hashlib.sha256(f"{FEED_VERSION}\x1f{settings.SITE_URL}\x1f{name}".encode())
    for task in sorted(tasks, key=lambda t: (t.due_date, t.pk)):
        fields = (task.pk, task.updated_at.isoformat(), task.due_date.isoformat(), task.title, task.status,
                  task.project.name)  # fmt: skip
        digest.update(("\x1e" + "\x1f".join(map(str, fields))).encode())
    return f'"{digest.hexdigest()[:32]}"'


def feed_calendar(tasks: Iterable[Task], *, name: str) -> bytes:
    """The feed of `tasks` (each with its project loaded), sorted by due date then id so the bytes are stable.
    DTSTAMP and LAST-MODIFIED are the task's last change: without a METHOD, RFC 5545 makes DTSTAMP the time
    the information was last revised."""
    import icalendar  # here, not at the top: 7 MB that only a process serving a feed needs (the web's budget)

    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", _text(name))
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", REFRESH)
    statuses = dict(Status.choices)
    for task in sorted(tasks, key=lambda t: (t.due_date, t.pk)):
        url = task_url(task)
        event = icalendar.Event()
        event.add("uid", task_uid(task))
        event.add("dtstamp", task.updated_at)
        event.add("last-modified", task.updated_at)
        event.add("dtstart", task.due_date)  # a date: an all-day event (VALUE=DATE)
        if task.due_date < date.max:  # without DTEND a dated event lasts its one day (RFC 5545 3.6.1)
            event.add("dtend", task.due_date + timedelta(days=1))
        event.add("summary", _text(task.title))
        event.add("url", url)
        event.add(
            "description",
            f"Project: {_text(task.project.name)}\nStatus: {statuses.get(task.status, task.status)}\n{url}",
        )
        event.add("transp", "TRANSPARENT")  # a due date does not make anyone busy
        calendar.add_component(event)
    return calendar.to_ical()
