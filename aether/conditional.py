"""Conditional GETs for the API: an `ETag` from the generations of what a response reads (aether/generations.py),
and `304 Not Modified` to an `If-None-Match` that names it, answered before any row is read.

A view opts in with `ConditionalGetMixin` and says what its GET reads (`etag_scopes`: generation scopes;
`etag_days`: whether it shows anything that depends on today's date in its teams' time zones). The tag is a
hash of:

- the person (and the generation of their account: their teams, role-bearing changes);
- the generations of every scope the view names;
- the URL as asked (path, filters, ordering, cursor) and the media type the answer is rendered in;
- with `etag_days`, each of the person's teams' "today" and due-soon horizon (the overdue marks change at a
  team's midnight, with no write at all).

The person's teams and their time zones come from the account projection authentication already read
(accounts/auth_projection.py), so a 304 costs the Redis round trips of authentication, the throttle and one
`current(...)`, and no database query. The generations are read *before* the response's rows (in `initial`,
ahead of the handler), which is what makes a response computed during a write carry a tag that stops matching
once the write's renewal lands (aether/generations.py says why).

`If-None-Match` is read as RFC 9110 says (a list of entity tags, or `*`); anything unparsable matches nothing.
A response with an ETag also says `Cache-Control: private, no-cache` (a shared cache must not keep one
person's answer; a client must revalidate before reusing it) and `Vary: Authorization`.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence

from django.http import HttpResponseNotModified
from django.utils.cache import patch_vary_headers
from django.utils.http import parse_etags

from . import generations

log = logging.getLogger(__name__)


class NotModified(Exception):
    """Raised from `initial` to leave the handler unrun; answered as a bare 304."""

    def __init__(self, tag: str):
        self.tag = tag


def account_of(user):
    """The account projection authentication attached to `user` (accounts/auth_projection.py), or one read
    now (a request authenticated another way)."""
    from accounts.auth_projection import projection_of

    return projection_of(user)


def etag_for(request, scopes: list[str], *, days: bool) -> str | None:
    """The tag of the answer to `request` given the generations of `scopes` now; None when Redis cannot be
    reached (the answer then goes without one)."""
    return etag_and_values(request, scopes, days=days)[0]


def etag_and_values(
    request, scopes: list[str], *, days: bool, plain: Sequence[str] = ()
) -> tuple[str | None, list[bytes | None]]:
    """`etag_for`, and the values of the cache keys `plain` read in the same round trip (the live pages' event
    id, aether/live/pages.py); (None, None for each) when Redis cannot be reached."""
    user = request.user
    account = account_of(user)
    scopes = [generations.account(user.pk), *scopes]
    try:
        gens, values = generations.current(scopes, plain=plain)
    except Exception:
        log.warning("conditional GET: the generations cannot be read; answering without an ETag", exc_info=True)
        return None, [None] * len(plain)
    parts: list = [user.pk, gens, request.get_full_path(), getattr(request, "accepted_media_type", "")]
    if days:
        from tasks.deadlines import deadlines_for

        deadlines = deadlines_for(request)
        parts.append([(team, deadlines.day(zone)) for team, zone in account.teams])
    digest = hashlib.sha256(repr((scopes, parts)).encode()).hexdigest()[:32]
    return f'W/"{digest}"', values


def matches(request, tag: str) -> bool:
    header = request.headers.get("If-None-Match")
    if not header:
        return False
    try:
        given = parse_etags(header[:8192])
    except Exception:  # parse_etags is lenient already; whatever it makes of a header, never an error
        return False
    if "*" in given:
        return True
    bare = tag.removeprefix("W/")
    return any(t.removeprefix("W/") == bare for t in given)  # weak comparison (RFC 9110 13.1.2)


class ConditionalGetMixin:
    """For an APIView whose GET answers with an ETag. Subclasses define `etag_scopes(request)` (and set
    `etag_days = True` when the body depends on today's date in the person's teams)."""

    etag_days = False

    def etag_scopes(self, request) -> list[str]:
        raise NotImplementedError

    def team_ids(self, request) -> list[int]:
        """The person's teams, from the account projection (no query)."""
        return [team for team, _zone in account_of(request.user).teams]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # negotiation, authentication, permissions, throttles
        self._etag = None
        if request.method == "GET" and request.user.is_authenticated:
            self._etag = etag_for(request, self.etag_scopes(request), days=self.etag_days)
            if self._etag is not None and matches(request, self._etag):
                raise NotModified(self._etag)

    def handle_exception(self, exc):
        if isinstance(exc, NotModified):
            return _not_modified(exc.tag)
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        tag = getattr(self, "_etag", None)
        if tag is not None and response.status_code == 200:
            _validators(response, tag)
        return response


def _not_modified(tag: str) -> HttpResponseNotModified:
    """A bare 304: no body and no Content-Type (nothing is rendered)."""
    response = HttpResponseNotModified()
    _validators(response, tag)
    return response


def _validators(response, tag: str) -> None:
    response["ETag"] = tag
    response["Cache-Control"] = "private, no-cache"
    patch_vary_headers(response, ["Authorization"])
