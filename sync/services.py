"""Trimming the sync change log (sync/models.py) to what is kept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from .models import Change, Trimmed


@dataclass(frozen=True)
class TrimRun:
    deleted: int
    below: int  # every row of a transaction below this xid is gone


def changes_trim(*, now: datetime | None = None, keep_days: int | None = None) -> TrimRun:
    """Delete the log rows older than `keep_days` (AETHER_SYNC_KEEP_DAYS), whole transactions at a time (every
    row below an xid), and record that xid: a cursor whose snapshot may not have seen one of them (its xmin is
    below it) answers 410 (sync/selectors.py) instead of missing it. A cursor whose snapshot's xmin is at or
    above it had seen every transaction below it end, so every such row was delivered to it. Running this
    twice, or twice at once, does no harm: the second waits for the first's lock and finds less."""
    now = now or timezone.now()
    keep_days = settings.AETHER_SYNC_KEEP_DAYS if keep_days is None else keep_days
    with transaction.atomic():
        trimmed, _ = Trimmed.objects.select_for_update().get_or_create(pk=1)
        old = Change.objects.filter(created_at__lt=now - timedelta(days=keep_days))
        newest_old = old.aggregate(xid=Max("xid"))["xid"]
        if newest_old is None or newest_old < trimmed.xid:
            return TrimRun(0, trimmed.xid)
        below = newest_old + 1
        deleted, _ = Change.objects.filter(xid__lt=below).delete()
        trimmed.xid, trimmed.at = below, now
        trimmed.save(update_fields=["xid", "at"])
    return TrimRun(deleted, below)
