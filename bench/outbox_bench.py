"""Benchmark of the email outbox: throughput of one worker, and commit-to-send latency with an idle worker.

    .venv/bin/python bench/outbox_bench.py                  # 10,000 emails, 200 latency samples
    .venv/bin/python bench/outbox_bench.py --emails 2000 --samples 50

Needs PostgreSQL on localhost (the database `aether_bench_outbox` is created if missing, migrated, and its
outbox emptied on every run) and the `redis-server` binary: the broker is a redis-server of the benchmark's
own on a spare port, stopped at the end. One real `celery worker` (-c 1 unless --concurrency) delivers through Django's
in-memory email backend (locmem), so the figures are the outbox's own cost, not a provider's.

1. Throughput, rendered rows: 10,000 emails written by the services (email_enqueue, 100 per transaction,
   so 100 delivery messages of 100 row ids) while no worker runs; then the worker starts and drains them.
2. Throughput, context-only rows: 10,000 rows written set-based with blank bodies (as the deadline jobs
   write them); one sweep message; the worker renders each email before sending it.
3. Latency: the worker idle, one email per transaction, one every 50 ms; latency = the row's sent_at (the
   database clock) minus the moment the writer's COMMIT returned (the same host's clock).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aether.testing import PrivateRedis, wait_for  # noqa: E402

DB = os.environ.get("AETHER_BENCH_DB", "aether_bench_outbox")  # another name when several people share one server


def _create_database() -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB]).fetchone():
            conn.execute(f'CREATE DATABASE "{DB}"')


class Services:
    """The benchmark's own redis-server and celery worker; both stopped at the end, whatever happens."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.redis = PrivateRedis(tmp)
        self.broker = self.redis.url
        self.worker = None

    def start_redis(self) -> None:
        self.redis.start()

    def start_worker(self, concurrency: int) -> float:
        """Start one worker process; returns the monotonic time at which it said it was ready."""
        log = self.tmp / "worker.log"
        env = {
            **os.environ,
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "LOG_LEVEL": "WARNING",
        }
        self.worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "aether",
                "worker",
                "-c",
                "1",
                "-P",
                "prefork",
                "-l",
                "info",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(lambda: b"ready." in log.read_bytes(), 60, "the worker")
        return time.monotonic()

    def stop(self) -> None:
        if self.worker is not None and self.worker.poll() is None:
            os.killpg(self.worker.pid, signal.SIGTERM)
            try:
                self.worker.wait(20)
            except subprocess.TimeoutExpired:
                self.worker.kill()
        self.redis.stop()


def _django(broker: str) -> None:
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{DB}"
    os.environ["REDIS_URL"] = broker
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production-0123456789")
    os.environ["DEBUG"] = "0"  # DEBUG would keep every query in memory
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aether.settings")
    os.environ["PYTHONPATH"] = str(ROOT)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _reset() -> None:
    from notifications.models import OutboxEmail

    OutboxEmail.objects.all().delete()


def _wait_all_sent(n: int, timeout: float) -> float:
    from notifications.models import OutboxEmail, OutboxState

    wait_for(lambda: OutboxEmail.objects.filter(status=OutboxState.SENT).count() >= n, timeout, f"{n} sent")
    return time.monotonic()


def _span(n: int) -> float:
    """Seconds between the first and the last sent_at: the delivery itself, by the database clock."""
    from django.db.models import Max, Min

    from notifications.models import OutboxEmail

    got = OutboxEmail.objects.aggregate(first=Min("sent_at"), last=Max("sent_at"))
    return (got["last"] - got["first"]).total_seconds()


def throughput_rendered(svc: Services, n: int, concurrency: int) -> dict:
    from django.db import transaction

    from notifications.models import Kind
    from notifications.services import email_enqueue

    _reset()
    started = time.monotonic()
    for start in range(0, n, 100):
        with transaction.atomic():
            for i in range(start, min(start + 100, n)):
                email_enqueue(
                    kind=Kind.TASK_ASSIGNED,
                    recipient=f"person{i}@example.test",
                    dedupe_key=f"bench:rendered:{i}",
                    context={"recipient_name": "Ann", "actor_name": "Bob", "message": f"Email {i}", "url": "/t/1/"},
                )
    written = time.monotonic() - started
    ready = svc.start_worker(concurrency)
    done = _wait_all_sent(n, 600)
    return {"write_s": written, "drain_s": done - ready, "span_s": _span(n)}


def throughput_context_only(n: int) -> dict:
    from django.db import transaction
    from django.utils import timezone

    from notifications.models import Kind, OutboxEmail
    from notifications.services import delivery_enqueue_on_commit

    _reset()
    now = timezone.now()
    with transaction.atomic():
        OutboxEmail.objects.bulk_create(
            (
                OutboxEmail(
                    recipient=f"person{i}@example.test",
                    subject="",
                    kind=Kind.TASK_OVERDUE,
                    dedupe_key=f"bench:context:{i}",
                    context={"recipient_name": "Ann", "message": f"Task {i} is overdue.", "url": "/t/1/"},
                    next_attempt_at=now,
                )
                for i in range(n)
            ),
            batch_size=2000,
        )
        delivery_enqueue_on_commit()  # one "deliver what is due" message, as the deadline jobs send
    started = time.monotonic()
    done = _wait_all_sent(n, 600)
    return {"drain_s": done - started, "span_s": _span(n)}


def latency(samples: int) -> list[float]:
    from django.db import transaction

    from notifications.models import Kind, OutboxEmail, OutboxState
    from notifications.services import email_enqueue

    _reset()
    time.sleep(1)  # the worker is idle
    committed = {}
    for i in range(samples):
        with transaction.atomic():
            email_enqueue(
                kind=Kind.TASK_ASSIGNED,
                recipient=f"late{i}@example.test",
                dedupe_key=f"bench:latency:{i}",
                context={"recipient_name": "Ann", "message": f"Email {i}"},
            )
        committed[f"late{i}@example.test"] = datetime.now(UTC)
        time.sleep(0.05)
    _wait_all_sent(samples, 60)
    rows = OutboxEmail.objects.filter(status=OutboxState.SENT).values_list("recipient", "sent_at")
    return sorted((sent_at - committed[r]).total_seconds() for r, sent_at in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--emails", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=1, help="pool processes of the one worker (default 1)")
    args = parser.parse_args()
    _create_database()
    tmp = Path(tempfile.mkdtemp(prefix="outbox-bench-"))
    svc = Services(tmp)
    try:
        svc.start_redis()
        _django(svc.broker)
        print(f"one celery worker, {args.concurrency} pool process(es)")
        r = throughput_rendered(svc, args.emails, args.concurrency)
        print(
            f"rendered rows: {args.emails} written by the services in {r['write_s']:.1f} s; one worker drained them "
            f"in {r['drain_s']:.2f} s from ready ({args.emails / r['drain_s']:,.0f}/s); first to last send "
            f"{r['span_s']:.2f} s ({args.emails / r['span_s']:,.0f}/s)"
        )
        c = throughput_context_only(args.emails)
        print(
            f"context-only rows (rendered by the worker): {args.emails} drained in {c['drain_s']:.2f} s "
            f"({args.emails / c['drain_s']:,.0f}/s); first to last send {c['span_s']:.2f} s "
            f"({args.emails / c['span_s']:,.0f}/s)"
        )
        lat = latency(args.samples)
        q = statistics.quantiles(lat, n=100)
        print(
            f"commit-to-send latency, idle worker, {len(lat)} emails: p50 {q[49] * 1000:.0f} ms, "
            f"p95 {q[94] * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms"
        )
    finally:
        svc.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
