"""Delta sync: pages of what changed for one person since their cursor, read from the change log (sync/models.py).

A page lists objects by id: the tasks, comments and notifications to send as they are now, and those to send as
tombstones (trashed, deleted, or no longer visible to the person). The view (sync/api.py) reads them.

**Why no change is missed or sent twice when writes race the reader.** Log-row ids and transaction ids are
handed out when rows are written, but transactions commit in another order: a reader that had gone past id 11
could later find id 10 appear. So the reader never orders by when a row was written, but by when it became
visible, using PostgreSQL's own snapshots:

1. The cursor holds a snapshot `seen` (pg_current_snapshot(), as text): every row of a transaction visible in
   it has been delivered. A transaction is visible in a snapshot when it had committed before the snapshot
   was taken (pg_visible_in_snapshot).
2. A round of reading takes a new snapshot `round` and delivers exactly the rows visible in `round` and not
   in `seen`, in (xid, id) order, over as many pages as it takes (the cursor keeps `round` and the last
   (xid, id) delivered). That set is fixed when `round` is taken: its rows had all committed, and nothing
   can join it later (a transaction that commits afterwards is not visible in `round`).
3. When the round is done, `seen` becomes `round`. Snapshots taken one after another only ever see more, so
   each committed row is in exactly one round: the first whose snapshot sees it. No row is skipped, none is
   delivered twice, whatever the order in which writers commit.
4. Each row sends its object as it is when read (or its tombstone). A later change of the object has a row of
   its own, in a later round, so the client's last copy of every object is its latest state.

Snapshots are the cluster's: transactions of other databases on the same server only lengthen the list of
in-progress ids a cursor carries, and a transaction held open for long (anywhere on the server) widens the
range of rows a round looks at, without changing what it delivers.

**The first sync** (no cursor) takes `seen` first, then sends every task (not trashed), comment and
notification the person may see, by id, over as many pages as it takes. Whatever committed before `seen` is in
what those pages read; whatever was not visible in `seen` comes in the rounds after.

**Joining or leaving a team** is a log row like any other; reading it sends every task of the team (as it is,
or as a tombstone when the person is no longer a member) and its comments when they may see them, then goes
on with the round. Rows are read for the teams the person is in *now* and for the person: rows of a team
they left are not read, and need not be, since the expansion at the leaving row sends a tombstone for every
one of its tasks (a task's tombstone stands for its stages and comments). A person who rejoins reads the
team's rows again, and its expansion sends everything anew.

**Retention:** rows older than AETHER_SYNC_KEEP_DAYS are deleted (sync/services.py); a cursor that may not
have seen one of them raises `Gone` (410): the client starts over.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection

from accounts.permissions import team_ids_visible_to
from notifications.models import Notification
from notifications.selectors import notifications_for
from tasks import selectors as task_selectors
from tasks.models import Comment, Task

from .cursors import Cursor, Expansion, xmax_of, xmin_of
from .models import Change, Trimmed

PAGE_SIZE = 200
MAX_PAGE_SIZE = 500
# Rounds one request may start: a reader that keeps finding new commits still answers.
ROUNDS_PER_REQUEST = 2

KINDS = {Change.Kind.TASK: "tasks", Change.Kind.COMMENT: "comments", Change.Kind.NOTIFICATION: "notifications"}


class Gone(Exception):
    """The cursor is older than the change log keeps."""


@dataclass
class Page:
    ids: dict[str, dict[int, None]] = field(default_factory=lambda: {k: {} for k in KINDS.values()})
    cursor: Cursor | None = None
    more: bool = False

    def add(self, kind: str, object_ids) -> None:
        self.ids[kind].update(dict.fromkeys(object_ids))


def snapshot_now() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_snapshot()::text")
        return cursor.fetchone()[0]


def trimmed_below() -> int:
    """Every row of a transaction below this xid may have been deleted (0: none ever was)."""
    return Trimmed.objects.filter(pk=1).values_list("xid", flat=True).first() or 0


def changes_page(user, cursor: Cursor | None, *, size: int = PAGE_SIZE) -> Page:
    """The ids of the next `size` changes at most for `user` after `cursor` (None: the first sync), and the
    cursor after them."""
    if cursor is None:
        cursor = Cursor(user.pk, snapshot_now(), expansion=Expansion("all", None, "tasks", 0))
    elif xmin_of(cursor.seen) < trimmed_below():
        raise Gone
    teams = list(team_ids_visible_to(user).values_list("team_id", flat=True))
    page = Page()
    room, rounds = size, 0
    while room > 0:
        if cursor.expansion is not None:
            kind, found, cursor.expansion = _expand(user, teams, cursor.expansion, room)
            page.add(kind, found)
            room -= len(found)
            continue
        if cursor.round is None:
            if rounds == ROUNDS_PER_REQUEST:
                break
            cursor.round, cursor.after, rounds = snapshot_now(), (0, 0), rounds + 1
        asked = room
        rows = _log_rows(user, teams, cursor, asked)
        for xid, pk, kind, object_id in rows:
            cursor.after = (xid, pk)
            room -= 1
            if kind == Change.Kind.MEMBERSHIP:
                cursor.expansion = Expansion("team", object_id, "tasks", 0)
                break
            page.add(KINDS[kind], [object_id])
        else:
            if len(rows) < asked:  # the round is read to its end
                cursor.seen, cursor.round, cursor.after = cursor.round, None, (0, 0)
                if not rows:
                    break
    page.cursor = cursor
    page.more = cursor.expansion is not None or cursor.round is not None
    return page


def _log_rows(user, teams: list[int], cursor: Cursor, limit: int) -> list[tuple]:
    """The next `limit` rows of the round for the person, in (xid, id) order: rows visible in the round's snapshot
    and not in `seen`, after the last one delivered. A range of an index per team and one for the person, merged;
    the range of xids is the one where a transaction can be visible in one snapshot and not the other."""
    table = Change._meta.db_table
    branch = (
        f"(SELECT xid, id, kind, object_id FROM {table} WHERE {{who}} = %s "  # noqa: S608 -- fixed text
        "AND xid >= %s AND xid < %s AND (xid, id) > (%s, %s) "
        "AND NOT pg_visible_in_snapshot(xid::text::xid8, %s::pg_snapshot) "
        "AND pg_visible_in_snapshot(xid::text::xid8, %s::pg_snapshot) ORDER BY xid, id LIMIT %s)"
    )
    common = [xmin_of(cursor.seen), xmax_of(cursor.round), *cursor.after, cursor.seen, cursor.round, limit]
    branches, params = [], []
    for team in teams:
        branches.append(branch.format(who="team_id"))
        params += [team, *common]
    branches.append(branch.format(who="user_id"))
    params += [user.pk, *common]
    union = " UNION ALL ".join(branches)
    with connection.cursor() as c:
        c.execute(f"SELECT * FROM ({union}) c ORDER BY xid, id LIMIT %s", [*params, limit])  # noqa: S608
        return c.fetchall()


def _expand(user, teams: list[int], expansion: Expansion, room: int) -> tuple[str, list[int], Expansion | None]:
    """The next ids of an expansion, at most `room`, and the expansion after them (None when it is done)."""
    member = expansion.scope == "all" or expansion.team in teams
    if expansion.phase == "tasks":
        qs = Task.objects.filter(deleted_at__isnull=True)
        qs = qs.filter(project__team__in=teams) if expansion.scope == "all" else qs.filter(project__team=expansion.team)
        kind, nxt = "tasks", ("comments" if member else None)
    elif expansion.phase == "comments":
        qs = Comment.objects.filter(task__deleted_at__isnull=True)
        if expansion.scope == "all":
            qs = qs.filter(task__project__team__in=teams)
        else:
            qs = qs.filter(task__project__team=expansion.team)
        kind, nxt = "comments", ("notifications" if expansion.scope == "all" else None)
    else:
        qs, kind, nxt = Notification.objects.filter(user=user), "notifications", None
    found = list(qs.filter(pk__gt=expansion.after).order_by("pk").values_list("pk", flat=True)[: room + 1])
    if len(found) > room:
        found = found[:room]
        return kind, found, Expansion(expansion.scope, expansion.team, expansion.phase, found[-1])
    if nxt is None:
        return kind, found, None
    return kind, found, Expansion(expansion.scope, expansion.team, nxt, 0)


def tasks_as_they_are(user, ids) -> list[Task]:
    """Those of the tasks `ids` the person may see now (not trashed), with their labels and stages attached."""
    if not ids:
        return []
    visible = task_selectors.with_api_fields(task_selectors.tasks_visible_to(user)).filter(pk__in=ids)
    return task_selectors.with_labels_and_stages(list(task_selectors.api_rows(visible.order_by("pk"))))


def comments_as_they_are(user, ids) -> list[Comment]:
    if not ids:
        return []
    return list(task_selectors.comments_visible_to(user).filter(pk__in=ids).order_by("pk"))


def notifications_as_they_are(user, ids) -> list[Notification]:
    if not ids:
        return []
    return list(notifications_for(user).filter(pk__in=ids).order_by("pk"))
