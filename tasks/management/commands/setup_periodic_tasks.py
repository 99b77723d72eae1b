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
}


class Command(BaseCommand):
    help = "Create the periodic tasks (outbox sweep, overdue detection, due-soon reminders, archiving)."

    @transaction.atomic
    def handle(self, *args, **options):
        for name, (task, seconds, why) in SCHEDULE.items():
            interval, _ = IntervalSchedule.objects.get_or_create(every=seconds, period=IntervalSchedule.SECONDS)
            _, created = PeriodicTask.objects.get_or_create(
                name=name, defaults={"task": task, "interval": interval, "description": why}
            )
            self.stdout.write(f"{'created' if created else 'kept'}: {name} ({task})")
