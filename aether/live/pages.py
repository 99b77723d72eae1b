"""What a live page needs from its view: where its stream is, the event id it was rendered at, and an ETag for
its refetches (aether/live/__init__.py).

`live_page(about)` wraps a page view (the board, the task list, a task, My work, the calendar). Before the view
runs it reads, in one Redis round trip, the generations of what such a page shows (the person's account, each
of their teams' tasks and own things, their inbox: the bell is on every page) and the current event id. The
ETag is made from them as aether/conditional.py makes the API's; read before any row, it stops matching once a
change that landed meanwhile renews its generation.

Only the page's own refetches (static/js/live.js, header `X-Aether-Live: 1`) are answered `304` to a matching
`If-None-Match`: an ordinary visit always renders, so its flash messages are consumed as before.
"""

from __future__ import annotations

import functools
from urllib.parse import urlencode

from django.urls import reverse

from .. import generations
from ..conditional import _not_modified, _validators, account_of, etag_and_values, matches
from . import events

REFETCH_HEADER = "X-Aether-Live"


def page_state(request) -> tuple[str | None, int | None]:
    """(the ETag of this page now, the last event id given), or (None, None) when Redis does not answer. The tag
    moves with everything the person's pages show: their teams' tasks and own things, their inbox, their
    account, and the day in each team (the overdue marks move at a team's midnight)."""
    user = request.user
    scopes = [generations.inbox(user.pk)]
    for team, _zone in account_of(user).teams:
        scopes += [generations.team_tasks(team), generations.team(team)]
    tag, (seq,) = etag_and_values(request, scopes, days=True, plain=[events.SEQUENCE])
    return tag, None if tag is None else int(seq or 0)


def live_page(about: str):
    """Decorate a page view (under login_required) whose page is about `about`: "project" or "task" (the view's
    `pk`), or "mine" (all the person's teams)."""

    def decorate(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method != "GET":
                return view(request, *args, **kwargs)
            tag, since = page_state(request)
            refetch = request.headers.get(REFETCH_HEADER) == "1"
            if refetch and tag is not None and matches(request, tag):
                return _not_modified(tag)
            query = {"mine": 1} if about == "mine" else {about: kwargs["pk"]}
            if since is not None:
                query["since"] = since
            request.live = {"url": f"{reverse('live_stream')}?{urlencode(query)}", "etag": tag or ""}
            response = view(request, *args, **kwargs)
            if refetch and tag is not None and response.status_code == 200:
                _validators(response, tag)  # as the 304's: ETag, Cache-Control and Vary
            return response

        return wrapped

    return decorate
