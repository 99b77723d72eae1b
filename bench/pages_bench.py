"""Time of the HTML pages on a big database, over HTTP under gunicorn: My work, a board, lists, a task, Projects.

Run against a database filled by `seed_demo --tasks N` (see docs/performance.md), as the demo member bob:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aether_seedbench .venv/bin/python bench/pages_bench.py

By default it starts gunicorn (the Procfile's `web`: gunicorn.conf.py, DEBUG off, WEB_CONCURRENCY=2) on a
free port of 127.0.0.1, signs bob in (a session row, sent as the cookie), and times each page from the
request's first byte to the last byte of the response over one kept-alive connection, after a warm-up: the
median (p50), p95 and max, and the CPU time a request cost the gunicorn workers and the PostgreSQL backends
serving them (from /proc: on a machine busy with other work the wall-clock times grow with the wait for a
core; the CPU time is what a request costs once it has one). `--in-process` instead renders through
Django's test client (no socket, no gunicorn) and reports the SQL time and the number of queries. It exits
1 if a page's p50 is over `--budget` milliseconds (100 by default).
"""

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aether.settings")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1")  # --in-process: Django's test client's host
os.environ.setdefault("DEBUG", "1")  # this process only reads the database; gunicorn runs with DEBUG off
# One key for both processes: the session this process writes must be valid in gunicorn.
os.environ.setdefault("SECRET_KEY", "bench-only-secret-0123456789-abcdefghijklmnopqrstuvwxyz")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from accounts.models import User  # noqa: E402
from aether.testing import free_port, wait_for  # noqa: E402
from tasks.models import Project, Task  # noqa: E402


def pages_of(email: str) -> tuple[dict[str, str], str]:
    project = (
        Project.objects.filter(team__memberships__user__email=email)
        .order_by("-id")
        .first()  # the demo's big project: the generated tasks go to the newest one
    )
    task = Task.objects.filter(project=project, deleted_at__isnull=True, stages__isnull=False).order_by("-id").first()
    tasks = Task.objects.filter(project=project).count()
    summary = f"{Task.objects.count():,} tasks in all, {tasks:,} in project {project.name!r}"
    pages = {
        "My work": "/my-work/",
        "Board": f"/projects/{project.pk}/",
        "List (page 1: open first)": f"/projects/{project.pk}/list/",
        "List, page 200": f"/projects/{project.pk}/list/?page=200",
        "List, in progress by priority": f"/projects/{project.pk}/list/?status=in_progress&ordering=-priority",
        "List by priority": f"/projects/{project.pk}/list/?ordering=-priority",
        "List by due date": f"/projects/{project.pk}/list/?ordering=due_date",
        "List, oldest first": f"/projects/{project.pk}/list/?ordering=created_at",
        "List, overdue only": f"/projects/{project.pk}/list/?overdue=true",
        "Task page": f"/tasks/{task.pk}/",
        "Projects": "/projects/",
        "Templates": "/templates/",
        "Trash": "/trash/",
        "Archive": "/archive/",
        "Notifications": "/notifications/",
        "Search (one word)": "/search/?q=login",
        "Calendar (this month)": "/calendar/",
        "Calendar, the big project": f"/calendar/?project={project.pk}",
        "Dashboard (last 30 days)": "/dashboard/",
        "Dashboard, the big project, all time": f"/dashboard/?project={project.pk}&range=all",
        "Profile": "/accounts/profile/",
    }
    return pages, summary


def percentiles(times: list[float]) -> tuple[float, float, float]:
    return statistics.median(times), statistics.quantiles(times, n=20)[-1], max(times)


class Gunicorn:
    """The Procfile's web process on a free port, with a production-like environment (DEBUG off)."""

    def __init__(self, workers: int):
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="aether-bench-gunicorn-", suffix=".log", delete=False)  # noqa: SIM115
        env = {
            **os.environ,
            "DEBUG": "0",
            "SECRET_KEY": os.environ["SECRET_KEY"],
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "false",
            "SESSION_COOKIE_SECURE": "false",
            "CSRF_COOKIE_SECURE": "false",
            "PORT": str(self.port),
            "WEB_CONCURRENCY": str(workers),
            "LOG_LEVEL": "WARNING",
        }
        # As a release does: the manifest of hashed static files that DEBUG-off pages link to (minutes on a
        # busy machine, as whitenoise compresses every file: only when static/ changed since the last one).
        manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
        newest = max(f.stat().st_mtime for f in (ROOT / "static").rglob("*") if f.is_file())
        if not manifest.exists() or manifest.stat().st_mtime < newest:
            subprocess.run(
                [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
            )
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                str(ROOT / "gunicorn.conf.py"),
                "--access-logfile",
                os.devnull,
                "aether.asgi",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_for(self.answers, 60, "gunicorn")

    def answers(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited: see {self.log.name}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            return True
        except OSError:
            return False

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pids) -> dict[int, float]:
    """User + system CPU seconds of each process still alive (Linux /proc)."""
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return out


def serving_pids(server: "Gunicorn") -> list[int]:
    """The gunicorn workers and the PostgreSQL backends of this database other than this process's own."""
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text().split()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        backends = [row[0] for row in cursor.fetchall()]
    return [int(pid) for pid in children] + backends


def session_cookie(email: str) -> str:
    """A signed-in session for the user, as the browser would send it (the session row is in the database)."""
    client = Client()
    client.force_login(User.objects.get(email=email))
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def bench_http(pages: dict[str, str], args) -> dict[str, float]:
    server = Gunicorn(args.workers)
    medians = {}
    try:
        cookie = session_cookie(args.email)
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        headers = {"Cookie": cookie, "Host": "127.0.0.1", "Connection": "keep-alive"}

        def get(url: str) -> tuple[int, int]:
            conn.request("GET", url, headers=headers)
            response = conn.getresponse()
            return response.status, len(response.read())

        print(
            f"gunicorn, {args.workers} workers, port {server.port}; {args.repeat} requests a page, {args.warmup} first"
        )
        print(f"{'page':<34} {'p50':>8} {'p95':>8} {'max':>8} {'CPU/req':>8} {'bytes':>8}")
        for name, url in pages.items():
            for _ in range(args.warmup):
                status, size = get(url)
                assert status == 200, (url, status)
            times = []
            before = cpu_seconds(serving_pids(server))
            for _ in range(args.repeat):
                start = time.perf_counter()
                status, size = get(url)
                times.append((time.perf_counter() - start) * 1000)
                assert status == 200, (url, status)
            after = cpu_seconds(serving_pids(server))
            cpu = sum(t - before.get(pid, 0.0) for pid, t in after.items()) * 1000 / args.repeat
            p50, p95, top = percentiles(times)
            medians[name] = p50
            print(f"{name:<34} {p50:>6.1f}ms {p95:>6.1f}ms {top:>6.1f}ms {cpu:>6.1f}ms {size:>8}")
    finally:
        server.stop()
    return medians


def bench_in_process(pages: dict[str, str], args) -> dict[str, float]:
    client = Client()
    client.force_login(User.objects.get(email=args.email))
    medians = {}
    print(f"in-process (Django's test client); {args.repeat} runs a page")
    print(f"{'page':<34} {'p50':>8} {'p95':>8} {'SQL p50':>8} {'queries':>8}")
    for name, url in pages.items():
        for _ in range(args.warmup):
            assert client.get(url).status_code == 200, url
        totals, sql = [], []
        for _ in range(args.repeat):
            with CaptureQueriesContext(connection) as ctx:
                start = time.perf_counter()
                client.get(url)
                totals.append((time.perf_counter() - start) * 1000)
            sql.append(sum(float(q["time"]) for q in ctx.captured_queries) * 1000)
        p50, p95, _ = percentiles(totals)
        medians[name] = p50
        print(f"{name:<34} {p50:>6.1f}ms {p95:>6.1f}ms {statistics.median(sql):>6.1f}ms {len(ctx.captured_queries):>8}")
    return medians


def warn_if_not_vacuumed() -> None:
    """Say so when most of tasks_task is not marked all-visible (never vacuumed: a fresh seed on a server with
    autovacuum off, as this machine's). Index-only scans then read the table too: the calendar's per-day
    totals take 250 ms instead of 15 (docs/performance.md). `VACUUM (ANALYZE) tasks_task` takes seconds."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT relpages, relallvisible FROM pg_class WHERE relname = 'tasks_task'")
        pages, visible = cursor.fetchone()
    if pages and visible < 0.9 * pages:
        print(
            f"warning: {visible:,} of tasks_task's {pages:,} pages are marked all-visible: index-only scans read "
            "the table too. Run `VACUUM (ANALYZE) tasks_task` first (autovacuum does it where it is on)."
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--email", default="bob@example.com")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (WEB_CONCURRENCY)")
    parser.add_argument("--budget", type=float, default=100.0, help="the p50 every page must meet, in ms")
    parser.add_argument("--in-process", action="store_true", help="Django's test client instead of HTTP")
    parser.add_argument("--only", default="", help="only the pages whose name contains this text (any case)")
    args = parser.parse_args()

    pages, summary = pages_of(args.email)
    pages = {name: url for name, url in pages.items() if args.only.lower() in name.lower()}
    print(summary)
    warn_if_not_vacuumed()
    medians = (bench_in_process if args.in_process else bench_http)(pages, args)
    over = {name: p50 for name, p50 in medians.items() if p50 > args.budget}
    if over:
        print(f"over the {args.budget:.0f} ms budget: " + ", ".join(f"{n} ({t:.0f} ms)" for n, t in over.items()))
        sys.exit(1)
    print(f"every page within the {args.budget:.0f} ms p50 budget")


if __name__ == "__main__":
    main()
