"""Archiving: completed tasks older than AETHER_ARCHIVE_AFTER_DAYS leave the default lists.

Archived tasks are kept (the archive view shows them, analytics still counts them); only `archived_at` (and
`updated_at`) is set, with one ARCHIVED Activity per task (actor None: the system did it), as the other
services record a change: the same verb and shape, written in the same transaction, the batch wrapped in
`task_rows_changing(ids)` so that analytics sees it. Set-based: one UPDATE and one bulk INSERT a batch.

Trashed tasks are archived too: the trash and the archive are independent flags, and a completed task
restored from the trash long after its completion should come back archived, as it would have been. It also
keeps the scan exactly on the partial index `task_unarchived_completed`.

The work goes in batches, one short transaction each, so a large backlog (the first run on an old database)
never holds one giant transaction or lock set. Rows are taken with FOR UPDATE SKIP LOCKED: a task being
reopened right now is simply left for the next run, and two overlapping runs share the backlog instead of
queueing behind each other.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..changes import task_rows_changing
from ..models import Activity, Task

log = logging.getLogger(__name__)
BATCH = 2000


@dataclass(frozen=True)
class ArchiveRun:
    archived: int
    batches: int


def completed_tasks_archive(*, now: datetime | None = None, days: int | None = None, batch: int = BATCH) -> ArchiveRun:
    """Archive every task completed more than `days` (default AETHER_ARCHIVE_AFTER_DAYS) before `now`.

    Idempotent: an archived task is never selected again, so a second run (or a second beat) archives
    nothing twice and writes no second Activity.
    """
    now = now or timezone.now()
    days = settings.AETHER_ARCHIVE_AFTER_DAYS if days is None else days
    cutoff = now - timedelta(days=days)
    archived = batches = 0
    while True:
        with transaction.atomic():
            count = _archive_batch(cutoff=cutoff, now=now, batch=batch)
        if not count:
            break
        archived += count
        batches += 1
        if count < batch:
            break
    log.info("archived %s completed tasks in %s batches", archived, batches)
    return ArchiveRun(archived=archived, batches=batches)


def _archive_batch(*, cutoff: datetime, now: datetime, batch: int) -> int:
    """Archive up to `batch` tasks, oldest completion first. Call inside a transaction."""
    due = Task.objects.filter(
        archived_at__isnull=True, completed_at__isnull=False, completed_at__lt=cutoff
    ).select_for_update(skip_locked=True)
    # At most `batch` ids: the memory of a run does not grow with the backlog.
    ids = list(due.order_by("completed_at", "id").values_list("id", flat=True)[:batch])
    if not ids:
        return 0
    # The rows are locked, so every id is still completed and unarchived; the filter repeats the condition
    # anyway rather than trust that.
    with task_rows_changing(ids):
        archived = list(
            Task.objects.filter(pk__in=ids, archived_at__isnull=True, completed_at__lt=cutoff).values_list(
                "pk", flat=True
            )
        )
        Task.objects.filter(pk__in=archived).update(archived_at=now, updated_at=now)
        Activity.objects.bulk_create(
            [Activity(task_id=pk, actor=None, verb=Activity.Verb.ARCHIVED) for pk in archived], batch_size=batch
        )
    return len(archived)
