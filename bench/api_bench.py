"""Server time of the JWT API on a large database, in-process: pages of 50 tasks in every ordering (first, middle
and last page, by cursor), one task, the 304 of an unchanged answer, the dashboard computed every time, and a
delta-sync page of 200 changes.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aether_h_api_1m .venv/bin/python bench/api_bench.py
    .venv/bin/python bench/api_bench.py --requests 1000 --explain

Expects a database migrated and filled by `seed_demo --tasks 1000000` (its Demo team holds every generated
task). Requests go in-process to the WSGI application, as gunicorn calls it: Django's full stack (middleware,
persistent connection with its health check, JWT authentication from the account projection in Redis,
throttling in Redis, the ETag's generations, DRF, serializers) with a real access token of the demo member
bob@example.com. "Server time" is the wall-clock time of that call, the response body included: no network
and no HTTP parsing, what a gunicorn worker spends. No cache of any answer exists: every 200 is computed.
Each case is warmed up, then timed over many requests; the sync case writes 200 changes first (a mark added to
or taken off 200 task titles, through the services) and reads them again and again from the same cursor. "CPU"
is what this process and its PostgreSQL backend spent a request (from /proc): unlike the wall-clock figures,
it does not grow when other work shares the machine's cores.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from inprocess import WSGIClient  # noqa: E402 -- after the path

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/aether_h_api_1m")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/4")
os.environ.setdefault("REDIS_KEY_PREFIX", "bench-api")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789-0123456789-0123456789")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aether.settings")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")  # the in-process client speaks plain HTTP
os.environ.setdefault("API_THROTTLE_USER", "100000000/min")  # throttled as usual (a Redis call), never refused
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("CONN_MAX_AGE", "3600")  # one connection (and PostgreSQL backend) for the whole run
os.environ.setdefault("AETHER_ENV_FILE", "")


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def backend_cpu_seconds() -> float:
    """The CPU time the PostgreSQL backend serving this process has used (it runs on this machine: /proc)."""
    from django.db import connection

    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(client, urls, *, requests: int, warmup: int, status: int = 200, headers=None) -> dict:
    for i in range(warmup):
        code, _ = client.get(urls[i % len(urls)], extra=headers)
        assert code == status, (urls[i % len(urls)], code)
    times = []
    cpu, pg = time.process_time(), backend_cpu_seconds()
    for i in range(requests):
        url = urls[i % len(urls)]
        start = time.perf_counter()
        code, body = client.get(url, extra=headers)
        times.append(time.perf_counter() - start)
        assert code == status, (url, code, body[:300])
    cpu, pg = time.process_time() - cpu, backend_cpu_seconds() - pg
    times.sort()
    return {
        "cpu": _ms((cpu + pg) / requests),
        "median": _ms(statistics.median(times)),
        "p95": _ms(times[int(len(times) * 0.95) - 1]),
        "min": _ms(times[0]),
        "n": len(times),
    }


def queries_of(client, url, headers=None) -> int:
    from django.core.signals import request_finished
    from django.db import close_old_connections, connection
    from django.test.utils import CaptureQueriesContext

    request_finished.disconnect(close_old_connections)
    try:
        with CaptureQueriesContext(connection) as ctx:
            client.get(url, extra=headers)
    finally:
        request_finished.connect(close_old_connections)
    return len(ctx.captured_queries)


def explain(client, url: str) -> None:
    """Print every SQL statement of one request with its EXPLAIN ANALYZE."""
    from django.core.signals import request_finished
    from django.db import close_old_connections, connection
    from django.test.utils import CaptureQueriesContext

    request_finished.disconnect(close_old_connections)  # keep the connection the capture is on
    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    print(f"\n### {url}: {len(ctx.captured_queries)} queries")
    with connection.cursor() as cursor:
        for q in ctx.captured_queries:
            print("\n" + q["sql"][:400])
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + q["sql"])
            print("\n".join("    " + row[0] for row in cursor.fetchall()))
    request_finished.connect(close_old_connections)


def page_cursor(user, ordering, position: int) -> str:
    """The cursor of the page that starts after the `position`-th task (from 1) of `ordering`, as the API's
    `next` link would carry it (found once, by OFFSET, for the benchmark only)."""
    from django.core import signing

    from aether.pagination import SALT
    from tasks import selectors
    from tasks.api import TASK_ORDERINGS

    keyset = TASK_ORDERINGS[ordering]
    exprs = [k.sql() for k in keyset.keys]
    qs = (
        selectors.tasks_visible_to(user).active().order_by(*[e.desc() if keyset.descending else e.asc() for e in exprs])
    )
    row = qs.values(*[k.attr for k in keyset.keys])[position - 1 : position].get()
    values = [k.dump(row[k.attr]) for k in keyset.keys]
    return signing.Signer(salt=SALT).sign_object({"u": user.pk, "o": keyset.name, "d": "n", "v": values}, compress=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200, help="timed requests per case")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--user", default="bob@example.com")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of each page case's queries")
    parser.add_argument("--skip-sync", action="store_true", help="leave out the sync case (it writes 200 changes)")
    args = parser.parse_args()

    import django

    django.setup()
    from urllib.parse import quote

    from rest_framework_simplejwt.tokens import RefreshToken

    from accounts.models import User
    from tasks.api import TASK_ORDERINGS
    from tasks.models import Task

    user = User.objects.get(email=args.user)
    client = WSGIClient({"HTTP_AUTHORIZATION": f"Bearer {RefreshToken.for_user(user).access_token}"})
    active = Task.objects.filter(deleted_at__isnull=True, archived_at__isnull=True).count()
    last_id = Task.objects.order_by("-pk").values_list("pk", flat=True).first()
    rng = random.Random(42)
    one_task = []
    while len(one_task) < 200:
        pk = rng.randint(1, last_id)
        if Task.objects.filter(pk=pk, deleted_at__isnull=True).exists():
            one_task.append(f"/api/v1/tasks/{pk}/")
    project = Task.objects.filter(pk=int(one_task[0].split("/")[-2])).values_list("project_id", flat=True).get()

    cases: dict[str, list[str]] = {}
    for ordering in TASK_ORDERINGS:
        base = f"/api/v1/tasks/?page_size=50&ordering={quote(ordering)}"
        cases[f"page 1, {ordering}"] = [base]
        for label, position in (("middle", active // 2), ("last", active - 50)):
            cases[f"page at {position:,} ({label}), {ordering}"] = [
                f"{base}&cursor={page_cursor(user, ordering, position)}"
            ]
    cases |= {
        "page 1, one project by due date": [f"/api/v1/tasks/?page_size=50&project={project}&ordering=due_date"],
        "page 1, assigned to me": ["/api/v1/tasks/?page_size=50&assignee=me"],
        "page 1, overdue": ["/api/v1/tasks/?page_size=50&overdue=true"],
        "page 1, search one word": ["/api/v1/tasks/?page_size=50&search=launch"],
        "one task with its stages (random ids)": one_task,
        "me": ["/api/v1/me/"],
    }

    import django.db

    print(f"{active:,} active tasks; user {args.user}; PostgreSQL {django.db.connection.pg_version}")
    print(f"load average at the start: {os.getloadavg()[0]:.1f}")
    print("| case | p50 ms | p95 ms | min ms | CPU ms (Django + PostgreSQL) | queries |")
    print("| --- | --- | --- | --- | --- | --- |")

    def row(name, result, queries):
        print(f"| {name} | {result['median']} | {result['p95']} | {result['min']} | {result['cpu']} | {queries} |")

    for name, urls in cases.items():
        result = measure(client, urls, requests=args.requests, warmup=args.warmup)
        row(name, result, queries_of(client, urls[0]))

    # 304: the same requests, revalidated with the ETag each answered.
    for name, url in (("304: page 1, -created_at", cases["page 1, -created_at"][0]), ("304: one task", one_task[0])):
        etag = client.get_headers(url)["ETag"]
        headers = {"HTTP_IF_NONE_MATCH": etag}
        result = measure(client, [url], requests=args.requests, warmup=args.warmup, status=304, headers=headers)
        row(name, result, queries_of(client, url, headers))

    # The dashboard, computed every time (no If-None-Match): the big project, random ranges.
    presets = ["7", "30", "90", "quarter", "all"]
    dashboards = [f"/api/v1/dashboard/?project={project}&range={rng.choice(presets)}" for _ in range(50)]
    dashboards += [
        "/api/v1/dashboard/?range=30",
        f"/api/v1/dashboard/?team={Task.objects.get(pk=int(one_task[0].split('/')[-2])).project.team_id}&range=90",
    ]
    result = measure(client, dashboards, requests=args.requests, warmup=args.warmup)
    row("dashboard, computed (project, random range)", result, queries_of(client, dashboards[0]))

    if not args.skip_sync:
        sync_page(client, user, args)

    if args.explain:
        for name, urls in cases.items():
            if name.startswith("page"):
                explain(client, urls[0])


def sync_page(client, user, args) -> None:
    """A sync page of 200 changes: a cursor taken now, 200 tasks changed through the services, then the page."""
    from sync.cursors import Cursor
    from sync.selectors import snapshot_now
    from tasks import services
    from tasks.models import Task

    cursor = Cursor(user.pk, snapshot_now()).dumps()
    tasks = list(Task.objects.filter(deleted_at__isnull=True, project__team__memberships__user=user)[:200])
    for task in tasks:  # one change each: a mark added to the title, or taken off again (a run before added it)
        title = task.title.removesuffix(" ·") if task.title.endswith(" ·") else task.title + " ·"
        services.task_update(actor=user, task=task, data={"title": title})
    url = f"/api/v1/sync/?cursor={cursor}"
    code, body = client.get(url)
    import json

    page = json.loads(body)
    assert code == 200
    assert len(page["tasks"]) == 200, len(page["tasks"])
    result = measure(client, [url], requests=args.requests, warmup=args.warmup)
    print(
        f"| sync: a page of 200 changed tasks (with stages) | {result['median']} | {result['p95']} | {result['min']} "
        f"| {result['cpu']} | {queries_of(client, url)} |"
    )
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
