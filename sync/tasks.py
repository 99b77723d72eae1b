"""Celery task of the sync change log's trim, scheduled by `manage.py setup_periodic_tasks`; run by hand with
`manage.py run_job sync_trim`. Thin and safe to run twice."""

from celery import shared_task

from .services import changes_trim


@shared_task(name="sync.trim_changes", ignore_result=True)
def trim_changes() -> int:
    """Delete change-log rows older than AETHER_SYNC_KEEP_DAYS. Returns how many."""
    return changes_trim().deleted
