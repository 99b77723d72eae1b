"""Combining held emails: a batch of quick updates on one task, and the daily digest, each one outbox row.

notify_many writes an event's email in the change's transaction as usual, but held (notifications/services.py,
_email_timing): `batched` until AETHER_EMAIL_BATCH_SECONDS after it, for a person who gets emails as they
happen, or `digest` until their next digest hour. Held rows are never claimed by the delivery worker. The merge
job (Celery beat, every minute; `held_merge`) then, in one transaction:

1. batches: takes every `batched` row of each (person, task) whose earliest row is due, under row locks in id
   order (one statement for batches and digests). A batch of one goes out as itself (pending, due now); two or
   more become one `task_updates` row listing every part, and the parts become `merged`, naming it in
   `merged_into`.
2. digests: takes every `digest` row that is due, under the same locks, and makes one `digest` row per person
   listing them by section (assigned to me, comments and mentions, completed, overdue and due soon).
3. after commit, asks a worker to deliver the new rows. The worker renders them like any row, from kind and
   context (the parts' messages are copied into the combined row's context: the row is the record).

Exactly once: a part is taken only while it is still held and locked by this run (FOR UPDATE, in id order, so
two runs never deadlock: the second waits, then finds the parts merged and skips them), and the combined row's
dedupe key names its first part, so no part can be in two combined emails, and a rolled-back run leaves every
part held. The advisory lock only spares an overlapping run its wasted work. A part whose recipient has left
the team since is marked dead (the audience is checked again, once per run), as the worker does.

An event that commits while a batch is being merged is not lost: it stays held and starts the next batch.
"""

from __future__ import annotations

import logging
import zlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Now
from django.urls import reverse
from django.utils import timezone

from .models import Kind, OutboxEmail, OutboxState
from .services import NOT_A_MEMBER, audience_current, delivery_enqueue_on_commit

log = logging.getLogger(__name__)

# One run takes at most this many held rows (one transaction, bounded in time and memory); `more` then says
# so and the Celery task queues another run at once. A batch or digest cut by the bound goes out as two emails.
ROWS_PER_RUN = 20_000
# A combined email lists at most this many parts and says how many more there were (all stay recorded).
LISTED_MAX = 200

KICK_IDS_MAX = 500

# The digest's sections, in order: (title, kinds).
DIGEST_SECTIONS = [
    ("Assigned to you", [Kind.TASK_ASSIGNED]),
    ("Comments and mentions", [Kind.TASK_COMMENTED, Kind.MENTIONED]),
    ("Completed", [Kind.TASK_COMPLETED]),
    ("Overdue and due soon", [Kind.TASK_OVERDUE, Kind.TASK_DUE_SOON]),
]


@dataclass(frozen=True)
class MergeRun:
    """What one run did: combined batch emails written, batches of one released as themselves, digests written,
    parts merged, parts withheld (recipient left the team); `skipped` if another run held the advisory lock."""

    batches: int = 0
    released: int = 0
    digests: int = 0
    merged: int = 0
    withheld: int = 0
    skipped: bool = False
    more: bool = False


def _advisory_try() -> bool:
    """pg_try_advisory_xact_lock: True if this transaction now holds the merge's lock, False if another does."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [zlib.crc32(b"aether:notifications:merge")])
        return bool(cursor.fetchone()[0])


def held_merge(*, now: datetime | None = None, skip_if_busy: bool = True, limit: int = ROWS_PER_RUN) -> MergeRun:
    """Merge every batch and digest due at `now` (injectable, so tests stand at any instant), up to `limit`
    held rows. Safe to run any number of times, anywhere, at once."""
    now = now or timezone.now()
    with transaction.atomic():
        if skip_if_busy and not _advisory_try():
            log.info("merge of held emails: another run is in progress; skipping")
            return MergeRun(skipped=True)
        # One statement locks both kinds in id order, as every other locker of held rows does (preference
        # changes, a member's removal): no two of them can wait for each other in a cycle.
        locked = _lock(
            (
                Q(status=OutboxState.BATCHED)
                & (
                    Exists(
                        OutboxEmail.objects.filter(
                            status=OutboxState.BATCHED,
                            next_attempt_at__lte=now,
                            user_id=OuterRef("user_id"),
                            task_id=OuterRef("task_id"),
                        )
                    )
                    # a row whose task or user was deleted since is a batch of its own
                    | (Q(next_attempt_at__lte=now) & (Q(task_id__isnull=True) | Q(user_id__isnull=True)))
                )
            )
            | Q(status=OutboxState.DIGEST, next_attempt_at__lte=now),
            limit + 1,
        )
        more = len(locked) > limit
        locked = locked[:limit]
        batch_rows = [r for r in locked if r.status == OutboxState.BATCHED]
        digest_rows = [r for r in locked if r.status == OutboxState.DIGEST]
        batch_rows, digest_rows, withheld = _withhold_from_former_members(batch_rows, digest_rows)

        new_ids: list[int] = []
        batches = released = digests = merged = 0
        for rows in _groups(batch_rows, lambda r: (r.user_id, r.task_id) if r.user_id and r.task_id else r.pk):
            if min(r.next_attempt_at for r in rows) > now:
                continue  # only the batch's newer rows were left to this run: they start the next batch
            if len(rows) == 1:
                OutboxEmail.objects.filter(pk=rows[0].pk, status=OutboxState.BATCHED).update(
                    status=OutboxState.PENDING, next_attempt_at=Now()
                )
                new_ids.append(rows[0].pk)
                released += 1
                continue
            new_ids.append(_combine(rows, Kind.TASK_UPDATES, _batch_context(rows)))
            batches += 1
            merged += len(rows)
        for rows in _groups(digest_rows, lambda r: r.user_id or r.recipient):
            new_ids.append(_combine(rows, Kind.DIGEST, digest_context(rows)))
            digests += 1
            merged += len(rows)
        if new_ids:  # a big run is the sweep's, as in notify_many, rather than one message carrying every id
            delivery_enqueue_on_commit(new_ids if len(new_ids) <= KICK_IDS_MAX else None)
    run = MergeRun(batches=batches, released=released, digests=digests, merged=merged, withheld=withheld, more=more)
    if new_ids or withheld:
        log.info(
            "merge of held emails: %s batches, %s released, %s digests, %s parts merged, %s withheld",
            run.batches, run.released, run.digests, run.merged, run.withheld,
        )  # fmt: skip
    return run


def _lock(condition: Q, limit: int) -> list[OutboxEmail]:
    return list(OutboxEmail.objects.filter(condition).order_by("pk").select_for_update(of=("self",))[:limit])


def _groups(rows: list[OutboxEmail], key) -> list[list[OutboxEmail]]:
    groups: dict = defaultdict(list)
    for row in rows:  # in id order, so each group is too
        groups[key(row)].append(row)
    return list(groups.values())


def _withhold_from_former_members(*row_lists: list[OutboxEmail]):
    """Parts about a team their recipient has left are not merged but dead (one audience query for the run)."""
    pairs = {(r.user_id, r.team_id) for rows in row_lists for r in rows if r.user_id and r.team_id is not None}
    left = pairs - audience_current(pairs) if pairs else set()
    gone = {r.pk for rows in row_lists for r in rows if (r.user_id, r.team_id) in left}
    if gone:
        OutboxEmail.objects.filter(pk__in=gone).update(
            status=OutboxState.DEAD, claimed_until=None, last_error=NOT_A_MEMBER
        )
    return (*([r for r in rows if r.pk not in gone] for rows in row_lists), len(gone))


def _combine(rows: list[OutboxEmail], kind: str, context: dict) -> int:
    """Write the combined row of `rows` (held and locked by this run) and mark them merged into it."""
    last = rows[-1]  # the newest part knows the recipient's current address and name
    combined = OutboxEmail.objects.create(
        recipient=last.recipient,
        user_id=last.user_id,
        subject=context["message"][:255],  # a placeholder for the admin: the worker renders the real one
        context=context,
        kind=kind,
        task_id=last.task_id if kind == Kind.TASK_UPDATES else None,
        team_id=last.team_id if kind == Kind.TASK_UPDATES else None,
        dedupe_key=f"merged:{rows[0].pk}",
        status=OutboxState.PENDING,
        next_attempt_at=Now(),  # due on the database's clock, which the worker's claim reads (`now` may be a test's)
    )
    marked = OutboxEmail.objects.filter(pk__in=[r.pk for r in rows], status__in=[r.status for r in rows]).update(
        status=OutboxState.MERGED, merged_into=combined, claimed_until=None
    )
    if marked != len(rows):  # cannot happen under the row locks; never send a combined email with a part lost
        raise RuntimeError(f"merging outbox rows {[r.pk for r in rows]}: {marked} were still held")
    return combined.pk


def _part(row: OutboxEmail) -> dict:
    ctx = row.context or {}
    return {
        "kind": row.kind,
        "message": ctx.get("message", row.subject),
        "actor_name": ctx.get("actor_name", ""),
        "url": ctx.get("url", ""),
        "task_title": ctx.get("task_title", ""),
        "comment_body": ctx.get("comment_body", ""),
        "mentions": ctx.get("mentions") or {},
        "due_date": ctx.get("due_date", ""),
        "at": row.created_at.isoformat() if row.created_at else "",
    }


def _listed(rows: list[OutboxEmail]) -> tuple[list[dict], int]:
    return [_part(r) for r in rows[:LISTED_MAX]], max(len(rows) - LISTED_MAX, 0)


def _batch_context(rows: list[OutboxEmail]) -> dict:
    last = rows[-1].context or {}
    title = last.get("task_title", "")
    parts, more = _listed(rows)
    return {
        "recipient_name": last.get("recipient_name", ""),
        "actor_name": "Aether",
        "task_title": title,
        "message": f"{len(rows)} updates on “{title}”",
        "url": last.get("url", "").split("#", 1)[0],
        "count": len(rows),
        "parts": parts,
        "more": more,
    }


def digest_context(rows: list[OutboxEmail]) -> dict:
    last = rows[-1].context or {}
    sections = []
    for title, kinds in DIGEST_SECTIONS:
        in_section = [r for r in rows if r.kind in {str(k) for k in kinds}]
        if in_section:
            parts, more = _listed(in_section)
            sections.append({"title": title, "count": len(in_section), "parts": parts, "more": more})
    count = len(rows)
    return {
        "recipient_name": last.get("recipient_name", ""),
        "actor_name": "Aether",
        "message": f"Your Aether digest: {count} update{'' if count == 1 else 's'}",
        "url": reverse("notifications:list"),
        "count": count,
        "sections": sections,
    }
