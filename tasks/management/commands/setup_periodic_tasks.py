"""Create or update the periodic tasks that django-celery-beat runs. Run by `make run` and the Procfile's
release step; idempotent. Admins may change the intervals in Django admin afterwards: this command only
creates what is missing and never overwrites an interval an admin changed."""

from django.core.management.base import BaseCommand
from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask

# name -> (celery task, every N seconds, why)
SCHEDULE = {
    "Outbox sweep": (
        "notifications.deliver_outbox",
        60,
        "Delivers rows whose after-commit message was lost (broker down, worker killed), and retries failures.",
    ),
    # Every minute: a batch closes AETHER_EMAIL_BATCH_SECONDS (5 minutes) after its first email, and a digest
    # is due at a whole hour of its person's time zone, so a minute's granularity keeps both on time. A run
    # with nothing held is one indexed query; each email is combined once however often this runs.
    "Batches and digests": (
        "notifications.merge_held",
        60,
        "Combines held emails: quick updates on one task for one person into one email, and each person's daily "
        "digest at their chosen hour.",
    ),
    # Every 15 minutes: a task turns overdue at midnight in its team's time zone, and teams span every zone,
    # so some team crosses midnight every quarter hour (and a due date edited into the past counts at once).
    # Each (task, due date) is notified once however often this runs.
    "Overdue detection": (
        "tasks.notify_overdue",
        15 * 60,
        "Notifies the assignee (else the creator) of each task whose due date has passed in its team's time "
        "zone, once per due date.",
    ),
    # Hourly: "due soon" is a day-sized window (AETHER_DUE_SOON_HOURS), so an hour late is still in time.
    "Due-soon reminders": (
        "tasks.notify_due_soon",
        60 * 60,
        "Reminds the assignee (else the creator) of each task due within AETHER_DUE_SOON_HOURS, once per due date.",
    ),
    # Every 15 minutes: an occurrence of a repeating task is made when its date begins in its team's time zone
    # (less AETHER_RECURRENCE_AHEAD_DAYS), and some team crosses midnight every quarter hour. Each date of a
    # series is made once however often this runs; dates missed while it did not run are made by the next run.
    "Repeating tasks": (
        "tasks.create_recurring_occurrences",
        15 * 60,
        "Makes each repeating task's next occurrences (a new task each, once per date) when their date comes in "
        "the team's time zone; at most AETHER_RECURRENCE_BOUND per series a run.",
    ),
    # Daily: the cut-off is counted in days (AETHER_ARCHIVE_AFTER_DAYS), so a day's delay changes nothing.
    "Archive completed tasks": (
        "tasks.archive_completed",
        24 * 60 * 60,
        "Archives tasks completed more than AETHER_ARCHIVE_AFTER_DAYS days ago (kept, hidden from default lists).",
    ),
    # Every 15 minutes: each team's forecasts move to its new local day (and its calibration is recomputed) once
    # that day begins in its time zone, and some team crosses midnight every quarter hour. Each (team, day) is
    # done once however often this runs (a claim row, analytics/forecasts/refresh.py); a run with nothing new
    # is two reads. Changes during the day refresh their team at once (the forecasts' observer).
    "Daily forecasts": (
        "analytics.forecasts_daily",
        15 * 60,
        "Refreshes each team's task and project forecasts as of its new local day, once a day, with its "
        "calibration (the backtest of its recently completed tasks).",
    ),
    # Daily: what is kept is counted in days (AETHER_SYNC_KEEP_DAYS); a cursor older than that answers 410.
    "Trim the sync change log": (
        "sync.trim_changes",
        24 * 60 * 60,
        "Deletes the delta-sync change log's rows older than AETHER_SYNC_KEEP_DAYS days.",
    ),
}


class Command(BaseCommand):
    help = (
        "Create the periodic tasks (outbox sweep, batches and digests, overdue detection, due-soon reminders, "
        "repeating tasks, archiving, the sync log's trim, the daily forecasts)."
    )

    @transaction.atomic
    def handle(self, *args, **options):
        for name, (task, seconds, why) in SCHEDULE.items():
            interval, _ = IntervalSchedule.objects.get_or_create(every=seconds, period=IntervalSchedule.SECONDS)
            _, created = PeriodicTask.objects.get_or_create(
                name=name,
                # A message still queued after one interval is superseded by the next run: let it expire.
                defaults={"task": task, "interval": interval, "description": why, "expire_seconds": seconds},
            )
            self.stdout.write(f"{'created' if created else 'kept'}: {name} ({task})")
