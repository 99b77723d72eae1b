"""Exactly once under concurrency, on PostgreSQL with real connections: overlapping runs of the overdue job
claim each task once, whether or not the advisory lock spares them the overlap. And the same code on SQLite."""

import json
import os
import subprocess
import sys
import threading
from datetime import UTC, date, datetime
from pathlib import Path

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
ROOT = Path(__file__).resolve().parents[2]


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
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL")
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
    if connection.vendor != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's")
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


SQLITE_SCRIPT = """
import json
from datetime import UTC, date, datetime
from accounts.models import Membership, Team, User
from tasks.services import deadline_notices as deadlines
from notifications.models import Notification, NotificationPreference, OutboxEmail
from tasks.models import DeadlineNotice, Project, Task

now = datetime(2025, 3, 10, 11, 30, tzinfo=UTC)
ann = User.objects.create_user(email="ann@example.test", full_name="Ann Smith")
quiet = User.objects.create_user(email="quiet@example.test")
NotificationPreference.objects.create(user=quiet, kind="task_overdue", email=False, in_app=True)
auckland = Project.objects.create(team=Team.objects.create(name="A", slug="a", time_zone="Pacific/Auckland"), name="P")
la = Project.objects.create(team=Team.objects.create(name="L", slug="l", time_zone="America/Los_Angeles"), name="Q")
for team_id in (auckland.team_id, la.team_id):
    Membership.objects.create(team_id=team_id, user=ann)
    Membership.objects.create(team_id=team_id, user=quiet)
t1 = Task.objects.create(project=auckland, title="Due 10th in Auckland", created_by=ann, due_date=date(2025, 3, 10))
t2 = Task.objects.create(project=la, title="Due 10th in LA", created_by=ann, due_date=date(2025, 3, 10))
t3 = Task.objects.create(project=la, title="Due 9th in LA", created_by=ann, assignee=quiet, due_date=date(2025, 3, 9))
first = deadlines.overdue_notify(now=now)
second = deadlines.overdue_notify(now=now)
soon = deadlines.due_soon_notify(now=now)
from datetime import timedelta
from tasks.services.archiving import completed_tasks_archive
from tasks.models import Activity
Task.objects.create(project=la, title="Done long ago", created_by=ann, status="completed",
                    completed_at=now - timedelta(days=40))
archived = [completed_tasks_archive(now=now).archived, completed_tasks_archive(now=now).archived]
email = OutboxEmail.objects.get(task=t1)
print(json.dumps({
    "first": [first.claimed, first.emails, first.in_app],
    "second": [second.claimed, second.emails, second.in_app],
    "soon": [soon.claimed, soon.emails, soon.in_app],
    "overdue_tasks": sorted(DeadlineNotice.objects.filter(kind="overdue").values_list("task__title", flat=True)),
    "context": email.context,
    "dedupe_key": email.dedupe_key == f"task:{t1.pk}:overdue:2025-03-10:{ann.pk}",
    "next_attempt_at_is_aware": email.next_attempt_at.tzinfo is not None,
    "notifications": Notification.objects.count(),
    "archived": archived,
    "archived_activities": list(Activity.objects.filter(verb="archived").values_list("task__title", "actor")),
}))
"""


@pytest.mark.slow
def test_the_same_jobs_are_correct_on_sqlite(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "AETHER_VAR_DIR": str(tmp_path),
        "CELERY_BROKER_URL": "memory://",
        "REDIS_URL": "",
        "DJANGO_SETTINGS_MODULE": "aether.settings",
    }
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True, timeout=180)
    out = subprocess.run(
        [python, "manage.py", "shell", "-c", SQLITE_SCRIPT],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])

    assert result["first"] == [2, 1, 2]  # t1 (Auckland) and t3; quiet has email off
    assert result["second"] == [0, 0, 0]
    assert result["soon"] == [1, 1, 1]  # t2, due today in Los Angeles
    assert result["overdue_tasks"] == ["Due 10th in Auckland", "Due 9th in LA"]
    assert result["context"]["recipient_name"] == "Ann"
    assert result["context"]["message"] == "“Due 10th in Auckland” was due on 2025-03-10 and is overdue."
    assert result["dedupe_key"] is True
    assert result["next_attempt_at_is_aware"] is True
    assert result["notifications"] == 3
    assert result["archived"] == [1, 0]
    assert result["archived_activities"] == [["Done long ago", None]]
