"""Fault tests with real processes: a `celery worker` killed with SIGKILL mid-batch, and Redis going away.

Each test starts its own redis-server on a spare port (the shared Redis keeps serving the other tests) and
its own worker processes on the test database, with an email backend that logs every send to a file, and
kills everything it started, pass or fail.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.db import transaction

from aether.testing import PrivateRedis, database_url, wait_for
from notifications import services
from notifications import tasks as outbox_tasks
from notifications.models import Kind, OutboxEmail, OutboxState

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

LEASE = 4  # seconds: short, so a dead worker's rows come back within the test


class Fleet:
    """Worker processes and redis-servers started by one test; all killed at the end."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.send_log = tmp / "sends.log"
        self.send_log.touch()
        self.workers: list[subprocess.Popen] = []
        self.redises: list[PrivateRedis] = []

    def redis(self) -> PrivateRedis:
        r = PrivateRedis(self.tmp)
        r.start()
        self.redises.append(r)
        return r

    def worker(self, broker: str, *, name: str, concurrency: int = 2, send_delay: float = 0.0) -> subprocess.Popen:
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "REDIS_URL": broker,
            "EMAIL_BACKEND": "notifications.tests.backends.SendLogBackend",
            "AETHER_TEST_SEND_LOG": str(self.send_log),
            "AETHER_TEST_SEND_DELAY": str(send_delay),
            "AETHER_OUTBOX_LEASE_SECONDS": str(LEASE),
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "PYTHONPATH": str(settings.BASE_DIR),
        }
        log = open(self.tmp / f"worker-{name}.log", "wb")  # noqa: SIM115 -- closed with the process
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "aether",
                "worker",
                "-n",
                f"{name}@%h",
                "-P",
                "prefork",
                "-c",
                str(concurrency),
                "-l",
                "info",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: SIGKILL reaches the pool children too
        )
        self.workers.append(proc)
        log_path = self.tmp / f"worker-{name}.log"
        wait_for(lambda: b"ready." in log_path.read_bytes() or proc.poll() is not None, 60, f"worker {name}")
        assert proc.poll() is None, log_path.read_text()
        return proc

    @staticmethod
    def kill(proc: subprocess.Popen):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def sends(self) -> tuple[Counter, Counter]:
        """(begun, sent): how many times each recipient's send began, and was accepted."""
        begun, sent = Counter(), Counter()
        for line in self.send_log.read_text().splitlines():
            what, recipient, _pid = line.split()
            (begun if what == "begin" else sent)[recipient] += 1
        return begun, sent

    def close(self):
        for proc in self.workers:
            self.kill(proc)
        for r in self.redises:
            r.crash()


@pytest.fixture
def fleet(tmp_path):
    f = Fleet(tmp_path)
    yield f
    f.close()


@pytest.fixture
def kicks_to(monkeypatch):
    """Send the after-commit kicks (and sweeps) to a broker of the test's own, through a Celery client."""
    state = {}

    def point_at(url: str):
        state["client"] = Celery(broker=url, set_as_current=False)
        # The deployment's transport options (its key prefix included, as the workers have it), failing faster.
        state["client"].conf.broker_transport_options = {
            **settings.CELERY_BROKER_TRANSPORT_OPTIONS,
            "socket_connect_timeout": 2,
        }

    def kick(args=(), **kwargs):
        state["client"].send_task(
            "notifications.deliver_outbox_emails",
            args=args,
            retry=kwargs.get("retry", True),
            retry_policy=kwargs.get("retry_policy"),
        )

    monkeypatch.setattr(outbox_tasks.deliver_outbox_emails, "apply_async", kick)
    point_at.sweep = lambda: state["client"].send_task("notifications.deliver_outbox")
    return point_at


def _enqueue(first: int, count: int, per_transaction: int = 100):
    for start in range(first, first + count, per_transaction):
        with transaction.atomic():
            for i in range(start, min(start + per_transaction, first + count)):
                services.email_enqueue(
                    kind=Kind.TASK_ASSIGNED,
                    recipient=f"r{i}@example.test",
                    dedupe_key=f"fault:{i}",
                    context={"recipient_name": "R", "message": f"Email {i}"},
                )


def _all_sent(n: int) -> bool:
    return OutboxEmail.objects.filter(status=OutboxState.SENT).count() == n


def test_a_worker_killed_mid_batch_loses_nothing_and_duplicates_only_what_it_was_sending(fleet, kicks_to):
    redis = fleet.redis()
    kicks_to(redis.url)
    first = fleet.worker(redis.url, name="first", concurrency=2, send_delay=0.004)

    _enqueue(0, 1000)  # ten transactions of 100: ten messages with row ids
    wait_for(
        lambda: (
            sum(fleet.sends()[1].values()) >= 300 and OutboxEmail.objects.filter(status=OutboxState.SENDING).exists()
        ),
        60,
        "the first worker to be under way, holding claimed rows",
    )  # a batch claimed and not yet all sent: the kill lands in the middle (on a busy machine, not between batches)
    fleet.kill(first)  # SIGKILL, main process and pool children at once

    begun_before, sent_before = fleet.sends()
    marked_sent = set(OutboxEmail.objects.filter(status=OutboxState.SENT).values_list("recipient", flat=True))
    held = OutboxEmail.objects.filter(status=OutboxState.SENDING).count()
    # 300 sends had begun; each of the two pool processes may have been killed between its send and its mark.
    assert 300 - 2 <= len(marked_sent) < 1000, "the kill must land in the middle of the batch"
    in_doubt = set(begun_before) - marked_sent  # a send had begun, the row was not yet marked sent
    assert len(in_doubt) <= 2  # at most one row per pool process
    assert held > 0  # the dead worker still holds claimed rows under its lease

    fleet.worker(redis.url, name="second", concurrency=2)
    # celery beat's sweep, every 2 s instead of 60: the dead worker's rows come back when their lease expires
    deadline = time.monotonic() + 60
    while not _all_sent(1000) and time.monotonic() < deadline:
        kicks_to.sweep()
        time.sleep(2)

    assert _all_sent(1000)
    _begun, sent = fleet.sends()
    assert set(sent) == {f"r{i}@example.test" for i in range(1000)}  # every row was sent
    duplicates = {r for r, n in sent.items() if n > 1}
    assert duplicates <= in_doubt, "a row was sent twice although its send had not begun when the worker died"
    assert max(sent.values()) <= 2
    assert sum(sent_before.values()) <= len(marked_sent) + len(in_doubt)


def test_redis_gone_while_rows_are_queued_then_back_every_row_is_sent_once(fleet, kicks_to, caplog):
    redis = fleet.redis()
    kicks_to(redis.url)
    fleet.worker(redis.url, name="steady", concurrency=1)
    _enqueue(0, 100)
    wait_for(lambda: _all_sent(100), 30, "the first 100 to be sent")

    redis.crash()  # everything Redis held is gone with it
    started = time.monotonic()
    _enqueue(100, 200, per_transaction=50)  # the kicks cannot reach the broker
    assert time.monotonic() - started < 15  # ... and do not hold the writers up for long
    assert "the outbox sweep will deliver" in caplog.text
    assert OutboxEmail.objects.filter(status=OutboxState.PENDING).count() == 200  # committed all the same

    redis.start()  # same port: the worker reconnects
    deadline = time.monotonic() + 90
    while not _all_sent(300) and time.monotonic() < deadline:
        with contextlib.suppress(Exception):  # the broker may still be coming back
            kicks_to.sweep()
        time.sleep(2)

    assert _all_sent(300)
    _, sent = fleet.sends()
    assert len(sent) == 300
    assert set(sent.values()) == {1}
