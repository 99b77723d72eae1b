"""Run one scheduled job now, in this process, and print what it did:

    python manage.py run_job overdue     # overdue notices
    python manage.py run_job due_soon    # due-soon reminders
    python manage.py run_job archive     # archive old completed tasks
    python manage.py run_job digests     # combine held emails: batches due and digests due
    python manage.py run_job recurring   # make repeating tasks' occurrences whose date has come
    python manage.py run_job sync_trim   # delete sync change-log rows older than AETHER_SYNC_KEEP_DAYS

The same services the periodic tasks call; running a job while the scheduler also runs it does no harm.
"""

from django.core.management.base import BaseCommand, CommandError

from notifications import merging
from sync.services import changes_trim
from tasks.services import archiving, deadline_notices, recurrence

JOBS = {
    "overdue": lambda: deadline_notices.overdue_notify(),
    "due_soon": lambda: deadline_notices.due_soon_notify(),
    "archive": lambda: archiving.completed_tasks_archive(),
    "digests": lambda: merging.held_merge(),
    "recurring": lambda: recurrence.recurrences_run(),
    "sync_trim": lambda: changes_trim(),
}


class Command(BaseCommand):
    help = "Run a scheduled job now: " + ", ".join(JOBS) + "."

    def add_arguments(self, parser):
        parser.add_argument("job", help="One of: " + ", ".join(JOBS) + ".")

    def handle(self, *args, job: str, **options):
        if job not in JOBS:
            raise CommandError(f"Unknown job {job!r}. Choose one of: {', '.join(JOBS)}.")
        result = JOBS[job]()
        if isinstance(result, deadline_notices.DeadlineRun):
            if result.skipped:
                self.stdout.write(f"{job}: skipped, another run is in progress")
            else:
                self.stdout.write(
                    f"{job}: {result.claimed} tasks notified "
                    f"({result.emails} emails queued, {result.in_app} in-app notifications)"
                )
        elif isinstance(result, merging.MergeRun):
            self.stdout.write(
                f"{job}: skipped, another run is in progress"
                if result.skipped
                else f"{job}: {result.batches} batch emails, {result.released} single emails released, "
                f"{result.digests} digests ({result.merged} emails merged, {result.withheld} withheld)"
            )
        elif isinstance(result, recurrence.RecurrenceRun):
            self.stdout.write(
                f"{job}: {result.created} occurrences made for {result.series} series due "
                f"({result.held} held at the bound, {result.busy} busy, {result.failed} failed)"
            )
        elif job == "sync_trim":
            self.stdout.write(f"{job}: {result.deleted} change-log rows deleted (every xid up to {result.below})")
        else:
            self.stdout.write(f"{job}: {result.archived} tasks archived in {result.batches} batches")
