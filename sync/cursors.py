"""Sync cursors: where a person's sync stands, as an opaque string signed with the site's secret and bound to the
person. A cursor that is not one of ours (malformed, edited, truncated), or is another person's, is refused
with `BadCursor` (400): it can never make the reader walk anyone else's changes.

What a cursor holds (sync/selectors.py says why):

- `seen`: a PostgreSQL snapshot (pg_snapshot text, "xmin:xmax:xip,..."): every change-log row of a
  transaction visible in it has been delivered;
- `round`: while a round of reading is under way, the snapshot it reads up to, and `after`, the (xid, id) of
  the last row of that round delivered;
- `expansion`: an expansion under way (the first sync's whole world, or a team joined or left).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.core import signing

SALT = "aether.sync.cursor"
_SNAPSHOT = re.compile(r"^(\d+):(\d+):(\d+(?:,\d+)*)?$")


class BadCursor(Exception):
    pass


def xmin_of(snapshot: str) -> int:
    return int(snapshot.split(":", 1)[0])


def xmax_of(snapshot: str) -> int:
    return int(snapshot.split(":", 2)[1])


@dataclass
class Expansion:
    """An expansion under way: every object of a scope, phase by phase, by id."""

    scope: str  # "all" (the first sync) or "team" (joined or left `team`)
    team: int | None
    phase: str  # "tasks", then "comments", then ("all" only) "notifications"
    after: int  # the last id of this phase already sent


@dataclass
class Cursor:
    user: int
    seen: str
    round: str | None = None
    after: tuple[int, int] = (0, 0)
    expansion: Expansion | None = None

    def dumps(self) -> str:
        e = self.expansion
        payload = {"u": self.user, "s": self.seen}
        if self.round is not None:
            payload |= {"r": self.round, "a": list(self.after)}
        if e is not None:
            payload["e"] = [e.scope, e.team, e.phase, e.after]
        return signing.Signer(salt=SALT).sign_object(payload, compress=True)


_PHASES = {"all": ("tasks", "comments", "notifications"), "team": ("tasks", "comments")}
_INVALID = "This is not a sync cursor of this site: start over without one."


def cursor_loads(text: str, *, user_id: int) -> Cursor:
    """The cursor `text` stands for, if it is ours and `user_id`'s; else BadCursor."""
    try:
        payload = signing.Signer(salt=SALT).unsign_object(text)
    except (signing.BadSignature, ValueError, TypeError, UnicodeError) as exc:
        raise BadCursor(_INVALID) from exc
    try:
        cursor = Cursor(payload["u"], payload["s"], payload.get("r"))
        if "r" in payload:
            xid, pk = payload["a"]
            cursor.after = (xid, pk)
        if "e" in payload:
            scope, team, phase, after = payload["e"]
            if phase not in _PHASES[scope] or (scope == "team") != isinstance(team, int):
                raise ValueError(phase)
            cursor.expansion = Expansion(scope, team, phase, after)
        numbers = [cursor.user, *cursor.after, *((cursor.expansion.after,) if cursor.expansion else ())]
        snapshots = [cursor.seen, *((cursor.round,) if cursor.round is not None else ())]
        if not all(type(n) is int for n in numbers) or not all(
            isinstance(s, str) and _SNAPSHOT.match(s) for s in snapshots
        ):
            raise ValueError(payload)
    except (KeyError, ValueError, TypeError) as exc:
        raise BadCursor(_INVALID) from exc
    if cursor.user != user_id:
        raise BadCursor("This cursor belongs to another account: start over without one.")
    return cursor
