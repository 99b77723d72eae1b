"""notifications/sql.py against its ORM equivalent: the same events make the same rows either way."""

import pytest
from django.db import connection
from django.forms.models import model_to_dict

from accounts.tests.factories import MembershipFactory, UserFactory
from notifications import services, sql
from notifications.models import Kind, Notification, NotificationPreference, OutboxEmail
from notifications.services import Event
from tasks.tests.factories import TaskFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the raw statements are PostgreSQL's"),
]


def events():
    task = TaskFactory()
    team_id = task.project.team_id
    ann, bob = (MembershipFactory(team_id=team_id).user for _ in range(2))
    NotificationPreference.objects.create(user=bob, kind=Kind.TASK_COMMENTED, email=False, in_app=True)
    invited = UserFactory()
    common = {"team_id": team_id, "task_id": task.pk, "task_title": task.title, "url": f"/tasks/{task.pk}/"}
    return [
        Event(kind=Kind.TASK_COMMENTED, key="task:1:commented:9", user_id=ann.pk, email=ann.email, name="Ann",
              message="Bob commented on “X”", actor_id=bob.pk, actor_name="Bob", context={"comment_body": "Hi"},
              **common),
        Event(kind=Kind.TASK_COMMENTED, key="task:1:commented:9", user_id=bob.pk, email=bob.email, name="Bob",
              message="Bob commented on “X”", **common),
        Event(kind=Kind.TASK_OVERDUE, key="task:1:overdue:2026-12-01", user_id=ann.pk, email=ann.email, name="Ann",
              message="“X” is overdue.", context={"due_date": "2026-12-01"}, **common),
        Event(kind=Kind.INVITATION, key="invitation:4:abc", user_id=invited.pk, email=invited.email, name="Cy",
              team_id=None, message="Join us", url="/invitations/abc/"),
    ]  # fmt: skip


def stored():
    drop = {"id", "created_at"}
    return (
        sorted(
            ({k: v for k, v in model_to_dict(r).items() if k not in drop} for r in OutboxEmail.objects.all()),
            key=lambda r: r["dedupe_key"],
        ),
        sorted(
            ({k: v for k, v in model_to_dict(r).items() if k not in drop} for r in Notification.objects.all()),
            key=lambda r: r["dedupe_key"],
        ),
    )


def test_the_raw_inserts_write_what_the_orm_writes_and_skip_what_is_stored():
    """The same unsaved rows go in by sql.py, then (the table emptied) by the ORM form; every column but the id
    and created_at (the ORM stamps its own) is the same."""
    evs = events()

    outbox, notes = services._rows_for(evs)
    ids = sql.outbox_insert(outbox)
    written = sql.notifications_insert(notes)
    by_sql = stored()
    assert sorted(ids) == sorted(OutboxEmail.objects.values_list("pk", flat=True))
    # emails: Ann's two and Cy's invitation; in-app: Ann's two and Bob's (his email is off)
    assert (len(ids), written) == (3, 3)
    again = services._rows_for(evs)
    assert (sql.outbox_insert(again[0]), sql.notifications_insert(again[1])) == ([], 0)

    OutboxEmail.objects.all().delete()
    Notification.objects.all().delete()
    assert (len(services._new_rows(OutboxEmail, outbox)), len(services._new_rows(Notification, notes))) == (3, 3)
    assert stored() == by_sql
    again = services._rows_for(evs)
    assert (services._new_rows(OutboxEmail, again[0]), services._new_rows(Notification, again[1])) == ([], [])
