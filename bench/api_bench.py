"""Server time of the JWT API on a large database: a page of 50 tasks with their stages, and one task.

    .venv/bin/python bench/api_bench.py                       # 300 timed requests per case
    .venv/bin/python bench/api_bench.py --requests 1000 --explain

Expects the database `aether_bench_api` (override with DATABASE_URL), migrated and filled beforehand:

    createdb -h 127.0.0.1 -U postgres aether_bench_api
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aether_bench_api DEBUG=1 .venv/bin/python manage.py migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aether_bench_api DEBUG=1 \\
        .venv/bin/python manage.py seed_demo --tasks 1000000

Requests go in-process to the WSGI application, as gunicorn calls it: Django's full stack (middleware,
persistent connection with its health check, JWT authentication with its user query, throttling in Redis,
DRF, serializers) with a real access token of the demo member bob@example.com, whose team holds every
generated task. "Server time" is the wall-clock time of that call, the response body included; no network
and no HTTP parsing, so it is what a gunicorn worker spends on the request. Each case is
warmed up first, then timed over many requests; one-task requests walk through random task ids.
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

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/aether_bench_api")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/4")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789-0123456789-0123456789")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aether.settings")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")  # the in-process client speaks plain HTTP
os.environ.setdefault("API_THROTTLE_USER", "100000000/min")  # throttled as usual (a Redis call), never refused
os.environ.setdefault("LOG_LEVEL", "WARNING")
# Every page computed: the API's caches (accounts/account_cache.py, tasks/list_cache.py) would answer the
# repeated requests from Redis; bench/load.py measures the API as deployed, caches on.
os.environ.setdefault("API_CACHE_SECONDS", "0")


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def measure(client, urls, *, requests: int, warmup: int) -> dict:
    for url in urls[:warmup]:
        assert client.get(url)[0] == 200
    times = []
    for i in range(requests):
        url = urls[i % len(urls)]
        start = time.perf_counter()
        code, body = client.get(url)
        times.append(time.perf_counter() - start)
        assert code == 200, (url, code, body[:300])
    times.sort()
    return {
        "median": _ms(statistics.median(times)),
        "p95": _ms(times[int(len(times) * 0.95) - 1]),
        "min": _ms(times[0]),
        "n": len(times),
    }


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300, help="timed requests per case")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--user", default="bob@example.com")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of each case's queries")
    parser.add_argument("--only", type=int, default=0, help="measure only the first N cases (2: the targets)")
    args = parser.parse_args()

    import django

    django.setup()
    from rest_framework_simplejwt.tokens import RefreshToken

    from accounts.models import User
    from tasks.models import Task

    user = User.objects.get(email=args.user)
    client = WSGIClient({"HTTP_AUTHORIZATION": f"Bearer {RefreshToken.for_user(user).access_token}"})
    total = Task.objects.count()
    last = Task.objects.order_by("-pk").values_list("pk", flat=True).first()
    rng = random.Random(42)
    # Random live tasks, drawn by id range so that drawing them does not itself scan a million rows.
    one_task = []
    while len(one_task) < 200:
        pk = rng.randint(1, last)
        if Task.objects.filter(pk=pk, deleted_at__isnull=True).exists():
            one_task.append(f"/api/v1/tasks/{pk}/")
    project = Task.objects.filter(pk=int(one_task[0].split("/")[-2])).values_list("project_id", flat=True).get()

    cases = {
        "page of 50 tasks with stages (newest first)": ["/api/v1/tasks/?page_size=50"],
        "one task with its stages (random ids)": one_task,
        "page of 50, one project, by due date": [f"/api/v1/tasks/?page_size=50&project={project}&ordering=due_date"],
        "page of 50, by priority (highest first)": ["/api/v1/tasks/?page_size=50&ordering=-priority"],
        "page of 50, status in_progress": ["/api/v1/tasks/?page_size=50&status=in_progress"],
        "page of 50, assigned to me": ["/api/v1/tasks/?page_size=50&assignee=me"],
        "page of 50, overdue": ["/api/v1/tasks/?page_size=50&overdue=true"],
        "page 20 of 50 (offset 950)": ["/api/v1/tasks/?page_size=50&page=20"],
        "me": ["/api/v1/me/"],
    }
    import django.db

    print(f"{total:,} tasks; user {args.user}; PostgreSQL {django.db.connection.pg_version}")
    print(f"{'case':<46} {'median ms':>10} {'p95 ms':>8} {'min ms':>8} {'n':>6}")
    if args.only:
        cases = dict(list(cases.items())[: args.only])
    for name, urls in cases.items():
        result = measure(client, urls, requests=args.requests, warmup=args.warmup)
        print(f"{name:<46} {result['median']:>10} {result['p95']:>8} {result['min']:>8} {result['n']:>6}")
    if args.explain:
        for urls in cases.values():
            explain(client, urls[0])


if __name__ == "__main__":
    main()
