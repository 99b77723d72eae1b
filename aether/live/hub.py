"""The process's one Redis subscriber and its in-process fan-out to the open streams (aether/live/__init__.py).

Everything here runs on the web process's event loop; nothing blocks it. `Stream` is one open page: the person,
the teams its page shows, and a bounded queue of what to send. The hub indexes streams by team and by person;
a message is parsed once and each stream gets the part of it that its page shows, by `put_nowait`: a stream
whose queue is full belongs to a client that has stopped reading, and is dropped on the spot.

A member who left a team, or whose account changed, is re-checked against the database (`current_teams`) before
their streams hear anything more of that team: the team is held back from them at once, while the check
runs, and a stream whose page's team they no longer belong to is closed.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field

from asgiref.sync import sync_to_async
from django.conf import settings

from . import events

log = logging.getLogger(__name__)

QUEUE_SIZE = 64  # messages waiting for one client; a client this far behind is not reading
RECONNECT_SECONDS = (0.5, 1, 2, 5)  # backoff of the subscriber after a Redis outage (the last one repeats)

CLOSE = object()  # the last item of a closed stream's queue


@dataclass(eq=False)
class Stream:
    """One open page. `teams` are those it hears of; `required` those its page is about (leaving one of them
    closes it); `mine`: a page of all the person's teams (My work, the calendar), which follows joins too."""

    user_id: int
    teams: set[int]
    required: frozenset[int] = frozenset()
    mine: bool = False
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    held: set[int] = field(default_factory=set)  # teams held back while a membership is re-checked
    task: asyncio.Task | None = None  # the task writing this stream out (cancelled when it is dropped)
    closed: str | None = None  # why it was closed: "revoked", "dropped"

    def offer(self, item) -> bool:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            return False
        return True

    def end(self, why: str) -> None:
        self.closed = why
        while not self.queue.empty():  # what it had not sent is let go at once
            self.queue.get_nowait()
        self.queue.put_nowait(CLOSE)


def release_connection() -> None:
    """Give this thread's database connection back (to the pool) now: a stream lives for hours, and must not
    hold a connection it used once, at its start (outside a test's transaction, which owns its connection)."""
    from django.db import connection

    if not connection.in_atomic_block:
        connection.close()


def current_teams(user_id: int) -> set[int]:
    """The teams the person may see now (accounts/selectors.py), the connection given back at once."""
    from accounts.selectors import team_ids_of_person

    try:
        return team_ids_of_person(user_id)
    finally:
        release_connection()


class Hub:
    def __init__(self):
        self.by_team: dict[int, set[Stream]] = defaultdict(set)
        self.by_user: dict[int, set[Stream]] = defaultdict(set)
        self.listener: asyncio.Task | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.connected: asyncio.Event | None = None  # set while subscribed (made on the loop, in start)
        self.dropped = 0  # streams dropped for not reading (for the tests and the logs)
        self._checks: set[asyncio.Task] = set()

    # --- streams -----------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the subscriber on this loop if it is not running (the first stream of a process starts it)."""
        loop = asyncio.get_running_loop()
        if self.listener is None or self.listener.done() or self.loop is not loop:
            self.loop = loop
            self.connected = asyncio.Event()
            self.listener = loop.create_task(self._listen(), name="aether-live-subscriber")

    def add(self, stream: Stream) -> None:
        for team in stream.teams:
            self.by_team[team].add(stream)
        self.by_user[stream.user_id].add(stream)

    def remove(self, stream: Stream) -> None:
        for team in list(stream.teams):
            self._unindex(self.by_team, team, stream)
        self._unindex(self.by_user, stream.user_id, stream)

    @staticmethod
    def _unindex(index: dict, key: int, stream: Stream) -> None:
        found = index.get(key)
        if found is not None:
            found.discard(stream)
            if not found:
                del index[key]

    def streams(self) -> int:
        return sum(len(s) for s in self.by_user.values())

    def close(self, stream: Stream, why: str) -> None:
        self.remove(stream)
        stream.end(why)
        if why == "dropped":
            self.dropped += 1
            if stream.task is not None and stream.task is not asyncio.current_task():
                stream.task.cancel()  # its write may be stuck on a full socket: let the connection go now

    # --- messages ----------------------------------------------------------------------------------------

    def dispatch(self, raw: bytes | str) -> None:
        """Fan one published message out (see aether/live/events.py for its shape)."""
        try:
            message = json.loads(raw)
            event_id, found = int(message["id"]), message["events"]
        except (ValueError, KeyError, TypeError):
            log.warning("live: an unreadable message on the channel: %.200r", raw)
            return
        # First whom this commit may have taken a team from: its other events (the leaver's tasks unassigned in
        # the same transaction) must not reach them.
        for event in found:
            if event.get("kind") in ("members", "account"):
                self._recheck(event["user"], event.get("team"))
        out: dict[Stream, list[dict]] = defaultdict(list)
        for event in found:
            kind = event.get("kind")
            if kind == "members":
                # the person themselves (My work follows their teams) and the team's pages (its member list)
                for stream in self.by_user.get(event["user"], ()):
                    out[stream].append({"kind": "members"})
                self._to_teams(out, [event["team"]], {"kind": "team"})
            elif kind == "account":
                for stream in self.by_user.get(event["user"], ()):
                    out[stream].append({"kind": "account"})
            elif kind == "notifications":
                for stream in self.by_user.get(event["user"], ()):
                    out[stream].append({"kind": "notifications"})
            else:
                # what a page is told: the kind and ids, never the teams (a task moved to a team the viewer
                # is not in would name it)
                told = {k: v for k, v in event.items() if k != "teams"}
                self._to_teams(out, event.get("teams", ()), told)
        for stream, told in out.items():
            if not stream.offer((event_id, told)):
                log.warning("live: dropped a stream of person %s that stopped reading", stream.user_id)
                self.close(stream, "dropped")

    def _to_teams(self, out, teams, told: dict) -> None:
        for team in teams:
            for stream in self.by_team.get(team, ()):
                if team not in stream.held and told not in out[stream]:
                    out[stream].append(told)

    def resync_all(self) -> None:
        """After the subscriber was away: every page refetches (conditionally) what it shows."""
        for streams in list(self.by_user.values()):
            for stream in list(streams):
                if not stream.offer((None, "resync")):
                    self.close(stream, "dropped")

    # --- membership ----------------------------------------------------------------------------------------

    def _recheck(self, user_id: int, team_id: int | None) -> None:
        streams = list(self.by_user.get(user_id, ()))
        if not streams:
            return
        for stream in streams:
            stream.held.update(stream.teams if team_id is None else {team_id})
        task = asyncio.get_running_loop().create_task(self._apply_teams(user_id, streams))
        self._checks.add(task)
        task.add_done_callback(self._checks.discard)

    async def _apply_teams(self, user_id: int, streams: list[Stream]) -> None:
        try:
            teams = await sync_to_async(current_teams, thread_sensitive=False)(user_id)
        except Exception:  # the database is away: close them (their reconnection is checked again by the view)
            log.warning("live: could not re-check person %s; closing their streams", user_id, exc_info=True)
            teams = set()
        for stream in streams:
            if stream.closed:
                continue
            if not stream.required <= teams:
                self.close(stream, "revoked")
                continue
            if stream.mine:
                self.remove(stream)
                stream.teams = set(teams)
                self.add(stream)
            else:
                gone = stream.teams - teams
                if gone:
                    self.remove(stream)
                    stream.teams -= gone
                    self.add(stream)
            stream.held.clear()

    # --- the subscriber ------------------------------------------------------------------------------------

    async def _listen(self) -> None:
        import redis.asyncio as aioredis

        attempt = 0
        first = True
        while True:
            connect_timeout = settings.CACHES["default"]["OPTIONS"]["socket_connect_timeout"]  # REDIS_CONNECT_TIMEOUT
            client = aioredis.from_url(
                settings.REDIS_URL, socket_connect_timeout=connect_timeout, health_check_interval=15
            )
            try:
                async with client.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(events.channel())
                    self.connected.set()
                    if not first:
                        log.info("live: subscribed again after an outage; every page resynchronises")
                        self.resync_all()
                    first, attempt = False, 0
                    while True:
                        message = await pubsub.get_message(timeout=30)
                        if message is not None and message.get("type") == "message":
                            self.dispatch(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away (aether/outages.py): wait, subscribe again, resynchronise
                self.connected.clear()
                first = False
                delay = RECONNECT_SECONDS[min(attempt, len(RECONNECT_SECONDS) - 1)]
                attempt += 1
                log.warning("live: the Redis subscription failed (%s); again in %ss", exc, delay)
                await asyncio.sleep(delay)
            finally:
                await client.aclose()


hub = Hub()
