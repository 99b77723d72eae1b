"""Dashboard speed at 10,000, 100,000 and 1,000,000 tasks: the JSON figures, the HTML page, each chart's data,
the same figures computed straight from the task tables, and the CSV export's time and peak memory.

    .venv/bin/python bench/dashboard_bench.py                  # the three databases below, 200 requests a case
    .venv/bin/python bench/dashboard_bench.py --requests 500 --databases aether_analytics_1m

Each database is migrated and filled beforehand (seed_demo rebuilds the figures at its end):

    createdb -h 127.0.0.1 -U postgres aether_analytics_1m
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aether_analytics_1m DEBUG=1 .venv/bin/python manage.py migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aether_analytics_1m DEBUG=1 \\
        .venv/bin/python manage.py seed_demo --tasks 1000000        # likewise _10k (10000) and _100k (100000)

Every measurement runs in a child process of its own, on one database, calling the project's WSGI application
in-process as gunicorn does (middleware, JWT or session authentication, throttling, DRF, templates): "server
time" is the wall-clock time of that call, the body included. The dashboard covers the larger of the two demo
projects (half the tasks), for a random preset range (7/30/90 days, this quarter, all time) and a random
assignee (anyone, alice or bob), as the demo member bob. The CSV is the whole Demo team (every generated
task), streamed to a counter; its peak memory is the child's maximum resident set size.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from inprocess import WSGIClient, ms, percentiles  # noqa: E402 -- after the path

DATABASES = ["aether_analytics_10k", "aether_analytics_100k", "aether_analytics_1m"]
PRESETS = ["7", "30", "90", "quarter", "all"]


def _env(database: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/2"),
        "SECRET_KEY": "bench-only-secret-key-0123456789-0123456789-0123456789",
        "DJANGO_SETTINGS_MODULE": "aether.settings",
        "ALLOWED_HOSTS": "testserver",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "API_THROTTLE_USER": "100000000/min",
        "LOG_LEVEL": "WARNING",
    }


# --- the child: one database ------------------------------------------------------------------------------


def _setup():
    import django
    from django.conf import settings

    django.setup()
    from django.core.cache import cache

    # Each database's run starts from an empty cache: they share this Redis database, and their ids overlap
    # (the account and dashboard caches key by user and team id, as a deployment of one database can).
    cache.clear()
    # The manifest storage needs collectstatic; the page's asset URLs are the same work either way.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from tasks.models import Project

    user_model = get_user_model()
    bob = user_model.objects.get(email="bob@example.com")
    alice = user_model.objects.get(email="alice@example.com")
    project = (
        Project.objects.filter(team__slug="demo").annotate(n=Count("tasks")).order_by("-n").values("pk", "n").first()
    )
    return bob, alice, project


def _jwt_client(user) -> WSGIClient:
    from rest_framework_simplejwt.tokens import RefreshToken

    return WSGIClient({"HTTP_AUTHORIZATION": f"Bearer {RefreshToken.for_user(user).access_token}"})


def _session_client(user) -> WSGIClient:
    """A signed-in session, made as django.contrib.auth.login makes one (not through django.test's Client,
    whose imports, 5 MB, a serving process never has: the CSV's peak RSS is the serving process's)."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = user._meta.pk.value_to_string(user)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return WSGIClient({"HTTP_COOKIE": f"{settings.SESSION_COOKIE_NAME}={session.session_key}"})


def _direct_figures(project_id: int) -> dict:
    """The dashboard's figures for all time straight from the task tables (what a system without kept
    figures does on each visit): the same groupings, as GROUP BY over tasks and stages."""
    from django.db import connection

    queries = {
        "counts by status and priority": "SELECT status, priority, count(*) FROM tasks_task "
        "WHERE project_id = %s AND deleted_at IS NULL GROUP BY 1, 2",
        "open and overdue by assignee": "SELECT assignee_id, count(*), count(*) FILTER (WHERE due_date < "
        "current_date) FROM tasks_task WHERE project_id = %s AND deleted_at IS NULL AND status <> 'completed' "
        "GROUP BY 1",
        "completion by priority": "SELECT priority, count(*), avg(extract(epoch FROM completed_at - created_at)), "
        "avg(extract(epoch FROM completed_at - started_at)), avg(completed_at::date - due_date), "
        "avg((completed_at::date <= due_date)::int) FROM tasks_task WHERE project_id = %s AND deleted_at IS NULL "
        "AND status = 'completed' GROUP BY 1",
        "median completion time": "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY completed_at - created_at) "
        "FROM tasks_task WHERE project_id = %s AND deleted_at IS NULL AND status = 'completed'",
        "daily completions": "SELECT completed_at::date, count(*) FROM tasks_task WHERE project_id = %s AND "
        "deleted_at IS NULL AND status = 'completed' GROUP BY 1",
        "weekday x hour": "SELECT extract(isodow FROM completed_at), extract(hour FROM completed_at), count(*) "
        "FROM tasks_task WHERE project_id = %s AND deleted_at IS NULL AND status = 'completed' GROUP BY 1, 2",
        "stage estimates": "SELECT s.name, count(*), avg(s.actual_hours - s.estimated_hours), "
        "stddev_pop(s.actual_hours - s.estimated_hours), sum(s.actual_hours) / sum(s.estimated_hours) "
        "FROM tasks_stage s JOIN tasks_task t ON t.id = s.task_id WHERE t.project_id = %s AND t.deleted_at IS NULL "
        "AND s.status = 'completed' GROUP BY 1",
    }
    times = {}
    with connection.cursor() as cursor:
        for name, sql in queries.items():
            started = time.perf_counter()
            cursor.execute(sql, [project_id])
            cursor.fetchall()
            times[name] = ms(time.perf_counter() - started)
    times["total"] = round(sum(times.values()), 2)
    return times


def child(requests: int) -> dict:
    bob, alice, project = _setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from analytics.selectors import dashboard_figures, dashboard_scope

    rng = random.Random(7)
    api, html = _jwt_client(bob), _session_client(bob)
    people = [None, bob.pk, alice.pk]

    def url(base: str) -> str:
        query = f"project={project['pk']}&range={rng.choice(PRESETS)}"
        who = rng.choice(people)
        return f"{base}?{query}" + (f"&assignee={who}" if who else "")

    out = {"tasks": project["n"]}
    for _ in range(20):  # warm up: connections, caches, plans
        api.get(url("/api/v1/dashboard/"))
        html.get(url("/dashboard/"))
    with CaptureQueriesContext(connection) as ctx:
        status, _ = api.get(f"/api/v1/dashboard/?project={project['pk']}&range=all")
    assert status == 200, status
    out["json_queries"] = len(ctx.captured_queries)

    def json_samples() -> dict:
        samples = []
        for _ in range(requests):
            target = url("/api/v1/dashboard/")
            started = time.perf_counter()
            status, _ = api.get(target)
            samples.append(time.perf_counter() - started)
            assert status == 200, status
        return percentiles(samples)

    out["json"] = json_samples()  # every request computes its figures: no cache of answers
    samples = []
    for _ in range(max(50, requests // 2)):
        target = url("/dashboard/")
        started = time.perf_counter()
        status, _ = html.get(target)
        samples.append(time.perf_counter() - started)
        assert status == 200, status
    out["html"] = percentiles(samples)
    # each chart's data: the queries behind it, all time, all assignees (the widest case), slowest of 20 runs
    slowest: dict[str, float] = {}
    for _ in range(20):
        with CaptureQueriesContext(connection) as ctx:
            dashboard_figures(dashboard_scope(bob, project_id=project["pk"], preset="all"))
        for q in ctx.captured_queries:
            table = next((t for t in _TABLES if t in q["sql"]), "other")
            slowest[table] = max(slowest.get(table, 0.0), float(q["time"]) * 1000)
    out["chart_queries_ms"] = {_TABLES.get(t, t): round(v, 2) for t, v in slowest.items()}
    direct = [_direct_figures(project["pk"]) for _ in range(3)]
    out["direct_ms"] = {k: min(d[k] for d in direct) for k in direct[0]}
    return out


_TABLES = {
    "analytics_createdday": "status/priority counts, throughput created",
    "analytics_openbydue": "overdue, workload open",
    "analytics_completedday": "completion, delay, trend, daily, workload done",
    "analytics_completedshape": "weekday x hour, median",
    "analytics_leadhistogram": "median",
    "analytics_completedhour": "weekday x hour",
    "analytics_stageday": "stage estimates, bottlenecks",
}


def child_csv() -> dict:
    bob, _alice, _project = _setup()
    from accounts.models import Team

    team = Team.objects.get(slug="demo")
    client = _session_client(bob)
    rows, size = [0], [0]

    def count(chunk: bytes) -> None:
        rows[0] += chunk.count(b"\n")
        size[0] += len(chunk)

    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    status, _ = client.get(f"/api/v1/reports/tasks.csv?team={team.pk}&range=all", sink=count)
    seconds = time.perf_counter() - started
    assert status == 200, status
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "rows": rows[0] - 1,
        "mb": round(size[0] / 1e6, 1),
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(peak / 1024, 1),
        "rss_before_mb": round(base_rss / 1024, 1),
    }


# --- the parent -------------------------------------------------------------------------------------------


def _run_child(database: str, mode: str, requests: int) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--requests", str(requests)],
        env=_env(database),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        raise SystemExit(f"{database} {mode}: {result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", nargs="+", default=DATABASES)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--no-csv", action="store_true", help="Skip the CSV export.")
    parser.add_argument("--child", choices=["dashboard", "csv"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.requests) if args.child == "dashboard" else child_csv()))
        return
    results = {}
    for database in args.databases:
        results[database] = _run_child(database, "dashboard", args.requests)
        if not args.no_csv:
            results[database]["csv"] = _run_child(database, "csv", args.requests)
        print(f"\n== {database}: project of {results[database]['tasks']:,} tasks", flush=True)
        r = results[database]
        j = r["json"]
        print(f"dashboard JSON: {r['json_queries']} queries, p50 {j['p50']} ms, p95 {j['p95']} ms")
        print(f"HTML page: p50 {r['html']['p50']} ms, p95 {r['html']['p95']} ms")
        print("each chart's data (slowest query behind it, ms):")
        for name, took in r["chart_queries_ms"].items():
            print(f"    {name:<50} {took}")
        print(f"straight from the task tables (all time), total {r['direct_ms']['total']} ms:")
        for name, took in r["direct_ms"].items():
            if name != "total":
                print(f"    {name:<50} {took}")
        if "csv" in r:
            c = r["csv"]
            print(
                f"CSV of the team: {c['rows']:,} rows, {c['mb']} MB in {c['seconds']} s, "
                f"peak RSS {c['peak_rss_mb']} MB (before the export {c['rss_before_mb']} MB)"
            )
    if len(results) > 1:
        first, last = results[args.databases[0]], results[args.databases[-1]]
        print(
            f"\nJSON p50 at {args.databases[-1]} / at {args.databases[0]}: "
            f"{round(last['json']['p50'] / first['json']['p50'], 2)}x"
        )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
