"""The shape of a live message, shared by the publisher and the hub (aether/live/__init__.py).

A message is JSON: `{"id": <event id>, "events": [...]}`, each event one of

- `{"kind": "task", "task": id, "teams": [...]}`: a task's row, stages or labels (its teams before and after);
- `{"kind": "tasks", "teams": [...]}`: many tasks of these teams at once (a bulk write: no ids);
- `{"kind": "comment", "comment": id, "task": id, "teams": [team]}`;
- `{"kind": "team", "teams": [...]}`: a team's own things (projects, labels, members' names and roles);
- `{"kind": "members", "user": id, "team": id}`: the person joined or left the team;
- `{"kind": "account", "user": id}`: the person's account (active, their teams);
- `{"kind": "notifications", "user": id}`: the person's notifications (the bell).
"""

from __future__ import annotations

from django.conf import settings

from ..changes import Changes

# Past this many tasks in one commit (an archiving batch, a bulk import) the ids are left out: the pages refetch
# anyway, and one message stays small.
MAX_TASK_IDS = 200


def channel() -> str:
    return f"{settings.REDIS_KEY_PREFIX}:live"


# The counter of event ids, a cache key: the publisher adds to it, the pages read it with their generations
# (pages.py) and a stream reads it when it opens (views.py).
SEQUENCE = "live:seq"


def events_of(changes: Changes) -> list[dict]:
    events: list[dict] = []
    if len(changes.tasks) > MAX_TASK_IDS:
        teams = sorted({t for teams in changes.tasks.values() for t in teams})
        events.append({"kind": "tasks", "teams": teams})
    else:
        for task_id, teams in sorted(changes.tasks.items()):
            events.append({"kind": "task", "task": task_id, "teams": sorted(teams)})
    for comment_id, (task_id, team_id) in sorted(changes.comments.items()):
        events.append({"kind": "comment", "comment": comment_id, "task": task_id, "teams": [team_id]})
    if changes.teams:
        events.append({"kind": "team", "teams": sorted(changes.teams)})
    for user_id, team_id in sorted(changes.members):
        events.append({"kind": "members", "user": user_id, "team": team_id})
    for user_id in sorted(changes.accounts):
        events.append({"kind": "account", "user": user_id})
    for user_id in sorted(set(changes.notifications.values())):
        events.append({"kind": "notifications", "user": user_id})
    return events
