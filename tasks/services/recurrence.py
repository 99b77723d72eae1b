"""Repeating tasks: setting and stopping a task's rule, and making its occurrences, each exactly once.

The task a rule is set on is the series' source (and its first occurrence when its due date is a date of the
rule). Each later date of the rule becomes a new task, copied from the source (title, description, priority,
labels, project, template; the assignee if still a member of the team), its stages stamped from the source's
template (or copied from the source's stages, hours reset), due on that date, created by the source's creator.

When an occurrence is made: once its date comes in the team's time zone (tasks/deadlines.py's "today"), less
AETHER_RECURRENCE_AHEAD_DAYS (default 0: on the day itself, by the first run after midnight there). The
recurrence job runs every 15 minutes (teams cross midnight every quarter hour) and makes every date from the
series' `next_on` up to that horizon, so dates missed while nothing ran are made on the next run, each once.
A series with more than AETHER_RECURRENCE_BOUND (50) dates due makes the first 50, says so (a log warning and
an Activity on the source task) and leaves the rest for the next runs, 50 a run: never a flood of tasks.

Exactly once: a series is made in one transaction that holds its source task's row lock (a concurrent run
skips a series another holds, or waits for it), and each date is claimed by inserting its unique Occurrence row
with ON CONFLICT DO NOTHING (tasks/sql.py), so that even two runs that both reach a series make a date once.

A source task in the trash makes nothing; once restored, the dates it missed are made like any missed dates.
Changing the rule sets where the series goes from now on (`next_on`: the first date of the new rule after
today, the source's due date and the last date made); stopping it clears `next_on`. Neither touches an
occurrence already made. Each occurrence's "created" Activity names its series, rule and date.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from accounts.models import Membership

from .. import sql
from ..changes import task_rows_changing
from ..deadlines import current_time, deadlines_at
from ..models import Activity, Occurrence, Recurrence, Stage, Task
from ..recurrence import RuleError, check_rule, next_day, parse_rule
from ._common import _activity, _lock, _notify_assigned, _require_work, task_write

log = logging.getLogger(__name__)
EARLIEST_START_DAYS = 3653  # ten years


@dataclass(frozen=True)
class RecurrenceRun:
    """What one run of the job did: series looked at, occurrences made, series that hit the bound, series
    skipped because another writer held them, series that failed (logged; the others went on)."""

    series: int = 0
    created: int = 0
    held: int = 0
    busy: int = 0
    failed: int = 0


@dataclass(frozen=True)
class Occurrences:
    """What one series' turn made: the new tasks, and the first date left for later when the bound was hit."""

    tasks: list[Task]
    held_from: date | None = None
    busy: bool = False


def _team_today(task: Task, now: datetime | None) -> date:
    return deadlines_at(now).today(task.project.team.time_zone)


def _rule_error(exc: RuleError) -> ValidationError:
    return ValidationError({"rule": [str(exc)]})


@task_write
def recurrence_set(
    *, actor, task: Task, rule: str, starts_on: date | None = None, now: datetime | None = None
) -> Recurrence:
    """Make the task repeat by `rule` (an RRULE, tasks/recurrence.py) from `starts_on` (default: the task's due
    date, else today in the team's time zone), or change the rule it repeats by. Only dates after today, the
    task's own due date and the last occurrence made are made from now on. A ValidationError names `rule`."""
    _require_work(actor, task)
    _lock(task)
    try:
        parsed = parse_rule(rule)
    except RuleError as exc:
        raise _rule_error(exc) from None
    today = _team_today(task, now)
    start = starts_on or task.due_date or today
    existing = Recurrence.objects.select_for_update().filter(task=task).first()
    # Every expansion walks the rule from its start: a start centuries back would cost seconds each time.
    if start < today - timedelta(days=EARLIEST_START_DAYS) and (existing is None or existing.starts_on != start):
        raise ValidationError({"starts_on": ["Start at most ten years before today."]})
    try:
        check_rule(parsed, start)
    except RuleError as exc:
        raise _rule_error(exc) from None
    text = parsed.text()
    last_made = existing.occurrences.aggregate(last=Max("on_date"))["last"] if existing else None
    floor = max(
        d for d in (today, start, task.due_date and next_day(task.due_date), last_made and next_day(last_made)) if d
    )
    next_on = parsed.first_on_or_after(start, floor)
    if next_on is None:
        raise ValidationError(
            {"rule": ["This rule gives no date after today and the task's due date: nothing would repeat."]}
        )
    if existing is not None and existing.stopped_at is None and (existing.rule, existing.starts_on) == (text, start):
        return existing
    old = None
    if existing is None:
        recurrence = Recurrence.objects.create(task=task, rule=text, starts_on=start, next_on=next_on, created_by=actor)
    else:
        if existing.stopped_at is None:
            old = {"rule": existing.rule, "starts_on": existing.starts_on.isoformat()}
        recurrence = existing
        recurrence.rule, recurrence.starts_on, recurrence.next_on, recurrence.stopped_at = text, start, next_on, None
        recurrence.save(update_fields=["rule", "starts_on", "next_on", "stopped_at", "updated_at"])
    new = {
        "rule": text,
        "starts_on": start.isoformat(),
        "summary": parsed.summary(start),
        "next_on": next_on.isoformat(),
    }
    _activity(task, actor, Activity.Verb.RECURRENCE_SET, "recurrence", old, new)
    return recurrence


@task_write
def recurrence_stop(*, actor, task: Task) -> Recurrence | None:
    """Stop the task's repeats: no more occurrences are made; those made stay. None if it did not repeat."""
    _require_work(actor, task)
    _lock(task)
    recurrence = Recurrence.objects.select_for_update().filter(task=task, stopped_at__isnull=True).first()
    if recurrence is None:
        return None
    recurrence.stopped_at, recurrence.next_on = timezone.now(), None
    recurrence.save(update_fields=["stopped_at", "next_on", "updated_at"])
    old = {"rule": recurrence.rule, "starts_on": recurrence.starts_on.isoformat()}
    _activity(task, actor, Activity.Verb.RECURRENCE_STOPPED, "recurrence", old, None)
    return recurrence


def recurrence_occurrences_create(
    *,
    task: Task,
    now: datetime | None = None,
    bound: int | None = None,
    ahead_days: int | None = None,
    skip_if_busy: bool = False,
) -> Occurrences:
    """Make the occurrences of the series of `task` (its source) whose time has come at `now`, at most `bound`
    (default AETHER_RECURRENCE_BOUND), each once, in one transaction. The acting user is the system. With
    `skip_if_busy`, a source task another transaction holds is left for the next run (`busy`) instead of
    waited for.

    Not `@task_write`: the source task's row is locked and read, never written, so the task-row observers
    need not read it before and after (a quarter of the job's queries); each new task is written inside
    `task_rows_changing`, as task_create does."""
    with transaction.atomic():
        if not _lock_source(task, skip_if_busy=skip_if_busy):
            return Occurrences([], busy=True)
        return _occurrences_create(task, now, bound, ahead_days)


def _lock_source(task: Task, *, skip_if_busy: bool) -> bool:
    """Take the source task's row lock and refresh every column of the caller's copy; False when skipping a
    task another transaction holds."""
    locked = Task.objects.select_for_update(skip_locked=skip_if_busy).filter(pk=task.pk).first()
    if locked is None:
        return False
    for field in Task._meta.concrete_fields:
        setattr(task, field.attname, getattr(locked, field.attname))
    return True


def _occurrences_create(task: Task, now, bound, ahead_days) -> Occurrences:
    bound = settings.AETHER_RECURRENCE_BOUND if bound is None else bound
    ahead = settings.AETHER_RECURRENCE_AHEAD_DAYS if ahead_days is None else ahead_days
    recurrence = Recurrence.objects.select_for_update().filter(task=task, next_on__isnull=False).first()
    if recurrence is None or task.deleted_at is not None:
        return Occurrences([])
    horizon = _team_today(task, now) + timedelta(days=ahead)
    if recurrence.next_on > horizon:
        return Occurrences([])
    rule = parse_rule(recurrence.rule)
    dates = rule.dates_between(recurrence.starts_on, recurrence.next_on, horizon, limit=bound + 1)
    dates, later = dates[:bound], dates[bound:]
    claimed = sql.occurrences_claim(recurrence_id=recurrence.pk, dates=dates, rule=recurrence.rule)
    made = _occurrences_make(task, recurrence, claimed) if claimed else []
    if later:
        recurrence.next_on = later[0]
        log.warning(
            "recurrence %s (task %s): %s occurrences made, the most one run makes; the rest, from %s, follow",
            recurrence.pk,
            task.pk,
            len(dates),
            later[0],
        )
        new = {"made": len(dates), "first": dates[0].isoformat(), "last": dates[-1].isoformat()}
        new |= {"bound": bound, "next_on": later[0].isoformat()}
        _activity(task, None, Activity.Verb.RECURRENCE_HELD, "recurrence", None, new)
    else:
        recurrence.next_on = rule.first_on_or_after(recurrence.starts_on, next_day(horizon))
    recurrence.save(update_fields=["next_on", "updated_at"])
    return Occurrences(made, later[0] if later else None)


def _occurrences_make(source: Task, recurrence: Recurrence, dates: list[date]) -> list[Task]:
    """The new tasks of the claimed `dates`. Call inside the transaction that claimed them."""
    team_id = source.project.team_id
    assignee = source.assignee
    if assignee is not None and (
        not assignee.is_active or not Membership.objects.filter(team_id=team_id, user_id=assignee.pk).exists()
    ):
        assignee = None  # a former member is not given new work
    template_stages = (
        list(source.template.stages.order_by("order").values_list("name", "estimated_hours"))
        if source.template_id
        else []
    )
    specs = template_stages or list(source.stages.order_by("order").values_list("name", "estimated_hours"))
    label_ids = list(source.labels.values_list("pk", flat=True))
    made = []
    for on_date in dates:
        task = Task(
            project_id=source.project_id,
            title=source.title,
            description=source.description,
            priority=source.priority,
            assignee=assignee,
            created_by_id=source.created_by_id,
            due_date=on_date,
            template_id=source.template_id,
        )
        task.project = source.project
        with task_rows_changing() as change:
            task.save()
            change.add(task.pk)
            Stage.objects.bulk_create(
                Stage(task=task, order=i, name=name, estimated_hours=hours) for i, (name, hours) in enumerate(specs, 1)
            )
            if label_ids:
                task.labels.set(label_ids)
            new = {"title": task.title, "stages": len(specs), "series": source.pk, "recurrence": recurrence.pk}
            new |= {"occurrence": on_date.isoformat(), "rule": recurrence.rule}
            _activity(task, None, Activity.Verb.CREATED, new=new)
            Occurrence.objects.filter(recurrence=recurrence, on_date=on_date).update(task=task)
            if assignee is not None:
                _notify_assigned(
                    task, None, _activity(task, None, Activity.Verb.ASSIGNED, "assignee", None, assignee.pk)
                )
        made.append(task)
    return made


def recurrences_run(
    *,
    now: datetime | None = None,
    bound: int | None = None,
    ahead_days: int | None = None,
    skip_if_busy: bool = True,
) -> RecurrenceRun:
    """The job: make every series' occurrences whose time has come at `now` (injectable, as the deadline
    jobs'), one transaction per series, so that one failing series (logged) stops nothing else. A series whose
    source task another transaction holds is skipped (`skip_if_busy`) and made by the next run."""
    now = now or current_time()
    ahead = settings.AETHER_RECURRENCE_AHEAD_DAYS if ahead_days is None else ahead_days
    rules = deadlines_at(now)
    by_horizon: dict[date, list[str]] = defaultdict(list)
    for zone in rules.zones:
        by_horizon[rules.today(zone) + timedelta(days=ahead)].append(zone)
    if not by_horizon:
        return RecurrenceRun()
    due = Q()
    for horizon, zones in by_horizon.items():
        due |= Q(task__project__team__time_zone__in=zones, next_on__lte=horizon)
    series = list(
        Recurrence.objects.filter(due, next_on__lte=max(by_horizon), task__deleted_at__isnull=True)
        .order_by("task_id")
        .values_list("task_id", flat=True)
    )
    created = held = busy = failed = 0
    sources = Task.objects.select_related("project__team", "assignee", "template")
    for task_id in series:
        try:
            made = recurrence_occurrences_create(
                task=sources.get(pk=task_id), now=now, bound=bound, ahead_days=ahead, skip_if_busy=skip_if_busy
            )
        except Exception:  # one broken series must not stop the others; the next run tries it again
            log.exception("recurrence of task %s failed", task_id)
            failed += 1
            continue
        created += len(made.tasks)
        held += made.held_from is not None
        busy += made.busy
    run = RecurrenceRun(series=len(series), created=created, held=held, busy=busy, failed=failed)
    log.info(
        "recurrence: %s series due, %s occurrences made, %s held at the bound, %s busy, %s failed",
        run.series,
        run.created,
        run.held,
        run.busy,
        run.failed,
    )
    return run
