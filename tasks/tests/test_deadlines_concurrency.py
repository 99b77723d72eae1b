"""Exactly once under concurrency, with real connections: overlapping runs of the overdue job claim each task
once, whether or not the advisory lock spares them the overlap."""

import threading
from datetime import UTC, date, datetime

import pytest
from django.db import connection

from accounts.models import Membership
from accounts.tests.factories import TeamFactory, UserFactory
from aether.testing import run_concurrently
from notifications.models import Notification, OutboxEmail
from tasks.models import DeadlineNotice, Task
from tasks.services import deadline_notices as deadlines
from tasks.tests.factories import ProjectFactory

NOW = datetime(2025, 3, 10, 11, 30, tzinfo=UTC)


@pytest.fixture
def no_delivery_kick(monkeypatch):
    """The worker is not under test here; keep the after-commit kick off the shared broker."""
    from notifications import services

    monkeypatch.setattr(services, "delivery_enqueue_on_commit", lambda ids=None: None)


def overdue_tasks(n: int) -> None:
    users = UserFactory.create_batch(5)
    projects = [ProjectFactory(team=TeamFactory(time_zone=tz)) for tz in ("UTC", "Pacific/Auckland", "Europe/Paris")]
    Membership.objects.bulk_create(Membership(team=p.team, user=u) for p in projects for u in users)
    Task.objects.bulk_create(
        Task(
            project=projects[i % 3],
            title=f"Overdue {i}",
            created_by=users[i % 5],
            assignee=users[(i + 2) % 5] if i % 4 else None,
            due_date=date(2025, 3, 1 + i % 8),
        )
        for i in range(n)
    )


def overdue_runs_at_once(n_runs: int, *, skip_if_busy: bool) -> tuple[list, list]:
    return run_concurrently(lambda _: deadlines.overdue_notify(now=NOW, skip_if_busy=skip_if_busy), n_runs)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("skip_if_busy", [False, True], ids=["claims-only", "with-advisory-lock"])
def test_four_concurrent_runs_notify_a_thousand_overdue_tasks_exactly_once(no_delivery_kick, skip_if_busy):
    overdue_tasks(1000)

    runs, errors = overdue_runs_at_once(4, skip_if_busy=skip_if_busy)

    assert errors == []
    assert len(runs) == 4
    assert sum(r.claimed for r in runs) == 1000
    assert sum(r.emails for r in runs) == 1000
    assert sum(r.in_app for r in runs) == 1000
    assert DeadlineNotice.objects.count() == 1000
    assert OutboxEmail.objects.count() == 1000
    assert Notification.objects.count() == 1000
    assert OutboxEmail.objects.values("task_id").distinct().count() == 1000

    later = deadlines.overdue_notify(now=NOW)
    assert (later.claimed, later.emails, later.in_app) == (0, 0, 0)
    assert (DeadlineNotice.objects.count(), OutboxEmail.objects.count(), Notification.objects.count()) == (
        1000,
        1000,
        1000,
    )


@pytest.mark.django_db(transaction=True)
def test_a_run_skips_while_another_holds_the_lock_and_catches_up_after(no_delivery_kick):
    overdue_tasks(10)
    holding, release, done = threading.Event(), threading.Event(), threading.Event()
    key = deadlines._advisory_key("overdue")

    def hold():
        from django.db import transaction

        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
                holding.set()
                release.wait(30)
        finally:
            connection.close()
            done.set()

    threading.Thread(target=hold).start()
    assert holding.wait(30)
    try:
        skipped = deadlines.overdue_notify(now=NOW)
    finally:
        release.set()
        done.wait(30)

    assert skipped.skipped is True
    assert DeadlineNotice.objects.count() == 0
    assert deadlines.overdue_notify(now=NOW).claimed == 10
