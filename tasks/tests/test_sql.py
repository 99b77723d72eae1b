"""Each statement of tasks/sql.py against its ORM equivalent on the same small data."""

import threading
from datetime import UTC, date, datetime

import pytest
from django.db import connection, connections, transaction

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
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's advisory locks")
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


def test_the_link_and_next_date_updates_write_what_the_orm_would(db):
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
