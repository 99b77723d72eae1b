"""Celery tasks of the scheduled jobs. Thin: each calls one service and is safe to run twice, or twice at once
(two beats, two workers): the database decides what is done exactly once. Scheduled by
`manage.py setup_periodic_tasks`; run by hand with `manage.py run_job`."""

from celery import shared_task

from .services import archiving, deadline_notices, recurrence


@shared_task(name="tasks.notify_overdue", ignore_result=True)
def notify_overdue() -> int:
    """Claim and notify tasks that became overdue. Returns how many were claimed by this run."""
    return deadline_notices.overdue_notify().claimed


@shared_task(name="tasks.notify_due_soon", ignore_result=True)
def notify_due_soon() -> int:
    """Claim and remind tasks that are due soon. Returns how many were claimed by this run."""
    return deadline_notices.due_soon_notify().claimed


@shared_task(name="tasks.archive_completed", ignore_result=True)
def archive_completed() -> int:
    """Archive tasks completed more than AETHER_ARCHIVE_AFTER_DAYS ago. Returns how many were archived."""
    return archiving.completed_tasks_archive().archived


@shared_task(name="tasks.create_recurring_occurrences", ignore_result=True)
def create_recurring_occurrences() -> int:
    """Make the occurrences of repeating tasks whose date has come. Returns how many tasks this run made."""
    return recurrence.recurrences_run().created
