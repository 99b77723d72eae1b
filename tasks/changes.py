"""Writes of task rows, reported to the one observer registry (aether/changes.py).

Every writer of task or stage rows (the services, archiving, the jobs) wraps its write in
`task_rows_changing(ids)`. It takes the tasks' row locks (in id order, so two writers never deadlock), lets
the observers that keep figures read the tasks before the write (`snapshot`) and after it (`apply`), and then
records the change (`aether.changes.record(tasks=...)`) with each task's team before and after, so that the
generations of the tasks and their teams are renewed once it commits and the sync change log has a row for
each task. A rollback undoes all of it.

Nested writers (a service calling another for the same task) report once, at the outermost level.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.db import transaction

from aether.changes import observer_register, observer_unregister, observers, record

__all__ = ["observer_register", "observer_unregister", "task_rows_changing"]


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
    names tasks created inside the block."""
    from .models import Task

    conn = transaction.get_connection()
    active: set[int] = conn.__dict__.setdefault("_aether_task_rows_changing", set())
    ids = [i for i in dict.fromkeys(task_ids) if i not in active]
    change = _Change(ids)
    teams: dict[int, set[int]] = {}
    if ids:
        # The rows' locks, and their teams before the write (a task deleted or moved away is still reported to
        # the team that had it). `of`: the task rows only, not their projects' and teams'.
        locked = Task.objects.select_for_update(of=("self",)).filter(pk__in=ids).order_by("pk")
        for pk, team in locked.values_list("pk", "project__team_id"):
            teams.setdefault(pk, set()).add(team)
    keepers = observers("snapshot")
    befores = [(observer, observer.snapshot(list(ids))) for observer in keepers]
    active.update(ids)
    try:
        yield change
        active.update(change.ids)
        for observer, before in befores:
            observer.apply(list(change.ids), before)
        if change.ids:
            for pk, team in Task.objects.filter(pk__in=change.ids).values_list("pk", "project__team_id"):
                teams.setdefault(pk, set()).add(team)
            record(tasks={pk: teams.get(pk, ()) for pk in change.ids})
    finally:
        active.difference_update(change.ids)
