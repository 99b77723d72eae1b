"""The API's rate limits: per signed-in user on every endpoint (rate `user`), and per client address on the
sign-in endpoint (rate `token_address`). Kept apart from aether/api.py because DRF's settings import the
throttle classes while its views module is loading, and aether/api.py imports those views.
"""

from __future__ import annotations

from rest_framework import throttling
from rest_framework.throttling import SimpleRateThrottle


class SlidingWindowThrottle(SimpleRateThrottle):
    """A rate limit counted in one atomic step per request (a sliding window counter), in place of DRF's.

    DRF's SimpleRateThrottle keeps a client's request times as a list in the cache, read and written back whole
    by every request: two requests of one client at the same moment read the same list and each writes back its
    own, so one of them is not counted (a client on N connections gets up to N times the rate), and the list is
    as long as the rate (1,200 pickled times read and written per request at the default user rate).

    Here each window (the rate's period) has one counter per client, incremented atomically (Redis INCR), and
    a request is allowed while

        previous window's count * the share of that window still inside the last period + this window's count

    is at most the rate. That is one round trip to the cache (INCR, EXPIRE and GET in one pipeline) and two
    integers per client. Every request counts, refused ones too, so a client that keeps hammering stays
    refused. The estimate takes the previous window's requests as spread evenly over it: it can be off by how
    they were bunched, never by a lost count.
    """

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        now = self.timer()
        window = int(now // self.duration)
        self.elapsed = (now - window * self.duration) / self.duration  # the share of this window gone, [0, 1)
        self.current, self.previous = window_counts(
            self.cache, f"{self.key}:{window}", f"{self.key}:{window - 1}", timeout=2 * self.duration
        )
        return self.previous * (1 - self.elapsed) + self.current <= self.num_requests

    def wait(self):
        """Seconds until a request would be allowed again, if the client sent none meanwhile."""
        limit = self.num_requests
        if self.current >= limit:
            # Not in this window: in the next, this window's count weighs (1 - f) at its share f; allowed once
            # current * (1 - f) + 1 <= limit.
            share = 1 - (limit - 1) / self.current if self.current else 0
            return (1 - self.elapsed + share) * self.duration
        # Within this window, once the previous one's weight has fallen far enough for one more.
        share = 1 - (limit - self.current - 1) / self.previous
        return max(0.0, (share - self.elapsed) * self.duration)


def window_counts(cache, key: str, previous_key: str, *, timeout: int) -> tuple[int, int]:
    """Add one to the counter `key` (which lives `timeout` seconds) and read `previous_key`: (key, previous). One
    round trip to Redis (aether.cache.RedisCache.incr_and_get)."""
    return cache.incr_and_get(key, previous_key, timeout=timeout)


class UserRateThrottle(SlidingWindowThrottle, throttling.UserRateThrottle):
    """Requests per signed-in user (rate `user`), anonymous ones per address: DRF's UserRateThrottle (its scope
    and keys), counted as above."""


class TokenAddressThrottle(SlidingWindowThrottle):
    """Sign-in attempts per client address (rate `token_address`): a flood guard. Guessing per account is bounded
    by the sign-in policy (accounts/signin.py), not by a throttle: a per-account throttle that counts every
    attempt lets a stranger keep the owner out."""

    scope = "token_address"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
