"""The one observer registry: what follows a change, for every writer of every app.

Writers say what they changed; observers act on it. Nothing else renews a generation, writes a sync row or
keeps a figure, so a writer that reports its change is followed by all of them, and a writer that does not is
caught by the tests that walk the writers (tasks/tests/test_conditional_writers.py).

Two things a writer calls, both inside its transaction:

- `record(...)`: what a write changed, as a `Changes` (tasks, comments, notifications with the team or person
  who sees them; team-wide things; members who joined or left; accounts; notification settings). Each
  observer's `recorded(changes)` runs at once, in the transaction (the sync change log, sync/recorder.py, writes
  its rows there, so a rollback takes them back); each observer's `committed(changes)` runs once the
  transaction has committed (the generations of conditional requests, aether/generations.py; a live-events
  publisher would hang here too: it gets the same `Changes`, after commit, with the team or person each
  change is for).
- `rows_changing(task_ids)` (through tasks.changes.task_rows_changing, which locks the rows first): observers
  that keep figures about tasks read them before the write (`snapshot`) and after it (`apply`), in the same
  transaction (analytics/figures.py).

An observer implements any of the four methods (`Observer` below); the registry calls those it has.
Observers are registered from AppConfig.ready(), in INSTALLED_APPS order.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.db import transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Changes:
    """What one write changed, named by id with the team or the person who sees it.

    - `tasks`: task id -> the teams it was in before and after the write (one, unless it moved): its row, its
      stages or its labels changed, or it was created, trashed, restored, archived or deleted.
    - `comments`: comment id -> (task id, team id): written, edited or deleted (or shown again with a restored
      task).
    - `notifications`: notification id -> its person: written, read or deleted.
    - `teams`: teams whose own things changed: the team row, its labels, projects, templates, its members'
      roles or names, its kept figures rebuilt.
    - `members`: (person, team) pairs of a person who joined or left a team.
    - `accounts`: people whose account changed as authentication sees it (active, password, superuser, their
      teams or those teams' time zones).
    - `inboxes`: people whose notification settings changed.
    """

    tasks: Mapping[int, frozenset[int]] = field(default_factory=dict)
    comments: Mapping[int, tuple[int, int]] = field(default_factory=dict)
    notifications: Mapping[int, int] = field(default_factory=dict)
    teams: frozenset[int] = frozenset()
    members: frozenset[tuple[int, int]] = frozenset()
    accounts: frozenset[int] = frozenset()
    inboxes: frozenset[int] = frozenset()

    def __bool__(self) -> bool:
        return any((self.tasks, self.comments, self.notifications, self.teams, self.members, self.accounts,
                    self.inboxes))  # fmt: skip


class Observer(Protocol):
    """Any of these; the registry calls the ones an observer has."""

    def recorded(self, changes: Changes) -> None:
        """In the writer's transaction, once the write is done."""

    def committed(self, changes: Changes) -> None:
        """After the writer's transaction committed (at once for a write outside one). Must not raise."""

    def snapshot(self, task_ids: list[int]) -> Any:
        """Before a write of these tasks (their row locks held): what the observer needs of them now."""

    def apply(self, task_ids: list[int], before: Any) -> None:
        """After that write, in its transaction: read the tasks again and act on the difference."""


_observers: list[Observer] = []


def observer_register(observer: Observer) -> None:
    """Called from an AppConfig.ready(); registering the same observer twice has no effect."""
    if observer not in _observers:
        _observers.append(observer)


def observer_unregister(observer: Observer) -> None:
    if observer in _observers:
        _observers.remove(observer)


def observers(method: str) -> list[Observer]:
    return [o for o in _observers if hasattr(o, method)]


def record(
    *,
    tasks: Mapping[int, Iterable[int]] | None = None,
    comments: Mapping[int, tuple[int, int]] | None = None,
    notifications: Mapping[int, int] | None = None,
    teams: Iterable[int] = (),
    members: Iterable[tuple[int, int]] = (),
    accounts: Iterable[int] = (),
    inboxes: Iterable[int] = (),
) -> Changes:
    """Report what the current write changed (see `Changes`). Call it inside the write's transaction, after the
    write: the observers' `recorded` run now, their `committed` after the commit (dropped with a rollback)."""
    changes = Changes(
        tasks={t: frozenset(x for x in teams_ if x is not None) for t, teams_ in (tasks or {}).items()},
        comments=dict(comments or {}),
        notifications=dict(notifications or {}),
        teams=frozenset(t for t in teams if t is not None),
        members=frozenset(members),
        accounts=frozenset(a for a in accounts if a is not None),
        inboxes=frozenset(inboxes),
    )
    if not changes:
        return changes
    for observer in observers("recorded"):
        observer.recorded(changes)
    committed = observers("committed")
    if committed:
        transaction.on_commit(lambda: _committed(committed, changes), robust=True)
    return changes


def _committed(committed: list[Observer], changes: Changes) -> None:
    for observer in committed:
        try:
            observer.committed(changes)
        except Exception:  # the change is committed; one observer's failure must not stop the others
            log.exception("%r failed on a committed change", observer)
