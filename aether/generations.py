"""Generations: for each thing a response can read, a random token in Redis that every committed change of it
renews. An `ETag` is made from the generations of what a response reads (aether/conditional.py), so a client's
copy is still good exactly while none of them has moved, and that is known from Redis alone, before any row
is read. The API's account projection (accounts/auth_projection.py) is kept under its person's generation the
same way.

The scopes, and what renews them (`scopes_of` is the one map from a change to its scopes):

- `task:<id>`: one task, its row, stages, labels, comments, history, repeat rule. Renewed by (aether/changes.py
  `Changes`) `tasks` and `comments`.
- `tasks:<team>`: the team's tasks as lists, searches and dashboards read them. `tasks`, `comments`.
- `team:<team>`: the team's own things: the team, labels, projects, templates, its members' names and roles,
  its figures rebuilt. `teams`, `members`.
- `account:<person>`: who the person is to authentication: active, password, superuser, their teams and those
  teams' time zones. `accounts`, `members`.
- `inbox:<person>`: the person's notifications and notification settings. `notifications`, `inboxes`.

The observer here (`GenerationsObserver`, registered in AetherConfig.ready) renews the scopes of a change
after its transaction commits, in one Redis round trip, before the view that made the change returns (so its
author's next request sees it).

Why the order matters: a response reads the generations first and its rows after. A change commits first and
renews after. So a response computed while a change commits carries the generation from before the renewal:
whatever rows it read, its ETag stops matching once the renewal lands, and no client is ever told "not
modified" about rows older than the last committed change.

A renewal lost between a commit and its callback (the process killed there, Redis unreachable just then)
would leave the old generation in place; every generation expires AETHER_GENERATION_SECONDS after it was set,
and its next reader makes a new random one, which bounds how long such a loss could go unseen (and how long
a generation of a task nobody reads stays in Redis).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache

from .changes import Changes

log = logging.getLogger(__name__)


def task(task_id: int) -> str:
    return f"task:{task_id}"


def team_tasks(team_id: int) -> str:
    return f"tasks:{team_id}"


def team(team_id: int) -> str:
    return f"team:{team_id}"


def account(user_id: int) -> str:
    return f"account:{user_id}"


def inbox(user_id: int) -> str:
    return f"inbox:{user_id}"


def scopes_of(changes: Changes) -> set[str]:
    """Every scope a change moves (see the table above)."""
    scopes: set[str] = set()
    for task_id, teams in changes.tasks.items():
        scopes.add(task(task_id))
        scopes.update(team_tasks(t) for t in teams)
    for task_id, team_id in changes.comments.values():
        scopes.update((task(task_id), team_tasks(team_id)))
    scopes.update(inbox(u) for u in changes.notifications.values())
    scopes.update(team(t) for t in changes.teams)
    for user_id, team_id in changes.members:
        scopes.update((account(user_id), team(team_id)))
    scopes.update(account(u) for u in changes.accounts)
    scopes.update(inbox(u) for u in changes.inboxes)
    return scopes


def seconds() -> int:
    return settings.AETHER_GENERATION_SECONDS


def key(scope: str) -> str:
    return f"gen:{scope}"


def current(scopes: Iterable[str], *, plain: Iterable[str] = ()) -> tuple[list[str], list[bytes | None]]:
    """The generations of `scopes` (a new random one where there is none yet), and the values of the cache keys
    `plain` (raw bytes, None where unset), in one round trip. Raises when Redis cannot be reached."""
    scopes, plain = list(scopes), list(plain)
    candidates = [secrets.token_hex(8) for _ in scopes]
    found = cache.get_or_set_and_get([key(s) for s in scopes], candidates, plain, timeout=seconds())
    return [g.decode() for g in found[: len(scopes)]], found[len(scopes) :]


def renew(scopes: Iterable[str]) -> None:
    """New random generations for these scopes now (after a commit: see the module docstring)."""
    scopes = sorted(set(scopes))
    if scopes:
        cache.set_raw_many({key(s): secrets.token_hex(8) for s in scopes}, timeout=seconds())


class GenerationsObserver:
    """Renews the generations a committed change moved (aether/changes.py)."""

    def committed(self, changes: Changes) -> None:
        scopes = scopes_of(changes)
        try:
            renew(scopes)
        except Exception:  # committed already; the old generations lapse after AETHER_GENERATION_SECONDS
            log.warning("could not renew the generations %s", sorted(scopes)[:20], exc_info=True)


observer = GenerationsObserver()
