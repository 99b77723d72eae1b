"""The task list's CSV on a big project: time and the serving process's memory for a million rows.

Runs the real view (tasks/views/export.py) in a fresh process through Django's test client, signed in as the
project's owner, and reads the streamed answer block by block as a client would, while a thread samples the
process's resident memory (VmRSS) every 5 ms; the peak is also checked against getrusage's ru_maxrss. Each run
is a fresh process, so the figures include importing Django and the first query.

The database is one filled by `seed_demo --tasks N` (docs/performance.md). seed_demo spreads its tasks over two
projects; `--gather` first moves every task of the demo team into its first project, so that one list holds
them all (it writes: use a database of your own, not a shared one):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aether_mail_1m \
      .venv/bin/python bench/csv_bench.py --gather --runs 3

Prints, per run and kind of export (every task; a filtered list), rows, megabytes, seconds to the first block,
seconds in all, the CPU seconds the database backend and the serving process spent on it (what the export
costs whatever else the machine runs: on a busy machine the wall time stretches, the CPU time does not), and
the peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXPORTS = {"all": "", "filtered": "?status=pending&priority=high&ordering=-due_date"}


def _env() -> dict:
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/aether_mail_1m")
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    env.update(
        SECRET_KEY=env.get("SECRET_KEY", "bench-only-secret-0123456789"),
        ALLOWED_HOSTS="testserver",
        SECURE_SSL_REDIRECT="false",
        SESSION_COOKIE_SECURE="false",
        DEBUG="0",
        AETHER_ENV_FILE="",
        DJANGO_SETTINGS_MODULE="aether.settings",
    )
    return env


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _cpu_of(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, from /proc (the database backend's too)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child(kind: str, email: str) -> dict:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings

    settings.STORAGES = {  # no manifest needed: the CSV renders no template
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    from django.test import Client
    from django.urls import reverse

    from accounts.models import User
    from tasks.models import Project

    user = User.objects.get(email=email)
    project = Project.objects.filter(team__memberships__user=user).order_by("pk").first()
    client = Client()
    client.force_login(user)
    url = reverse("tasks:task_list_csv", args=[project.pk]) + EXPORTS[kind]

    peak, stop = [_rss_mb()], threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], _rss_mb())
            time.sleep(0.005)

    from django.db import connection

    with connection.cursor() as cursor:  # the request runs in this thread: on this connection, this backend
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    backend_cpu, own_cpu = _cpu_of(backend), _own_cpu()
    sampler = threading.Thread(target=sample, daemon=True)
    rss_before = _rss_mb()
    sampler.start()
    started = time.perf_counter()
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    first = None
    size = lines = 0
    for block in response.streaming_content:
        if first is None:
            first = time.perf_counter() - started
        size += len(block)
        lines += block.count(b"\n")
    total = time.perf_counter() - started
    backend_cpu, own_cpu = _cpu_of(backend) - backend_cpu, _own_cpu() - own_cpu
    stop.set()
    sampler.join()
    return {
        "kind": kind,
        "rows": lines - 1,
        "mb": round(size / 1e6, 1),
        "first_block_s": round(first or total, 3),
        "total_s": round(total, 2),
        "db_cpu_s": round(backend_cpu, 2),  # the PostgreSQL backend's CPU time for the export
        "web_cpu_s": round(own_cpu, 2),  # this (the serving) process's, the memory sampler included
        "rss_before_mb": round(rss_before, 1),
        "peak_rss_mb": round(max(peak[0], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024), 1),
        "disposition": response["Content-Disposition"],
    }


def gather(env: dict) -> None:
    """Move the demo team's tasks into its first project (seed_demo splits them over two)."""
    import psycopg

    url = env["DATABASE_URL"].replace("postgres://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:
        first, team = conn.execute(
            "SELECT p.id, p.team_id FROM tasks_project p JOIN accounts_membership m ON m.team_id = p.team_id "
            "JOIN accounts_user u ON u.id = m.user_id WHERE u.email = 'alice@example.com' ORDER BY p.id LIMIT 1"
        ).fetchone()
        moved = conn.execute(
            "UPDATE tasks_task SET project_id = %s WHERE project_id IN "
            "(SELECT id FROM tasks_project WHERE team_id = %s AND id <> %s)",
            [first, team, first],
        ).rowcount
        conn.execute("VACUUM (ANALYZE) tasks_task")
        print(f"moved {moved} tasks into project {first}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--email", default="alice@example.com")
    parser.add_argument("--gather", action="store_true", help="first move the team's tasks into one project")
    parser.add_argument("--child", choices=sorted(EXPORTS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.email)))
        return
    env = _env()
    if args.gather:
        gather(env)
    results: dict[str, list[dict]] = {kind: [] for kind in EXPORTS}
    for run in range(args.runs):
        for kind in EXPORTS:
            out = subprocess.run(
                [sys.executable, __file__, "--child", kind, "--email", args.email],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            )
            result = json.loads(out.stdout.strip().splitlines()[-1])
            results[kind].append(result)
            print(f"run {run + 1} {kind}: {json.dumps(result)}")
    for kind, runs in results.items():
        times = [r["total_s"] for r in runs]
        db_cpu = statistics.median(r["db_cpu_s"] for r in runs)
        web_cpu = statistics.median(r["web_cpu_s"] for r in runs)
        peak = max(r["peak_rss_mb"] for r in runs)
        print(
            f"{kind}: {runs[0]['rows']} rows, {runs[0]['mb']} MB; total median {statistics.median(times)} s "
            f"(min {min(times)}, max {max(times)}); first block median "
            f"{statistics.median(r['first_block_s'] for r in runs)} s; "
            f"CPU median: database {db_cpu} s, web {web_cpu} s; "
            f"peak RSS max {peak} MB"
        )


if __name__ == "__main__":
    main()
