"""The daily digest, foreseen: when the next one goes out, in the person's words and time zone, and a test
digest sent on request (what the next one would hold now), written to the outbox like every email."""

from __future__ import annotations

import time
import zoneinfo
from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.utils import timezone
from django.utils.dateformat import format as date_format

from .merging import LISTED_MAX, digest_context
from .models import EmailCadence, EmailPreference, OutboxEmail, OutboxState
from .services import email_enqueue, next_digest_at

# One test digest per person per this many seconds: enough to try a change of hour or zone, not a mail cannon.
TEST_DIGEST_EVERY = 300


@dataclass(frozen=True)
class NextDigest:
    at: datetime  # UTC
    local: datetime  # in the person's digest time zone
    waiting: int  # updates held for it now
    chosen: bool  # the person gets a digest (else: when it would go, if they chose one)

    @property
    def when(self) -> str:
        """ "today at 08:00", "tomorrow, Sunday 6 Dec, at 08:00", in the digest's time zone (as pages write dates)."""
        today = timezone.now().astimezone(self.local.tzinfo).date()
        clock = date_format(self.local, "H:i")
        day = self.local.date()
        if day == today:
            return f"today at {clock}"
        words = "tomorrow, " if (day - today).days == 1 else ""
        return f"{words}{date_format(self.local, 'l j M')}, at {clock}"

    @property
    def zone(self) -> str:
        return str(self.local.tzinfo).replace("_", " ")


def next_digest(pref: EmailPreference, *, now: datetime | None = None) -> NextDigest:
    """When `pref`'s person gets (or, without a digest chosen, would get) their next digest, and how many
    updates wait for it. One query (the count, on the held rows' index) when a digest is chosen, none else."""
    now = now or timezone.now()
    at = next_digest_at(now, hour=pref.digest_hour, time_zone=pref.time_zone)
    chosen = pref.cadence == EmailCadence.DIGEST
    waiting = 0
    if chosen and pref.user_id is not None:
        waiting = OutboxEmail.objects.filter(user_id=pref.user_id, status=OutboxState.DIGEST).count()
    return NextDigest(at=at, local=at.astimezone(zoneinfo.ZoneInfo(pref.time_zone)), waiting=waiting, chosen=chosen)


class TooSoon(Exception):
    def __init__(self, seconds: int):
        super().__init__(f"A test digest was sent less than {TEST_DIGEST_EVERY // 60} minutes ago.")
        self.seconds = seconds


def digest_send_test(*, actor) -> int:
    """Write a test digest for `actor` to the outbox, due now: what their next digest would hold at this moment
    (the updates held for it, which stay held for the real one), or, with none, an empty one saying so.
    Raises TooSoon (with the seconds to wait) within TEST_DIGEST_EVERY of the previous one. Returns how many
    updates it lists."""
    key = f"notifications:test-digest:{actor.pk}"
    now = time.time()
    if not cache.add(key, now + TEST_DIGEST_EVERY, timeout=TEST_DIGEST_EVERY):
        until = cache.get(key) or now + TEST_DIGEST_EVERY
        raise TooSoon(max(int(until - now), 1))
    held = list(OutboxEmail.objects.filter(user=actor, status=OutboxState.DIGEST).order_by("pk")[: LISTED_MAX * 4 + 1])
    context = digest_context(held) if held else {"actor_name": "Aether", "url": "", "count": 0, "sections": []}
    context |= {"recipient_name": actor.get_short_name(), "test": True}
    context["message"] = f"Test digest: {context['count']} update{'' if context['count'] == 1 else 's'}"
    email_enqueue(
        kind="digest",
        recipient=actor.email,
        dedupe_key=f"test-digest:{actor.pk}:{int(now * 1000)}",
        context=context,
        user=actor,
    )
    return context["count"]
