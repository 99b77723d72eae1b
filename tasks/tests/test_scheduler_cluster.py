"""The cluster check: two `celery beat` processes and two workers, on PostgreSQL and Redis, run the overdue job
every second while tasks turn overdue under them. Each task is notified exactly once per due date.

Real deployments end up with two beats; this proves that doing every run twice (or more) does no harm. The
processes use the test database and a broker of their own (a private redis-server on a spare port), and are
all stopped at the end, whatever happens. Bounded: it gives up after 90 s.
"""

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from accounts.models import Membership
from accounts.tests.factories import TeamFactory, UserFactory
from aether.testing import PrivateRedis, database_url
from notifications.models import Notification, OutboxEmail
from tasks.deadlines import deadlines_at
from tasks.models import DeadlineNotice, Task
from tasks.tests.factories import ProjectFactory

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEADLINE_SECONDS = 90


def _stop(proc: subprocess.Popen) -> None:
    """Stop one process we started (its own session, so its group id is its pid), politely then firmly."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


@pytest.fixture
def processes(transactional_db):
    """Every process the test starts goes here; all are stopped before the test database is flushed."""
    started: list[subprocess.Popen] = []
    yield started
    for proc in reversed(started):
        _stop(proc)


@pytest.fixture
def broker_url(processes, tmp_path):
    redis = PrivateRedis(tmp_path).start()
    processes.append(redis.proc)  # stopped with the others, after the workers and beats that use it
    return redis.url


def _start(processes, args: list[str], log: Path, env: dict) -> None:
    processes.append(
        subprocess.Popen(
            [str(BIN / "celery"), "-A", "aether", *args],
            cwd=ROOT,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    )


def _wait_for(condition, *, until: float, what: str, logs: list[Path]) -> None:
    while not condition():
        if time.monotonic() > until:
            tails = "\n".join(f"--- {p.name}\n{p.read_text()[-2000:]}" for p in logs if p.exists())
            pytest.fail(f"timed out waiting for {what}\n{tails}")
        time.sleep(0.25)


def start_cluster(processes, broker_url: str, tmp_path: Path, *, job: str, name: str) -> list[Path]:
    """The schedule as deployed (setup_periodic_tasks), with `job` every second and every other job off, run by
    two `celery beat` processes and two solo workers named `name`-1 and -2 on this test database and the private
    Redis. Returns the four logs: beat 1, beat 2, worker 1, worker 2."""
    call_command("setup_periodic_tasks", stdout=StringIO())
    every_second, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.filter(name=job).update(interval=every_second, expire_seconds=30)
    PeriodicTask.objects.exclude(name=job).update(enabled=False)
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": broker_url,
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "AETHER_VAR_DIR": str(tmp_path),
        "DEBUG": "0",
        "CONN_MAX_AGE": "0",
    }
    logs = [tmp_path / log for log in ("beat1.log", "beat2.log", "worker1.log", "worker2.log")]
    scheduler = "django_celery_beat.schedulers:DatabaseScheduler"
    for i, log in enumerate(logs[:2], 1):
        beat_args = ["beat", "--loglevel=INFO", "--scheduler", scheduler, "--pidfile=", "-s", str(tmp_path / f"b{i}")]
        _start(processes, beat_args, log, env)
    for i, log in enumerate(logs[2:], 1):
        worker_args = ["worker", "--loglevel=INFO", "--pool=solo", "-n", f"{name}-{i}@%h", "--without-gossip",
                       "--without-mingle", "--without-heartbeat"]  # fmt: skip
        _start(processes, worker_args, log, env)
    return logs


@pytest.mark.slow
def test_two_beats_and_two_workers_notify_each_overdue_task_exactly_once(processes, broker_url, tmp_path):
    until = time.monotonic() + DEADLINE_SECONDS

    # Tasks due in ten days; the test moves their due dates into the past, batch by batch, while jobs run.
    team = TeamFactory(time_zone="Pacific/Auckland")
    today = deadlines_at().today(team.time_zone)
    projects = ProjectFactory.create_batch(2, team=team)
    users = UserFactory.create_batch(4)
    Membership.objects.bulk_create(Membership(team=team, user=u) for u in users)
    canary = Task.objects.create(
        project=projects[0], title="Canary", created_by=users[0], due_date=today - timedelta(1)
    )
    tasks = Task.objects.bulk_create(
        Task(project=projects[i % 2], title=f"Task {i}", created_by=users[i % 4], assignee=users[(i + 1) % 4],
             due_date=today + timedelta(days=10))
        for i in range(200)
    )  # fmt: skip
    ids = [t.pk for t in tasks]

    # The schedule as deployed, with overdue detection every second and nothing else competing for the CPU.
    logs = start_cluster(processes, broker_url, tmp_path, job="Overdue detection", name="h6-cluster")

    _wait_for(lambda: DeadlineNotice.objects.filter(task=canary).exists(), until=until, what="the first run", logs=logs)

    # Five batches of 40 tasks turn overdue, one every 1.5 s, while both beats keep sending the job.
    for start in range(0, 200, 40):
        Task.objects.filter(pk__in=ids[start : start + 40]).update(due_date=today - timedelta(days=1))
        time.sleep(1.5)
    # The first 20, once notified, get a new due date that passes too: a second event each.
    _wait_for(
        lambda: DeadlineNotice.objects.filter(task_id__in=ids[:20]).count() == 20,
        until=until,
        what="the first batch",
        logs=logs,
    )
    Task.objects.filter(pk__in=ids[:20]).update(due_date=today - timedelta(days=2))

    expected = 1 + 200 + 20
    _wait_for(lambda: DeadlineNotice.objects.count() >= expected, until=until, what="every notice", logs=logs)
    time.sleep(3)  # more runs over tasks already claimed: they must add nothing
    for proc in reversed(processes):
        _stop(proc)

    assert DeadlineNotice.objects.count() == expected
    for task_id in ids[:20]:
        assert DeadlineNotice.objects.filter(task_id=task_id).count() == 2
    for task_id in ids[20:]:
        assert DeadlineNotice.objects.filter(task_id=task_id).count() == 1
    assert OutboxEmail.objects.count() == expected
    assert Notification.objects.count() == expected
    assert OutboxEmail.objects.values("task_id", "context__due_date").distinct().count() == expected

    # It really was a cluster: both beats sent the job, and the workers ran it many times.
    beat_sends = [len(re.findall(r"Sending due task Overdue detection", log.read_text())) for log in logs[:2]]
    runs = [len(re.findall(r"Task tasks\.notify_overdue\[[^\]]+\] succeeded", log.read_text())) for log in logs[2:]]
    assert all(n >= 1 for n in beat_sends), beat_sends
    assert sum(runs) >= 10, runs
