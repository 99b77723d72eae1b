"""The live publisher: an observer of committed changes (aether/changes.py) that publishes them on Redis.

Registered in AetherConfig.ready beside the generations' observer. `committed` runs only after the writer's
transaction committed, so a rolled-back change is never published. Publishing is best effort: a commit is
not undone because Redis did not answer; pages that missed it catch up on their next reconnection or change
(aether/live/__init__.py).
"""

from __future__ import annotations

import json
import logging

from django.core.cache import cache

from ..changes import Changes
from . import events

log = logging.getLogger(__name__)


class LivePublisher:
    def publish(self, changes: Changes) -> int | None:
        """Publish a committed change; its event id, or None when there was nothing to say."""
        found = events.events_of(changes)
        if not found:
            return None
        payload = json.dumps(found, separators=(",", ":"))
        return cache.incr_and_publish(events.SEQUENCE, events.channel(), payload)

    def committed(self, changes: Changes) -> None:
        try:
            self.publish(changes)
        except Exception:  # committed already; the pages catch up on their next event or reconnection
            log.warning("could not publish a live change", exc_info=True)


observer = LivePublisher()
