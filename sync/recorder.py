"""The observer (aether/changes.py) that writes the sync change log (sync/models.py) in each change's transaction:
a row per task and team it was in (a task that moved is seen leaving one team and arriving in another), per
comment, per notification, and per person who joined or left a team. One INSERT a change, whatever its size.
"""

from __future__ import annotations

from django.db import connection

from aether.changes import Changes

from .models import Change

_INSERT = f"""
    INSERT INTO {Change._meta.db_table} (xid, kind, object_id, team_id, user_id)
    SELECT pg_current_xact_id()::text::bigint, x.kind, x.object_id, x.team_id, x.user_id
    FROM unnest(%s::text[], %s::bigint[], %s::bigint[], %s::bigint[]) AS x(kind, object_id, team_id, user_id)
"""  # noqa: S608 -- the table name is the model's


def rows_of(changes: Changes) -> list[tuple[str, int, int | None, int | None]]:
    """(kind, object id, team, person) for each row a change writes."""
    rows = [(Change.Kind.TASK, pk, team, None) for pk, teams in changes.tasks.items() for team in sorted(teams)]
    rows += [(Change.Kind.COMMENT, pk, team, None) for pk, (_task, team) in changes.comments.items()]
    rows += [(Change.Kind.NOTIFICATION, pk, None, user) for pk, user in changes.notifications.items()]
    rows += [(Change.Kind.MEMBERSHIP, team, None, user) for user, team in sorted(changes.members)]
    return rows


class ChangeLogRecorder:
    def recorded(self, changes: Changes) -> None:
        rows = rows_of(changes)
        if not rows:
            return
        if not connection.in_atomic_block:
            # The row must commit with the change it describes, or a crash between the two loses it for good.
            raise RuntimeError(
                "aether.changes.record() of a task, comment, notification or member outside a transaction"
            )
        columns = [list(column) for column in zip(*rows, strict=True)]
        with connection.cursor() as cursor:
            cursor.execute(_INSERT, [[str(k) for k in columns[0]], *columns[1:]])


observer = ChangeLogRecorder()
