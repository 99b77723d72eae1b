"""Each statement of tasks/sql.py on small data: what it writes or selects, checked against the ORM's reading
of the same rows and against the answer worked out by hand."""

import threading
from datetime import UTC, date, datetime

import pytest
from django.db import connections, transaction

from accounts.tests.factories import TeamFactory
from tasks import sql
from tasks.deadlines import deadlines_at
from tasks.models import DeadlineNotice, Occurrence, Recurrence, Status
from tasks.services.deadline_notices import _candidates
from tasks.tests.factories import ProjectFactory, TaskFactory

NOW = datetime(2025, 3, 10, 11, 30, tzinfo=UTC)  # 11 March in Auckland, 10 March in UTC


@pytest.fixture
def tasks_around(db):
    auckland = ProjectFactory(team=TeamFactory(time_zone="Pacific/Auckland"))
    utc = ProjectFactory(team=TeamFactory(time_zone="UTC"))
    return [
        TaskFactory(project=auckland, due_date=date(2025, 3, 10)),  # overdue in Auckland only
        TaskFactory(project=utc, due_date=date(2025, 3, 10)),  # not yet
        TaskFactory(project=utc, due_date=date(2025, 3, 2)),
        TaskFactory(project=utc, due_date=date(2025, 3, 2), status=Status.COMPLETED, completed_at=NOW),
        TaskFactory(project=auckland, due_date=date(2025, 3, 1), deleted_at=NOW),
        TaskFactory(project=auckland, due_date=date(2025, 3, 3)),
    ]


def test_the_claim_inserts_exactly_what_the_orm_query_selects(tasks_around):
    window = deadlines_at(NOW).overdue()
    first = tasks_around[5]
    DeadlineNotice.objects.create(task=first, kind="overdue", due_date=first.due_date)  # claimed before
    candidates = _candidates("overdue", window)
    orm = sorted(candidates.values_list("id", "due_date"))

    claimed = sql.deadline_notices_claim(kind="overdue", candidates=candidates)

    assert list(claimed) == [pk for pk, _ in orm] == [tasks_around[0].pk, tasks_around[2].pk]
    assert sorted(DeadlineNotice.objects.exclude(task=first).values_list("task_id", "due_date", "kind")) == [
        (pk, due, "overdue") for pk, due in orm
    ]
    # Claimed once: both forms now find nothing.
    assert list(_candidates("overdue", window)) == []
    assert list(sql.deadline_notices_claim(kind="overdue", candidates=candidates)) == []
    assert DeadlineNotice.objects.count() == 3


def test_the_claim_of_an_empty_window_is_empty(tasks_around):
    candidates = _candidates("overdue", deadlines_at(NOW, zones=[]).overdue())
    assert list(candidates) == []
    assert list(sql.deadline_notices_claim(kind="overdue", candidates=candidates)) == []


@pytest.mark.django_db(transaction=True)
def test_the_advisory_lock_is_taken_once_until_the_transaction_ends():
    other = {}

    def try_elsewhere(name):
        try:
            with transaction.atomic():
                other[name] = sql.advisory_xact_lock_try(4242)
        finally:
            connections.close_all()

    with transaction.atomic():
        assert sql.advisory_xact_lock_try(4242) is True
        thread = threading.Thread(target=try_elsewhere, args=("held",))
        thread.start()
        thread.join()
    thread = threading.Thread(target=try_elsewhere, args=("released",))
    thread.start()
    thread.join()

    assert other == {"held": False, "released": True}


def test_the_claim_of_many_series_returns_exactly_the_rows_it_inserted(db):
    a, b = (TaskFactory(due_date=date(2025, 3, 1)) for _ in range(2))
    ra = Recurrence.objects.create(task=a, rule="FREQ=DAILY", starts_on=date(2025, 3, 1), next_on=date(2025, 3, 2))
    rb = Recurrence.objects.create(task=b, rule="FREQ=WEEKLY", starts_on=date(2025, 3, 1), next_on=date(2025, 3, 8))
    Occurrence.objects.create(recurrence=ra, on_date=date(2025, 3, 3), rule="FREQ=DAILY")  # claimed before
    rows = [
        (rb.pk, date(2025, 3, 8), "FREQ=WEEKLY"),
        (ra.pk, date(2025, 3, 3), "FREQ=DAILY"),
        (ra.pk, date(2025, 3, 2), "FREQ=DAILY"),
        (ra.pk, date(2025, 3, 2), "FREQ=DAILY"),  # twice in one call: claimed once
    ]

    claimed = sql.occurrences_claim_many(rows)

    new = Occurrence.objects.exclude(on_date=date(2025, 3, 3)).order_by("recurrence_id", "on_date")
    assert claimed == [(o.pk, o.recurrence_id, o.on_date) for o in new]
    assert [(r, d) for _, r, d in claimed] == [(ra.pk, date(2025, 3, 2)), (rb.pk, date(2025, 3, 8))]
    assert {(o.recurrence_id, o.rule) for o in new} == {(ra.pk, "FREQ=DAILY"), (rb.pk, "FREQ=WEEKLY")}
    assert sql.occurrences_claim_many(rows) == []
    assert sql.occurrences_claim_many([]) == []


def test_the_link_and_next_date_updates_write_each_rows_value(db):
    a, b, c = (TaskFactory(due_date=date(2025, 3, 1)) for _ in range(3))
    ra, rb = (
        Recurrence.objects.create(task=t, rule="FREQ=DAILY", starts_on=date(2025, 3, 1), next_on=date(2025, 3, 2))
        for t in (a, b)
    )
    first, second = (Occurrence.objects.create(recurrence=ra, on_date=date(2025, 3, d), rule="x") for d in (2, 3))
    before = Recurrence.objects.get(pk=ra.pk).updated_at

    sql.occurrences_link([(second.pk, c.pk), (first.pk, b.pk)])
    sql.recurrences_next_on_set([(rb.pk, None), (ra.pk, date(2025, 3, 4))])
    sql.occurrences_link([])

    assert dict(Occurrence.objects.values_list("pk", "task_id")) == {first.pk: b.pk, second.pk: c.pk}
    assert dict(Recurrence.objects.values_list("pk", "next_on")) == {ra.pk: date(2025, 3, 4), rb.pk: None}
    assert Recurrence.objects.get(pk=ra.pk).updated_at >= before


@pytest.fixture
def calendar_weeks(db):
    """Tasks over three days of two projects, with ties of status and priority, a trashed and an archived one."""
    from tasks.models import Priority

    first, second = ProjectFactory(), ProjectFactory()
    day = date(2028, 2, 10)
    made = []
    for i, (status, priority) in enumerate(
        [
            (Status.COMPLETED, Priority.URGENT),
            (Status.PENDING, Priority.LOW),
            (Status.IN_PROGRESS, Priority.URGENT),
            (Status.PENDING, Priority.HIGH),
            (Status.PENDING, Priority.HIGH),
            (Status.PENDING, Priority.URGENT),
        ]
    ):
        done = {"completed_at": NOW} if status == Status.COMPLETED else {}
        made.append(
            TaskFactory(project=first if i % 2 else second, status=status, priority=priority, due_date=day, **done)
        )
    made.append(TaskFactory(project=first, due_date=date(2028, 2, 11)))
    made.append(TaskFactory(project=first, due_date=date(2028, 2, 12), deleted_at=NOW))
    made.append(TaskFactory(project=first, due_date=date(2028, 2, 12), archived_at=NOW))
    made.append(TaskFactory(project=first, due_date=date(2028, 2, 14)))  # past the range
    return {"first": first, "second": second, "tasks": made}


@pytest.mark.parametrize("per_day", [1, 2, 4, 10])
@pytest.mark.parametrize("narrow", ["all", "first project", "pending"])
def test_the_calendar_firsts_are_each_days_first_tasks_in_the_calendar_order(calendar_weeks, per_day, narrow):
    from tasks.models import Task
    from tasks.selectors import CALENDAR_ORDER

    qs = Task.objects.active()
    if narrow == "first project":
        qs = qs.filter(project=calendar_weeks["first"])
    elif narrow == "pending":
        qs = qs.filter(status=Status.PENDING)
    start, end = date(2028, 2, 9), date(2028, 2, 13)

    lateral = sql.calendar_day_firsts(qs.order_by(*CALENDAR_ORDER), start=start, end=end, per_day=per_day)

    order = ("due_date", *CALENDAR_ORDER)
    picked = list(Task.objects.filter(pk__in=lateral).order_by(*order).values_list("pk", flat=True))
    # By hand: on the 10th open ones first (pending > in progress > completed), then by priority, then the oldest.
    t = calendar_weeks["tasks"]
    tenth = {
        "all": [t[5], t[3], t[4], t[1], t[2], t[0]],
        "first project": [t[5], t[3], t[1]],
        "pending": [t[5], t[3], t[4], t[1]],
    }[narrow]
    eleventh = [t[6]]  # the 12th has only a trashed and an archived task; the 14th is past the range
    assert picked == [task.pk for task in tenth[:per_day] + eleventh]


def test_the_calendar_firsts_of_a_queryset_of_nothing_are_nothing(calendar_weeks):
    from tasks.models import Task

    none = sql.calendar_day_firsts(Task.objects.none(), start=date(2028, 2, 9), end=date(2028, 2, 13), per_day=4)
    assert list(Task.objects.filter(pk__in=none)) == []
