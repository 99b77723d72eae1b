"""Callbacks of apps above accounts that must act when a member leaves a team, in the removal's transaction.

tasks (which imports accounts, so accounts may not import it) registers one in its AppConfig.ready(): the
leaver's open tasks in the team are unassigned, each with an Activity row. accounts.services.membership_remove
(and user_deactivate, for each team of the person: accounts/services/teams.py `member_leaves`) calls every
callback inside its transaction, after its own checks and before the membership row goes (or the account is
deactivated), so a callback that refuses (raises) rolls the whole change back, and a rollback undoes what the
callbacks wrote.

Why a registry and not a Django signal with the logic in a receiver: this is part of the removal's contract,
not a framework event that anyone may overhear. The registry is explicit (the one list, the one call site),
its callbacks take keyword arguments with types and run in a defined order, an exception is not swallowed
or collected as signals' send_robust would do, and a reader of membership_remove finds the code that runs
by reading this module, not by searching for receivers (the house rule: no business logic in signals).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class MemberLeaving(Protocol):
    def __call__(self, *, actor, team, user) -> None:
        """`user` is leaving `team` (removed by `actor`); runs inside the removal's transaction, the
        membership row still present and locked."""


_member_leaving: list[Callable[..., None]] = []


def member_leaving_register(callback: MemberLeaving) -> None:
    """Called from an AppConfig.ready(); registering the same callback twice has no effect."""
    if callback not in _member_leaving:
        _member_leaving.append(callback)


def member_leaving_unregister(callback: MemberLeaving) -> None:
    if callback in _member_leaving:
        _member_leaving.remove(callback)


def member_leaving_run(*, actor, team, user) -> None:
    """Run every registered callback, in registration order. For membership_remove only."""
    for callback in list(_member_leaving):
        callback(actor=actor, team=team, user=user)
