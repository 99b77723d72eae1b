"""Observers of task rows: apps that keep figures about tasks (analytics) see every change, in its transaction.

tasks never imports such an app (that would be an import cycle); the app registers an observer in its
AppConfig.ready(). Every writer of task or stage rows (the services, archiving, the jobs), and of what is found
with a task (its comments, which search matches), wraps its write in `task_rows_changing(ids)`: each observer
reads what it needs of those tasks before the write (`snapshot`) and again after it (`apply`), and writes the
difference in the same transaction, so a rollback undoes both.

Nested writers (a service calling another for the same task) report once, at the outermost level.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from django.db import transaction


class TaskRowsObserver(Protocol):
    def snapshot(self, task_ids: list[int]) -> Any:
        """What the observer needs of these tasks (and their stages) as they are now, before the write."""

    def apply(self, task_ids: list[int], before: Any) -> None:
        """Read the tasks again, after the write, and record the difference from `before`."""


_observers: list[TaskRowsObserver] = []


def observer_register(observer: TaskRowsObserver) -> None:
    """Called from an AppConfig.ready(); registering the same observer twice has no effect."""
    if observer not in _observers:
        _observers.append(observer)


def observer_unregister(observer: TaskRowsObserver) -> None:
    if observer in _observers:
        _observers.remove(observer)


class _Change:
    def __init__(self, ids: list[int]):
        self.ids = ids

    def add(self, task_id: int) -> None:
        """A task created inside the block: it had no row before, and is read after."""
        if task_id not in self.ids:
            self.ids.append(task_id)


@contextmanager
def task_rows_changing(task_ids: Iterable[int] = ()) -> Iterator[_Change]:
    """Wrap a write to these tasks or their stages. Call inside a transaction; yields a handle whose `add`
    names tasks created inside the block.

    With observers registered, the tasks' row locks are taken first (in id order, so two writers never
    deadlock), so that the snapshot is exactly what the write changes, even under concurrent writers."""
    conn = transaction.get_connection()
    active: set[int] = conn.__dict__.setdefault("_aether_task_rows_changing", set())
    ids = [i for i in dict.fromkeys(task_ids) if i not in active]
    change = _Change(ids)
    if not _observers:
        yield change
        return
    if ids:
        from .models import Task

        list(Task.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))
    befores = [(observer, observer.snapshot(list(ids))) for observer in _observers]
    active.update(ids)
    try:
        yield change
        active.update(change.ids)
        for observer, before in befores:
            observer.apply(list(change.ids), before)
    finally:
        active.difference_update(change.ids)
