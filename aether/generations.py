"""Generations: per team (or per person), a random token in the shared cache that a committed change renews, so
that whatever is cached under a generation stops being read the moment the change is visible. Nothing is
deleted by hand; old entries expire on their own.

A cache of something per team (the dashboard's figures, analytics/cache.py; the task list API's pages,
tasks/list_cache.py) or per person (the API's accounts, accounts/account_cache.py) keys its entries by the
generations of what they show, and renews them from the writers of it:

- `renew_on_commit(ids)`: after the current transaction commits (at once outside one). The renewal runs in an
  on_commit callback, before the view that made the change returns, so its author sees it at the next read.
- `current(ids)`: their generations now (making one where there is none yet). It raises when the cache cannot
  be reached; the caller then computes without caching.
- `seconds`: how long the cache that uses them keeps an entry (its setting); 0 turns that cache off, and with
  it the renewals.
- `cached(ids, what, compute)`: compute(), or what it gave for the same `what` at the current generations of
  `ids`; with the cache off or out of reach, compute() (a cache that cannot be reached costs only that).

A process that dies between its commit and the renewal, or a cache unreachable just then, leaves the old
generation in place: its entries may lag until they expire, which bounds how long a cache may be kept.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

log = logging.getLogger(__name__)


class Generations:
    def __init__(self, namespace: str, *, seconds_setting: str):
        self._key = f"{namespace}:generation:{{}}"
        self.namespace = namespace
        self.seconds_setting = seconds_setting

    @property
    def seconds(self) -> int:
        return int(getattr(settings, self.seconds_setting, 0))

    def renew_on_commit(self, ids: Iterable[int], *, using: str | None = None) -> None:
        if not self.seconds:
            return
        ids = sorted({i for i in ids if i is not None})
        if ids:
            transaction.on_commit(lambda: self._renew(ids), using=using)

    def _renew(self, ids: list[int]) -> None:
        try:
            cache.set_many({self._key.format(t): secrets.token_hex(8) for t in ids}, timeout=None)
        except Exception:  # the change is committed; the cached entries lag until they expire
            log.warning("%s: could not renew the cache generations of %s", self.namespace, ids, exc_info=True)

    def key(self, ids: list[int], what) -> str:
        """The cache key of `what` at the current generations of `ids` (raises if the cache cannot be reached)."""
        return f"{self.namespace}:entry:" + hashlib.sha256(repr((what, ids, self.current(ids))).encode()).hexdigest()

    def cached(self, ids: list[int], what, compute: Callable[[], object]):
        seconds = self.seconds
        if not seconds:
            return compute()
        try:
            key = self.key(ids, what)
            found = cache.get(key)
        except Exception:
            log.warning("%s: the cache cannot be reached; computing", self.namespace, exc_info=True)
            return compute()
        if found is None:
            found = compute()
            try:
                cache.set(key, found, timeout=seconds)
            except Exception:
                log.warning("%s: could not keep the entry in the cache", self.namespace, exc_info=True)
        return found

    def current(self, ids: list[int]) -> list[str]:
        keys = [self._key.format(i) for i in ids]
        found = cache.get_many(keys)
        for key in keys:
            if key not in found:  # first use, or the cache was emptied: any new value is as good
                cache.add(key, secrets.token_hex(8), timeout=None)
                found[key] = cache.get(key)
        return [str(found[key]) for key in keys]
