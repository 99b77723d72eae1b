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

Exactly once: a series is made in a transaction that holds its source task's row lock (a concurrent run
skips a series another holds, or waits for it), and each date is claimed by inserting its unique Occurrence row
with ON CONFLICT DO NOTHING (tasks/sql.py), so that even two runs that both reach a series make a date once.
The job makes CHUNK (250) series a transaction, set-based (docs/performance.md has the figures); a chunk
that fails is rolled back and made again one series a transaction, so one broken series stops no other.

A source task in the trash makes nothing; once restored, the dates it missed are made like any missed dates.
Changing the rule sets where the series goes from now on (`next_on`: the first date of the new rule after
today, the source's due date and the last date made); stopping it clears `next_on`. Neither touches an
occurrence already made. Each occurrence's "created" Activity names its series, rule and date.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from accounts.selectors import members_among
from aether.refusals import unprocessable
from notifications.models import Kind
from notifications.services import Event, notify_many

from .. import sql
from ..changes import task_rows_changing
from ..deadlines import current_time, deadlines_at
from ..models import Activity, Recurrence, Stage, Task, TemplateStage
from ..recurrence import RuleError, check_rule, next_day, parse_rule
from ._common import _activity, _lock, _require_work, _task_url, day_text, task_write

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
    return unprocessable(str(exc), "rule")


def recurrence_set(
    *, actor, task: Task, rule: str, starts_on: date | None = None, now: datetime | None = None
) -> Recurrence:
    """Make the task repeat by `rule` (an RRULE, tasks/recurrence.py) from `starts_on` (default: the task's due
    date, else today in the team's time zone), or change the rule it repeats by. Only dates after today, the
    task's own due date and the last occurrence made are made from now on. A ValidationError names `rule`.

    The rule is parsed and checked before the task's row is locked (the check costs milliseconds at most, and
    no lock is held while it runs); the write, under the lock, checks it again against the task as it is."""
    _require_work(actor, task)
    try:
        check_rule(parse_rule(rule), starts_on or task.due_date or _team_today(task, now))
    except RuleError as exc:
        raise _rule_error(exc) from None
    return _recurrence_save(actor=actor, task=task, rule=rule, starts_on=starts_on, now=now)


@task_write
def _recurrence_save(*, actor, task: Task, rule: str, starts_on: date | None, now: datetime | None) -> Recurrence:
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
        raise unprocessable("Start at most ten years before today.", "starts_on")
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
        raise unprocessable(
            "This rule gives no date after today and the task's due date: nothing would repeat.", "rule"
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
    need not read it before and after (a quarter of the job's queries); the new tasks are written inside
    `task_rows_changing`, as task_create does. The job makes many series at once by the same code
    (`_series_make`)."""
    with transaction.atomic():
        if not _lock_source(task, skip_if_busy=skip_if_busy):
            return Occurrences([], busy=True)
        made, held = _series_make([task], now, bound, ahead_days)
        return Occurrences(made, held.get(task.pk))


def _lock_source(task: Task, *, skip_if_busy: bool) -> bool:
    """Take the source task's row lock and refresh every column of the caller's copy; False when skipping a
    task another transaction holds."""
    locked = Task.objects.select_for_update(skip_locked=skip_if_busy).filter(pk=task.pk).first()
    if locked is None:
        return False
    for field in Task._meta.concrete_fields:
        setattr(task, field.attname, getattr(locked, field.attname))
    return True


_parse = functools.lru_cache(maxsize=512)(parse_rule)  # a Rule is immutable; the job sees few distinct texts


@dataclass
class _Plan:
    """One series' turn: its source, its rule, and the claimed dates with their Occurrence row ids."""

    source: Task
    recurrence: Recurrence
    claimed: list[tuple[int, date]]


def _series_make(sources: list[Task], now, bound, ahead_days) -> tuple[list[Task], dict[int, date]]:
    """Make the due occurrences of these series, whose source tasks this transaction holds locked (each with
    its project and team loaded), set-based: one claim, one insert per kind of row, one analytics block and
    one notify_many for all of them. Returns the new tasks and, per source that hit the bound, the first date
    left for later. Call inside the transaction that took the locks."""
    bound = settings.AETHER_RECURRENCE_BOUND if bound is None else bound
    ahead = settings.AETHER_RECURRENCE_AHEAD_DAYS if ahead_days is None else ahead_days
    live = [s for s in sources if s.deleted_at is None]
    if not live:
        return [], {}
    recurrences = {
        r.task_id: r
        for r in Recurrence.objects.select_for_update()
        .filter(task_id__in=[s.pk for s in live], next_on__isnull=False)
        .order_by("pk")
    }
    rules = deadlines_at(now)
    wanted: list[tuple[Task, Recurrence, list[date]]] = []
    held: dict[int, date] = {}
    held_activities: list[Activity] = []
    for source in live:
        recurrence = recurrences.get(source.pk)
        if recurrence is None:
            continue
        horizon = rules.today(source.project.team.time_zone) + timedelta(days=ahead)
        if recurrence.next_on > horizon:
            continue
        rule = _parse(recurrence.rule)
        dates = rule.dates_between(recurrence.starts_on, recurrence.next_on, horizon, limit=bound + 1)
        dates, later = dates[:bound], dates[bound:]
        wanted.append((source, recurrence, dates))
        if later:
            recurrence.next_on = held[source.pk] = later[0]
            log.warning(
                "recurrence %s (task %s): %s occurrences made, the most one run makes; the rest, from %s, follow",
                recurrence.pk,
                source.pk,
                len(dates),
                later[0],
            )
            new = {"made": len(dates), "first": dates[0].isoformat(), "last": dates[-1].isoformat()}
            new |= {"bound": bound, "next_on": later[0].isoformat()}
            held_activities.append(
                Activity(task=source, verb=Activity.Verb.RECURRENCE_HELD, field="recurrence", new_value=new)
            )
        else:
            recurrence.next_on = rule.first_on_or_after(recurrence.starts_on, next_day(horizon))
    if not wanted:
        return [], held
    claimed = defaultdict(list)
    rows = [(r.pk, d, r.rule) for _, r, dates in wanted for d in dates]
    for occurrence_id, recurrence_id, on_date in sql.occurrences_claim_many(rows):
        claimed[recurrence_id].append((occurrence_id, on_date))
    plans = [_Plan(s, r, claimed[r.pk]) for s, r, _ in wanted if claimed[r.pk]]
    made = _occurrences_make(plans) if plans else []
    sql.recurrences_next_on_set([(r.pk, r.next_on) for _, r, _ in wanted])
    Activity.objects.bulk_create(held_activities)
    return made, held


def _occurrences_make(plans: list[_Plan]) -> list[Task]:
    """The new tasks of the claimed dates, with their stages, labels, Activity rows, claim links, analytics
    figures and the assignees' notifications: a few statements for all the plans. Call inside the
    transaction that claimed the dates."""
    sources = [p.source for p in plans]
    candidates = {(s.project.team_id, s.assignee_id) for s in sources if s.assignee_id and s.assignee.is_active}
    members = {(team_id, user_id) for user_id, team_id in members_among((u, t) for t, u in candidates)}
    specs: dict[int, list[tuple[str, Decimal]]] = defaultdict(list)  # by template id
    for template_id, name, hours in (
        TemplateStage.objects.filter(template_id__in={s.template_id for s in sources if s.template_id})
        .order_by("template_id", "order")
        .values_list("template_id", "name", "estimated_hours")
    ):
        specs[template_id].append((name, hours))
    own: dict[int, list[tuple[str, Decimal]]] = defaultdict(list)  # by source task id
    for task_id, name, hours in (
        Stage.objects.filter(task_id__in=[s.pk for s in sources if not specs.get(s.template_id)])
        .order_by("task_id", "order")
        .values_list("task_id", "name", "estimated_hours")
    ):
        own[task_id].append((name, hours))
    labels: dict[int, list[int]] = defaultdict(list)
    Labelling = Task.labels.through
    for task_id, label_id in Labelling.objects.filter(task_id__in=[s.pk for s in sources]).values_list(
        "task_id", "label_id"
    ):
        labels[task_id].append(label_id)

    rows: list[tuple[_Plan, int, date, Task, list]] = []
    for plan in plans:
        source = plan.source
        assignee = source.assignee
        if assignee is not None and (not assignee.is_active or (source.project.team_id, assignee.pk) not in members):
            assignee = None  # a former member is not given new work
        stages = specs.get(source.template_id) or own[source.pk]
        for occurrence_id, on_date in plan.claimed:
            task = Task(
                project=source.project,
                title=source.title,
                description=source.description,
                priority=source.priority,
                assignee=assignee,
                created_by_id=source.created_by_id,
                due_date=on_date,
                template_id=source.template_id,
            )
            rows.append((plan, occurrence_id, on_date, task, stages))
    with task_rows_changing() as change:
        Task.objects.bulk_create([task for *_, task, _ in rows])
        for *_, task, _ in rows:
            change.add(task.pk)
        Stage.objects.bulk_create(
            Stage(task=task, order=i, name=name, estimated_hours=hours)
            for *_, task, stages in rows
            for i, (name, hours) in enumerate(stages, 1)
        )
        Labelling.objects.bulk_create(
            Labelling(task_id=task.pk, label_id=label_id)
            for plan, _, _, task, _ in rows
            for label_id in labels[plan.source.pk]
        )
        created = []
        for plan, _, on_date, task, stages in rows:
            new = {"title": task.title, "stages": len(stages), "series": plan.source.pk}
            new |= {"recurrence": plan.recurrence.pk, "occurrence": on_date.isoformat(), "rule": plan.recurrence.rule}
            new["starts_on"] = plan.recurrence.starts_on.isoformat()  # the history says the rule in words
            created.append(Activity(task=task, verb=Activity.Verb.CREATED, new_value=new))
        Activity.objects.bulk_create(created)
        sql.occurrences_link([(occurrence_id, task.pk) for _, occurrence_id, _, task, _ in rows])
        assigned = [task for *_, task, _ in rows if task.assignee_id is not None]
        activities = Activity.objects.bulk_create(
            Activity(task=t, verb=Activity.Verb.ASSIGNED, field="assignee", new_value=t.assignee_id) for t in assigned
        )
        if assigned:
            notify_many(_assigned_event(t, a) for t, a in zip(assigned, activities, strict=True))
    return [task for *_, task, _ in rows]


def _assigned_event(task: Task, activity: Activity) -> Event:
    """The system's word to the assignee of a new occurrence (as `_notify_assigned` with no actor)."""
    return Event(
        kind=Kind.TASK_ASSIGNED,
        key=f"task:{task.pk}:assigned:{activity.pk}",
        user_id=task.assignee.pk,
        email=task.assignee.email,
        name=task.assignee.get_short_name(),
        team_id=task.project.team_id,
        message=f"“{task.title}” repeats: the one due {day_text(task.due_date)} is assigned to you",
        url=_task_url(task),
        task_id=task.pk,
        task_title=task.title,
    )


# Series per transaction of the job: a few statements for each chunk instead of ~19 for each series; a chunk's
# rows (a few hundred tasks, stages, activities, notifications) are all that is held in memory at once.
CHUNK = 250


def _chunk_run(task_ids: list[int], now, bound, ahead, skip_if_busy) -> RecurrenceRun:
    """Make these series' due occurrences in one transaction (committed without waiting for the WAL flush,
    tasks.sql.commit_without_flush). Sources another transaction holds are skipped (`skip_if_busy`, they
    count as busy) or waited for, in id order, so racing runs never deadlock on them."""
    with transaction.atomic():
        sql.commit_without_flush()
        sources = list(
            Task.objects.select_for_update(skip_locked=skip_if_busy, of=("self",))
            .select_related("project__team", "assignee")
            .filter(pk__in=task_ids)
            .order_by("pk")
        )
        made, held = _series_make(sources, now, bound, ahead)
    busy = len(task_ids) - len(sources) if skip_if_busy else 0
    return RecurrenceRun(series=len(task_ids), created=len(made), held=len(held), busy=busy)


def recurrences_run(
    *,
    now: datetime | None = None,
    bound: int | None = None,
    ahead_days: int | None = None,
    skip_if_busy: bool = True,
    chunk: int = CHUNK,
) -> RecurrenceRun:
    """The job: make every series' occurrences whose time has come at `now` (injectable, as the deadline
    jobs'), `chunk` series per transaction. A chunk that fails is rolled back and made again series by series,
    one transaction each, so that one failing series (logged, counted in `failed`) stops nothing else. A series
    whose source task another transaction holds is skipped (`skip_if_busy`) and made by the next run: racing
    runs split the series between them."""
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
    total = Counter()
    for start in range(0, len(series), chunk):
        ids = series[start : start + chunk]
        try:
            runs = [_chunk_run(ids, now, bound, ahead, skip_if_busy)]
        except Exception:  # one broken series must not stop the others: try them one by one
            log.warning("recurrence: a chunk of %s series failed; making them one by one", len(ids), exc_info=True)
            runs = [_series_run(task_id, now, bound, ahead, skip_if_busy) for task_id in ids]
        for one in runs:
            total.update({k: getattr(one, k) for k in ("created", "held", "busy", "failed")})
    run = RecurrenceRun(series=len(series), **{k: total[k] for k in ("created", "held", "busy", "failed")})
    log.info(
        "recurrence: %s series due, %s occurrences made, %s held at the bound, %s busy, %s failed",
        run.series,
        run.created,
        run.held,
        run.busy,
        run.failed,
    )
    return run


def _series_run(task_id: int, now, bound, ahead, skip_if_busy) -> RecurrenceRun:
    try:
        return _chunk_run([task_id], now, bound, ahead, skip_if_busy)
    except Exception:  # the next run tries it again
        log.exception("recurrence of task %s failed", task_id)
        return RecurrenceRun(series=1, failed=1)
