"""Deadline notices: overdue detection and due-soon reminders, each exactly once per (task, kind, due date).

One run of a job is one transaction:

1. claim: insert a DeadlineNotice row for every task in the window that has none for its due date yet
   (tasks/sql.py: INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING task_id). The unique (task, kind,
   due_date) row is the claim: whichever run inserts it owns the notice; a concurrent run blocks on the
   uncommitted row, then skips it. The window is tasks/deadlines.py's definition, at the run's `now`, each
   task in its team's time zone; the SELECT is that ORM query, compiled.
2. for exactly the claimed tasks, chunk by chunk: the recipient (the assignee, else the creator; only an
   active user) becomes an Event, handed to `notifications.services.notify_many`, which drops those who are no
   longer members of the task's team (its audience check), applies the recipient's preferences and writes
   the outbox and in-app rows (deduplicated on the event key and the user) in this same transaction.
3. after commit, notifications asks a worker to deliver. The commit does not wait for the disk flush
   (tasks/sql.py's commit_without_flush says why that loses nothing and sends nothing twice).

A transaction-level advisory lock lets an overlapping run skip its wasted work, but nothing rests on it: the
unique claim and the deterministic event keys make duplicates impossible. Memory does not grow with the tasks:
the claimed ids come back as 8 bytes each, and the events are made and written a chunk at a time.

The claim rows are stamped with the database's clock; the caller's `now` only decides which day it is in
each time zone.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse

from accounts.models import User
from notifications.models import Kind
from notifications.services import Event, notify_many

from .. import sql
from ..deadlines import Deadlines, deadlines_at
from ..models import DeadlineNotice, NoticeKind, Task
from ._common import day_text

log = logging.getLogger(__name__)
CHUNK = 2000


@dataclass(frozen=True)
class DeadlineRun:
    """What one run did: notices claimed, outbox rows and in-app rows written; `skipped` if another run held
    the advisory lock (PostgreSQL only)."""

    kind: str
    claimed: int = 0
    emails: int = 0
    in_app: int = 0
    skipped: bool = False


_EVENT_KIND = {NoticeKind.OVERDUE: Kind.TASK_OVERDUE, NoticeKind.DUE_SOON: Kind.TASK_DUE_SOON}
_MESSAGE = {
    NoticeKind.OVERDUE: "“{title}” was due on {due} and is overdue.",
    NoticeKind.DUE_SOON: "“{title}” is due on {due}.",
}


def overdue_notify(*, now: datetime | None = None, skip_if_busy: bool = True) -> DeadlineRun:
    """Notify, once per due date, every live, unarchived task that is overdue (tasks/deadlines.py) at `now`.
    `now` is injectable so tests can stand at any instant without freezing the clock."""
    rules = deadlines_at(now)
    return _notify(NoticeKind.OVERDUE, rules, rules.overdue(), skip_if_busy=skip_if_busy)


def due_soon_notify(*, now: datetime | None = None, hours: int | None = None, skip_if_busy: bool = True) -> DeadlineRun:
    """Remind, once per due date, every live, unarchived task that is due soon (tasks/deadlines.py: its due day
    has begun or begins within `hours`, default AETHER_DUE_SOON_HOURS, in its team's time zone). A task
    already overdue is not "due soon"; the overdue job speaks for it."""
    rules = deadlines_at(now, soon_hours=hours)
    return _notify(NoticeKind.DUE_SOON, rules, rules.due_soon(), skip_if_busy=skip_if_busy)


def _advisory_key(kind: str) -> int:
    return zlib.crc32(f"aether:deadlines:{kind}".encode())


def _candidates(kind: str, window):
    """Live, unarchived tasks in the window with no `kind` notice for their current due date."""
    notified = DeadlineNotice.objects.filter(task=OuterRef("pk"), kind=kind, due_date=OuterRef("due_date"))
    return Task.objects.active().filter(window, due_date__isnull=False).filter(~Exists(notified)).order_by()


def _notify(kind: str, rules: Deadlines, window, *, skip_if_busy: bool) -> DeadlineRun:
    with transaction.atomic():
        if skip_if_busy and not sql.advisory_xact_lock_try(_advisory_key(kind)):
            log.info("%s notices: another run is in progress; skipping", kind)
            return DeadlineRun(kind=kind, skipped=True)
        sql.commit_without_flush()
        claimed = sql.deadline_notices_claim(kind=kind, candidates=_candidates(kind, window))
        counts = notify_many(_events(kind, claimed)) if claimed else None
    run = DeadlineRun(
        kind=kind, claimed=len(claimed), emails=counts.emails if counts else 0, in_app=counts.in_app if counts else 0
    )
    log.info("%s notices: %s claimed, %s emails, %s in-app", kind, run.claimed, run.emails, run.in_app)
    return run


def _events(kind: str, task_ids: Sequence[int]) -> Iterator[Event]:
    """The events of the claimed tasks, a chunk of tasks at a time: one query for the chunk's tasks, and one for
    the recipients not looked up yet (a run reads each person once). Whether the recipient is still a member
    of the task's team is notify_many's audience check, the one place that rule is kept."""
    sentinel = "987654321"
    url_prefix, url_suffix = reverse("tasks:task_detail", args=[sentinel]).split(sentinel)
    recipients: dict[int, tuple[str, str] | None] = {}
    event_kind, message = _EVENT_KIND[kind], _MESSAGE[kind]
    for start in range(0, len(task_ids), CHUNK):
        tasks = list(
            Task.objects.filter(pk__any=list(task_ids[start : start + CHUNK]))  # one array (aether/lookups.py)
            .order_by("pk")
            .values_list("pk", "title", "due_date", "project__team_id", "assignee_id", "created_by_id")
        )
        recipients.update(_recipients({a or c for _, _, _, _, a, c in tasks} - recipients.keys()))
        for task_id, title, due, team_id, assignee_id, creator_id in tasks:
            user_id = assignee_id or creator_id
            found = recipients[user_id]
            if found is None:
                continue
            email, short_name = found
            due_text = due.isoformat()
            yield Event(
                kind=event_kind,
                key=f"task:{task_id}:{kind}:{due_text}",
                user_id=user_id,
                email=email,
                name=short_name,
                team_id=team_id,
                message=message.format(title=title, due=day_text(due)),
                url=f"{url_prefix}{task_id}{url_suffix}",
                task_id=task_id,
                task_title=title,
                context={"due_date": due_text},
            )


def _recipients(user_ids: set[int]) -> dict[int, tuple[str, str] | None]:
    """user id -> (email, short name) when the user is active, else None: one query."""
    found: dict[int, tuple[str, str] | None] = dict.fromkeys(user_ids)
    rows = User.objects.filter(pk__any=list(user_ids), is_active=True).values_list("pk", "email", "full_name")
    for user, email, full_name in rows:
        found[user] = (email, (full_name.split(" ")[0] if full_name else "") or email)  # get_short_name
    return found
