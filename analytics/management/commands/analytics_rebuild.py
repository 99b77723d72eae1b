"""Rebuild every kept figure from the task tables (after an import, a restore, or a team's time zone change)."""

import time

from django.core.management.base import BaseCommand

from analytics.recompute import figures_rebuild


class Command(BaseCommand):
    help = "Rebuild the kept analytics figures from the task tables, in one transaction."

    def add_arguments(self, parser):
        parser.add_argument("--database", default="default", help="The database alias to rebuild.")

    def handle(self, *args, database: str, **options):
        started = time.perf_counter()
        figures_rebuild(using=database)
        self.stdout.write(f"analytics figures rebuilt in {time.perf_counter() - started:.1f} s")
