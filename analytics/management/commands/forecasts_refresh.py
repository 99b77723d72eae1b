"""Refresh the forecasts now (every team, or one), optionally with the calibration backtest; for operators."""

import time

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Team
from analytics.forecasts.backtest import backtest_team
from analytics.forecasts.refresh import team_refresh


class Command(BaseCommand):
    help = "Refresh the task and project forecasts of every team (or --team ID); --backtest also recalibrates."

    def add_arguments(self, parser):
        parser.add_argument("--team", type=int, help="Only this team (its id).")
        parser.add_argument("--backtest", action="store_true", help="Also replay completed tasks (calibration).")
        parser.add_argument("--limit", type=int, default=500, help="Completed tasks the backtest replays.")

    def handle(self, *args, team: int | None, backtest: bool, limit: int, **options):
        teams = Team.objects.order_by("pk").values_list("pk", "name")
        if team is not None:
            teams = teams.filter(pk=team)
            if not teams:
                raise CommandError(f"No team {team}.")
        for team_id, name in teams:
            if backtest:
                started = time.perf_counter()
                c = backtest_team(team_id, limit=limit)
                share = f"{c.share_p85:.1%}" if c.share_p85 is not None else "-"
                share50 = f"{c.share_p50:.1%}" if c.share_p50 is not None else "-"
                self.stdout.write(
                    f"{name}: backtest of {c.replayed} tasks ({c.thin} too thin): {share} finished by the 85 % "
                    f"date, {share50} by the 50 % date ({time.perf_counter() - started:.2f} s)"
                )
            started = time.perf_counter()
            run = team_refresh(team_id, force=True)
            if run.skipped:
                self.stdout.write(f"{name}: a refresh is running elsewhere; it covers this one")
            else:
                self.stdout.write(
                    f"{name}: {run.open_tasks} open tasks, {run.changed} forecasts changed "
                    f"({time.perf_counter() - started:.2f} s)"
                )
