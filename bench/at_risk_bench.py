"""The forecasts' surfaces (#22) at a million tasks: the dashboard's at-risk list (the target: within the
dashboard's budget, p50 <= 25 ms), the project's head, the list and board filtered to the at-risk tasks, and the
API's at-risk list.

    .venv/bin/python bench/at_risk_bench.py --database aether_fsurf_1m --requests 200

The database is a copy of a `seed_demo --tasks 1000000` one with a forecast row for each open task, as the
engine would keep them (the SQL below, `--fill` runs it once): 450,249 rows, 412,107 at risk (most demo tasks are
past their due date, so nearly every forecast is late: the worst case for the counts), 5 % without a date; and a
ProjectForecast row per project (its dates the latest of its tasks', as a stand-in for the engine's draws).

    createdb -h 127.0.0.1 -U postgres -T aether_bench_1m aether_fsurf_1m
    .venv/bin/python bench/at_risk_bench.py --database aether_fsurf_1m --fill --requests 200

Everything runs in this process: the selectors timed as called, the pages through the Django stack in-process
(bench/inprocess.py; session for HTML, JWT for the API), as the demo owner alice (the team)
and the demo member bob (his own work).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from inprocess import percentiles  # noqa: E402 -- after the path

FILL_SQL = """
INSERT INTO analytics_forecast (task_id, team_id, project_id, as_of, p50, p85, at_risk, basis, reason,
                                remaining_hours, computed_at)
SELECT t.id, p.team_id, t.project_id, current_date,
       CASE WHEN t.id % 20 = 0 THEN NULL ELSE current_date + (t.id % 40)::int END,
       CASE WHEN t.id % 20 = 0 THEN NULL ELSE current_date + (t.id % 40)::int + (t.id % 9)::int END,
       t.id % 20 <> 0 AND t.due_date IS NOT NULL AND current_date + (t.id % 40)::int + (t.id % 9)::int > t.due_date,
       CASE WHEN t.id % 20 = 0 THEN 'none' ELSE 'stages' END,
       CASE WHEN t.id % 20 = 0 THEN 'Too little history to forecast honestly.' ELSE '' END,
       (t.id % 50) + 0.5, now()
FROM tasks_task t JOIN tasks_project p ON p.id = t.project_id
WHERE t.status <> 'completed' AND t.deleted_at IS NULL AND t.archived_at IS NULL
ON CONFLICT (task_id) DO NOTHING;
INSERT INTO analytics_projectforecast (project_id, team_id, as_of, p50, p85, at_risk, forecast, unforecast, reason,
                                       computed_at)
SELECT project_id, team_id, current_date, max(p50), max(p85), bool_or(at_risk), count(p85), count(*) - count(p85), '',
       now()
FROM analytics_forecast GROUP BY 1, 2 ON CONFLICT DO NOTHING;
INSERT INTO analytics_forecastcalibration (team_id, as_of, replayed, within_p50, within_p85, thin, computed_at)
SELECT id, current_date, 412, 210, 354, 12, now() FROM accounts_team ON CONFLICT DO NOTHING;
"""


def _timed(call, n: int) -> dict:
    """p50, p95 and max of `n` calls after 5 warm-ups, and the queries of one (a page's are not counted here:
    the request resets Django's query log)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(5):  # warm up: connection, plans, caches
        call()
    with CaptureQueriesContext(connection) as ctx:
        call()
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return {**percentiles(samples), "queries": len(ctx.captured_queries)}


def _page(client, url: str):
    def call():
        status, _ = client.get(url)
        assert status == 200, (url, status)

    return call


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="aether_fsurf_1m")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--fill", action="store_true", help="insert the forecast rows first (once)")
    args = parser.parse_args()
    from dashboard_bench import _env

    os.environ.update(_env(args.database))  # the dashboard bench's settings: production's, DEBUG off
    import django
    from django.conf import settings

    django.setup()
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    from dashboard_bench import _jwt_client, _session_client
    from django.db import connection
    from django.db.models import Count

    from analytics.forecast_selectors import at_risk_tasks, project_forecast
    from analytics.models import Forecast
    from analytics.selectors import dashboard_scope
    from tasks.models import Project

    if args.fill:
        with connection.cursor() as cursor:
            cursor.execute(FILL_SQL)
            cursor.execute("VACUUM ANALYZE analytics_forecast")
    from accounts.models import User

    alice, bob = User.objects.get(email="alice@example.com"), User.objects.get(email="bob@example.com")
    project = Project.objects.filter(team__slug="demo").annotate(n=Count("tasks")).order_by("-n").first()
    team_id = project.team_id
    n = args.requests
    out = {
        "forecasts": Forecast.objects.count(),
        "at_risk": Forecast.objects.filter(at_risk=True).count(),
        "project_tasks": project.n,
    }
    scopes = {
        "team (alice)": lambda: dashboard_scope(alice, team_id=team_id, preset="30"),
        "project (alice)": lambda: dashboard_scope(alice, project_id=project.pk, preset="30"),
        "my work (bob)": lambda: dashboard_scope(bob, preset="30"),
    }
    for name, make in scopes.items():
        scope = make()
        out[f"at-risk list, {name}"] = _timed(lambda scope=scope: at_risk_tasks(scope), n)
    out["project head summary"] = _timed(lambda: project_forecast(project.pk), max(20, n // 10))
    html_alice, html_bob, api_bob = _session_client(alice), _session_client(bob), _jwt_client(bob)
    task_id = Forecast.objects.filter(at_risk=True, project_id=project.pk).values_list("task_id", flat=True).first()
    pages = {
        "dashboard page, team (whole page)": (html_alice, f"/dashboard/?team={team_id}&range=30"),
        "dashboard page, my work (whole page)": (html_bob, "/dashboard/?team=&range=30"),
        "task page (at risk)": (html_bob, f"/tasks/{task_id}/"),
        "list page": (html_bob, f"/projects/{project.pk}/list/"),
        "list page ?at_risk=true": (html_bob, f"/projects/{project.pk}/list/?at_risk=true"),
        "board": (html_bob, f"/projects/{project.pk}/"),
        "board ?at_risk=true": (html_bob, f"/projects/{project.pk}/?at_risk=true"),
        "API /tasks/ page of 50 (each with its forecast)": (api_bob, "/api/v1/tasks/?page_size=50"),
        "API /tasks/?at_risk=true page of 50": (api_bob, "/api/v1/tasks/?at_risk=true&page_size=50"),
    }
    for name, (client, url) in pages.items():
        out[name] = {k: v for k, v in _timed(_page(client, url), max(20, n // 4)).items() if k != "queries"}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
