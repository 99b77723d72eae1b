"""Compare every kept figure with a full recompute from the task tables; print the differences, exit 1 if any."""

import sys

from django.core.management.base import BaseCommand

from analytics.recompute import figures_verify


class Command(BaseCommand):
    help = "Compare the kept analytics figures with a full recompute from the tasks; exit 1 on any difference."

    def add_arguments(self, parser):
        parser.add_argument("--database", default="default", help="The database alias to check.")
        parser.add_argument("--limit", type=int, default=50, help="Print at most this many differences.")

    def handle(self, *args, database: str, limit: int, **options):
        differences = figures_verify(using=database)
        for difference in differences[:limit]:
            self.stdout.write(str(difference))
        if differences:
            more = f" ({len(differences) - limit} not shown)" if len(differences) > limit else ""
            self.stderr.write(f"{len(differences)} differences{more}; `analytics_rebuild` repairs them.")
            sys.exit(1)
        self.stdout.write("analytics figures agree with the tasks")
