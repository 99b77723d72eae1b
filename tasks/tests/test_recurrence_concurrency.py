"""Exactly once under concurrency, on PostgreSQL with real connections (as the deadline jobs' race test): four
runs of the recurrence job at once make each date of each series once, whether they skip the series another
run holds or wait for it and then find its dates claimed."""

from datetime import UTC, date, datetime

import pytest

from accounts.models import Membership
from accounts.tests.factories import TeamFactory, UserFactory
from aether.testing import run_concurrently
from notifications.models import Notification
from tasks import sql
from tasks.models import Occurrence, Recurrence, Task
from tasks.services.recurrence import recurrences_run
from tasks.tests.factories import ProjectFactory, StageFactory

NOW = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)


@pytest.fixture
def no_delivery_kick(monkeypatch):
    """The worker is not under test here; keep the after-commit kick off the shared broker."""
    from notifications import services

    monkeypatch.setattr(services, "delivery_enqueue_on_commit", lambda ids=None: None)


def daily_series(n: int) -> list[Task]:
    """n daily series in three time zones, each with its sources due 7 June and 3 dates due at NOW (8, 9, 10
    June: at 10:00 UTC it is 10 June in UTC, Paris and Auckland); half assigned, every one with a stage."""
    users = UserFactory.create_batch(3)
    projects = [ProjectFactory(team=TeamFactory(time_zone=tz)) for tz in ("UTC", "Pacific/Auckland", "Europe/Paris")]
    Membership.objects.bulk_create(Membership(team=p.team, user=u) for p in projects for u in users)
    sources = Task.objects.bulk_create(
        Task(
            project=projects[i % 3],
            title=f"Series {i}",
            created_by=users[i % 3],
            assignee=users[(i + 1) % 3] if i % 2 else None,
            due_date=date(2026, 6, 7),
        )
        for i in range(n)
    )
    for task in sources:
        StageFactory(task=task, order=1, name="Do it")
    Recurrence.objects.bulk_create(
        Recurrence(task=t, rule="FREQ=DAILY", starts_on=date(2026, 6, 7), next_on=date(2026, 6, 8)) for t in sources
    )
    return sources


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("skip_if_busy", [False, True], ids=["claims-only", "skip-locked"])
@pytest.mark.parametrize("chunk", [250, 7], ids=["one-chunk", "chunks-of-7"])
def test_four_concurrent_runs_make_each_occurrence_exactly_once(no_delivery_kick, skip_if_busy, chunk):
    daily_series(60)

    runs, errors = run_concurrently(lambda _: recurrences_run(now=NOW, skip_if_busy=skip_if_busy, chunk=chunk), 4)

    assert errors == []
    assert sum(r.failed for r in runs) == 0
    assert sum(r.created for r in runs) == 180
    assert Occurrence.objects.count() == 180
    assert Occurrence.objects.filter(task__isnull=True).count() == 0
    made = Task.objects.filter(occurrence__isnull=False)
    assert made.count() == 180
    assert sorted(set(made.values_list("due_date", flat=True))) == [
        date(2026, 6, 8),
        date(2026, 6, 9),
        date(2026, 6, 10),
    ]
    assert made.values("title", "due_date").distinct().count() == 180
    assert all(t.stages.count() == 1 for t in made)
    assert Notification.objects.filter(task__in=made).count() == 90  # the 30 assigned series, 3 dates each
    assert set(Recurrence.objects.values_list("next_on", flat=True)) == {date(2026, 6, 11)}

    again = recurrences_run(now=NOW)
    assert (again.series, again.created) == (0, 0)
    assert Task.objects.filter(occurrence__isnull=False).count() == 180


@pytest.mark.django_db(transaction=True)
def test_the_claim_alone_lets_one_of_four_racing_transactions_have_each_date():
    """Without any lock on the series: four transactions claim overlapping dates at once; each date goes to
    exactly one of them (the unique occurrence_once row, ON CONFLICT DO NOTHING)."""
    (source,) = daily_series(1)
    recurrence = Recurrence.objects.get(task=source)
    days = [date(2026, 6, d) for d in range(8, 28)]

    def claim(i):
        from django.db import transaction

        with transaction.atomic():
            return sql.occurrences_claim(recurrence_id=recurrence.pk, dates=days[i : i + 15], rule="FREQ=DAILY")

    claimed, errors = run_concurrently(claim, 4)

    assert errors == []
    every = [d for dates in claimed for d in dates]
    assert sorted(every) == days[:18]  # the union of 8..22, 9..23, 10..24, 11..25 June, each once
    assert Occurrence.objects.count() == 18
