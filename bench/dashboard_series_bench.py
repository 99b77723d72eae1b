"""What filling in the empty days and weeks costs: the dashboard's completions-by-day query as it was (only days
with a completion, weeks summed in Python) against the one that has the database fill every day and week of the
range with generate_series (analytics.selectors._completions_by_day_and_week), for each preset range, on the
larger demo project of a seeded database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aether_analytics_1m .venv/bin/python \\
        bench/dashboard_series_bench.py --repeat 50

Both run in this process, alternately (so load hits both alike), through the ORM connection; the figure is the
median wall-clock time of one call, rows fetched and turned into the page's dicts included.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aether.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789-0123456789-0123456789")

import django

django.setup()

from django.db.models import Count, Q  # noqa: E402

from accounts.models import User  # noqa: E402
from analytics.models import CompletedDay  # noqa: E402
from analytics.selectors import (  # noqa: E402
    PRESETS,
    _completions_by_day_and_week,
    _in_range,
    _iso_week,
    _sum,
    dashboard_scope,
)
from tasks.models import Project  # noqa: E402


def before(done) -> tuple[list, dict]:
    """The query and loop of the dashboard before this change (days with a completion only)."""
    daily, trend = [], {}
    for row in done.values("day").annotate(n=_sum("n"), lead=_sum("lead_sum")).order_by("day"):
        daily.append({"day": row["day"].isoformat(), "count": int(row["n"])})
        week = trend.setdefault(_iso_week(row["day"]), [0, 0])
        week[0] += int(row["n"])
        week[1] += int(row["lead"])
    return daily, trend


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    project = Project.objects.annotate(n=Count("tasks")).order_by("-n").first()
    user = User.objects.get(email="bob@example.com")
    print(f"project {project.name}: {project.n:,} tasks")
    print(f"{'range':<10} {'days':>6} {'before p50':>11} {'after p50':>10} {'days/weeks before':>18} {'after':>10}")
    for preset in PRESETS:
        scope = dashboard_scope(user, project_id=project.pk, preset=preset)
        done = CompletedDay.objects.filter(scope.where & Q(n__gt=0), _in_range(scope))
        timings = {"before": [], "after": []}
        for _ in range(args.repeat):
            start = time.perf_counter()
            old = before(done)
            timings["before"].append(time.perf_counter() - start)
            start = time.perf_counter()
            new = _completions_by_day_and_week(done, scope)
            timings["after"].append(time.perf_counter() - start)
        p50 = {k: round(statistics.median(v) * 1000, 2) for k, v in timings.items()}
        print(
            f"{preset:<10} {len(new[0]):>6} {p50['before']:>9} ms {p50['after']:>7} ms "
            f"{len(old[0]):>12}/{len(old[1]):<5} {len(new[0]):>5}/{len(new[1]):<4}"
        )


if __name__ == "__main__":
    main()
