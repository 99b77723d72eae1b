"""Benchmark of the forecasts: a team of ~10,000 open tasks refreshed in full, and the calibration backtest.

    .venv/bin/python bench/forecasts_bench.py --fill --tasks 23000   # once: seed_demo --tasks 23000 (~10,300 open)
    .venv/bin/python bench/forecasts_bench.py                        # measure

Needs PostgreSQL on localhost (the database `aether_bench_forecasts` unless --db; created if missing). The Demo
team's tasks are seed_demo's generated ones (a year of history on working days, 45 % open). Each figure is the
wall-clock time of `team_refresh(team, force=True)`, in one transaction as the worker runs it: its reads (the
forecasts' row versions, the open tasks and their stages, the kept history), the Monte Carlo of 1,000 draws per
task, and the writes. Three cases, each run --repeat times:

- insert: no forecast stored (deleted before each run): every row is written;
- new day: the clock a day later than the last run: the dates move, (nearly) every row is rewritten;
- unchanged: run again at the same clock: nothing is written.

Then the backtest (500 completed tasks replayed as at their start) and its share within p50/p85.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import timedelta

from benchdb import create_database, django_on


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="aether_bench_forecasts")
    parser.add_argument("--fill", action="store_true", help="Migrate and load seed_demo --tasks N first.")
    parser.add_argument("--tasks", type=int, default=23000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    create_database(args.db)
    django_on(args.db)

    from django.core.management import call_command
    from django.utils import timezone

    from accounts.models import Team
    from analytics.forecasts.backtest import backtest
    from analytics.forecasts.refresh import team_refresh
    from analytics.models import Forecast
    from tasks.models import Task

    if args.fill:
        call_command("migrate", "--noinput", verbosity=0)
        call_command("seed_demo", tasks=args.tasks, verbosity=0)
    team = Team.objects.get(slug="demo")
    open_tasks = Task.objects.filter(project__team=team, deleted_at=None, archived_at=None).exclude(status="completed")
    everything = Task.objects.filter(project__team=team).count()
    print(f"team {team.name}: {open_tasks.count()} open tasks, {everything} in all")

    def timed(now) -> tuple[float, int]:
        started = time.perf_counter()
        run = team_refresh(team.pk, force=True, now=now)
        return time.perf_counter() - started, run.changed

    now = timezone.now()
    cases: dict[str, list[tuple[float, int]]] = {"insert": [], "new day": [], "unchanged": []}
    for i in range(args.repeat):
        Forecast.objects.filter(team_id=team.pk).delete()
        cases["insert"].append(timed(now))
        cases["new day"].append(timed(now + timedelta(days=i + 1)))
        cases["unchanged"].append(timed(now + timedelta(days=i + 1)))
    for name, runs in cases.items():
        seconds = [s for s, _ in runs]
        print(
            f"{name:>9}: {', '.join(f'{s:.2f}' for s in seconds)} s (median {statistics.median(seconds):.2f}); "
            f"forecasts changed {runs[0][1]}"
        )
    started = time.perf_counter()
    result = backtest(team.pk)
    print(
        f"backtest: {result.replayed} replayed, {result.thin} too thin, {result.share_p85:.1%} by p85, "
        f"{result.share_p50:.1%} by p50, {time.perf_counter() - started:.2f} s"
    )


if __name__ == "__main__":
    main()
