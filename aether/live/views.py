"""The event stream of a page: `GET /live/stream/?project=<id>` (or `task=`, `team=`, `mine=1`), as
Server-Sent Events (aether/live/__init__.py has the contract).

What a stream may carry is decided here, once, by the same selectors as the page it serves: a project or a task
the person cannot see is a 404, as the board or the task page would answer; a person not signed in gets 403.
Then it hears of its page's team (or the person's teams) and of the person's own notifications.

The response is a never-ending `text/event-stream`: `retry:` first, a `: heartbeat` comment every
HEARTBEAT_SECONDS (so a proxy's read timeout and a dead client are both found out), and one `change` event per
commit that touches the page, with the commit's event id. `X-Accel-Buffering: no` asks a proxy (nginx) in front
not to buffer it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.core.cache import caches
from django.core.exceptions import PermissionDenied
from django.core.handlers.asgi import ASGIRequest
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from . import events
from .hub import CLOSE, Stream, hub, release_connection

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 15
RETRY_MILLISECONDS = 2000  # how soon EventSource reconnects after a dropped connection
SUBSCRIBE_SECONDS = 5  # how long a stream waits for its process's Redis subscription before going on


@dataclass(frozen=True)
class Subscription:
    user_id: int
    teams: frozenset[int]
    required: frozenset[int]
    mine: bool


def _id(request, name: str) -> int | None:
    value = request.GET.get(name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise Http404(f"No such {name}.") from None


def subscription_of(request) -> Subscription:
    """What this person's page may hear of, checked as the page itself checks it (404 / 403)."""
    from accounts.selectors import team_ids_of_person
    from tasks import selectors

    user = request.user
    if not user.is_authenticated:
        raise PermissionDenied("Sign in first.")
    project_id, task_id, team_id = _id(request, "project"), _id(request, "task"), _id(request, "team")
    mine = request.GET.get("mine") == "1"
    if sum(x is not None for x in (project_id, task_id, team_id)) + mine != 1:
        raise Http404("Say which page: project, task, team or mine.")
    if mine:
        teams = frozenset(team_ids_of_person(user.pk))
        return Subscription(user.pk, teams, frozenset(), True)
    if project_id is not None:
        team = get_object_or_404(selectors.projects_visible_to(user), pk=project_id).team_id
    elif task_id is not None:
        visible = selectors.tasks_visible_to(user, include_deleted=True)
        team = get_object_or_404(visible.values("project__team_id"), pk=task_id)["project__team_id"]
    else:
        if team_id not in team_ids_of_person(user.pk):
            raise Http404("No such team.")
        team = team_id
    return Subscription(user.pk, frozenset({team}), frozenset({team}), False)


def _since(request) -> int | None:
    """Where the page's knowledge stops: the browser's Last-Event-ID after a reconnection, else the id the page
    was rendered at (`since`)."""
    for value in (request.headers.get("Last-Event-ID"), request.GET.get("since")):
        if value:
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _current_id() -> int | None:
    """The last event id given (None when Redis does not answer: the page then resynchronises)."""
    try:
        value = await caches["default"].aget(events.SEQUENCE)  # a plain integer, as INCR left it
    except Exception:
        return None
    return int(value or 0)


def _release_request_thread() -> None:
    """Let go of the thread Django gave this request. Under ASGI a request's sync parts (the middleware, the
    check above) run on a thread of the request's own (asgiref's ThreadSensitiveContext), kept until the
    response ends: for a stream, hours, and a thread per open page (~130 KB each, bench/live_bench.py). The
    stream's sync work is over here (the middleware has answered, the connection is back in the pool); should
    Django need a thread again at the end (closing the response), asgiref makes a new one for that moment."""
    from asgiref.sync import SyncToAsync

    try:
        context = SyncToAsync.thread_sensitive_context.get()
    except LookupError:
        return
    executor = SyncToAsync.context_to_thread_executor.pop(context, None)
    if executor is not None:
        executor.shutdown(wait=False)


def _message(event: str, data, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def _events(stream: Stream, since: int | None):
    await hub.start()
    stream.task = asyncio.current_task()
    hub.add(stream)
    try:
        yield f"retry: {RETRY_MILLISECONDS}\n\n"
        # Subscribed first, the event id read after: every event past that id reaches this stream, and the ones
        # up to it are caught up by the refetch `resync` asks for. (A process's first stream starts the
        # subscriber; while Redis is away this gives up after a few seconds, and the page resynchronises later.)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(hub.connected.wait(), SUBSCRIBE_SECONDS)
        current = await _current_id()
        _release_request_thread()
        if since is None or current is None or current > since:
            # events went by since the page was rendered (or since the connection dropped): refetch, conditionally
            yield _message("resync", {}, current)
        while True:
            try:
                item = await asyncio.wait_for(stream.queue.get(), HEARTBEAT_SECONDS)
            except TimeoutError:
                yield ": heartbeat\n\n"
                continue
            if item is CLOSE:
                if stream.closed == "revoked":
                    yield _message("revoked", {})
                return
            event_id, told = item
            if told == "resync":
                yield _message("resync", {})
            else:
                yield _message("change", told, event_id)
    finally:
        hub.remove(stream)


def checked_subscription(request) -> Subscription:
    try:
        return subscription_of(request)
    finally:
        release_connection()


@require_GET
async def stream(request):
    subscription = await sync_to_async(checked_subscription)(request)
    if not isinstance(request, ASGIRequest):
        # Served by WSGI (aether/wsgi.py, a test's live server): a stream would hold a thread for good, so there
        # is none: 204 tells EventSource not to reconnect, and the pages are as they were before live pages.
        return HttpResponse(status=204)
    live = Stream(
        user_id=subscription.user_id,
        teams=set(subscription.teams),
        required=subscription.required,
        mine=subscription.mine,
    )
    response = StreamingHttpResponse(_events(live, _since(request)), content_type="text/event-stream")
    response["Cache-Control"] = "no-store"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on as it comes
    return response
