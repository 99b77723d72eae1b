"""notifications/sql.py: each insert writes the rows it is given, column for column, and skips what is stored;
the cadence read answers who chose a digest or no email."""

import pytest

from accounts.tests.factories import MembershipFactory, UserFactory
from notifications import services, sql
from notifications.models import Kind, Notification, NotificationPreference, OutboxEmail
from notifications.services import Event
from tasks.tests.factories import TaskFactory

pytestmark = pytest.mark.django_db


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


def by_key(rows):
    return sorted(rows, key=lambda r: r["dedupe_key"])


def assert_stored_as_given(outbox: list[dict], notes: list[dict]) -> None:
    """Every stored row is one of the given rows, each column as given; the columns a row does not give hold
    the model's blank values."""
    assert by_key(OutboxEmail.objects.values(*sql.OUTBOX_COLUMNS)) == by_key(outbox)
    assert by_key(Notification.objects.values(*sql.NOTIFICATION_COLUMNS)) == by_key(notes)
    blank = ("body_text", "body_html", "attempts", "last_error", "provider_message_id", "provider_event")
    assert set(OutboxEmail.objects.values_list(*blank)) <= {("", "", 0, "", "", "")}
    assert set(Notification.objects.values_list("read_at", flat=True)) <= {None}


def test_the_raw_inserts_write_the_rows_as_given_and_skip_what_is_stored():
    evs = events()

    outbox, notes = services._rows_for(evs)
    ids = sql.outbox_insert(outbox)
    written = sql.notifications_insert(notes)

    assert sorted(ids) == sorted(OutboxEmail.objects.values_list("pk", flat=True))
    # emails: Ann's two and Cy's invitation; in-app: Ann's two and Bob's (his email is off)
    assert (len(ids), len(written)) == (3, 3)
    assert written == dict(Notification.objects.values_list("pk", "user_id"))
    assert_stored_as_given(outbox, notes)
    again = services._rows_for(evs)
    assert (sql.outbox_insert(again[0]), sql.notifications_insert(again[1])) == ([], {})
    assert_stored_as_given(outbox, notes)  # the first rows, untouched
    assert (sql.outbox_insert([]), sql.notifications_insert([])) == ([], {})


def test_held_rows_are_written_held_until_their_time(settings):
    """With batching on, a digest reader and a person who switched email off: the rows _rows_for makes (held
    for a batch, held for the digest with its hour in UTC, or none) are written by sql.py as made."""
    from datetime import timedelta

    from notifications.models import EmailCadence, EmailPreference, OutboxState

    settings.AETHER_EMAIL_BATCH_SECONDS = 300
    task = TaskFactory()
    team_id = task.project.team_id
    ann, dee, off = (MembershipFactory(team_id=team_id).user for _ in range(3))
    EmailPreference.objects.create(user=dee, cadence=EmailCadence.DIGEST, digest_hour=8, time_zone="Asia/Tokyo")
    EmailPreference.objects.create(user=off, cadence=EmailCadence.OFF)
    common = {"team_id": team_id, "task_id": task.pk, "task_title": task.title, "url": f"/tasks/{task.pk}/"}
    evs = [
        Event(kind=kind, key=f"task:{task.pk}:{kind}:1", user_id=u.pk, email=u.email, name="N", message="M", **common)
        for u in (ann, dee, off)
        for kind in (Kind.TASK_COMMENTED, Kind.TASK_OVERDUE)
    ]

    outbox, notes = services._rows_for(evs)
    by_user = {(r["user_id"], r["kind"]): (r["status"], r["next_attempt_at"] - r["created_at"]) for r in outbox}
    assert {k: v[0] for k, v in by_user.items()} == {
        (ann.pk, Kind.TASK_COMMENTED): OutboxState.BATCHED,
        (ann.pk, Kind.TASK_OVERDUE): OutboxState.PENDING,  # reminders are never batched
        (dee.pk, Kind.TASK_COMMENTED): OutboxState.DIGEST,
        (dee.pk, Kind.TASK_OVERDUE): OutboxState.DIGEST,
    }
    assert by_user[(ann.pk, Kind.TASK_COMMENTED)][1] == timedelta(seconds=300)
    assert by_user[(ann.pk, Kind.TASK_OVERDUE)][1] == timedelta(0)
    digest_at = next(r["next_attempt_at"] for r in outbox if r["user_id"] == dee.pk)
    assert (digest_at.minute, digest_at.second, digest_at.hour) == (0, 0, 23)  # 08:00 in Tokyo is 23:00 UTC
    assert len(notes) == 6  # in the app, everyone at once, "off" included

    assert len(sql.outbox_insert(outbox)) == 4
    assert len(sql.notifications_insert(notes)) == 6
    assert_stored_as_given(outbox, notes)
    assert dict(OutboxEmail.objects.values_list("user_id", "status").filter(kind=Kind.TASK_COMMENTED)) == {
        ann.pk: OutboxState.BATCHED,
        dee.pk: OutboxState.DIGEST,
    }


def test_the_cadence_read_answers_who_chose_a_digest_or_no_email():
    from notifications.models import EmailCadence, EmailPreference

    people = UserFactory.create_batch(4)
    EmailPreference.objects.create(user=people[0], cadence=EmailCadence.DIGEST, digest_hour=6, time_zone="Asia/Tokyo")
    EmailPreference.objects.create(user=people[1], cadence=EmailCadence.OFF)
    EmailPreference.objects.create(user=people[2], cadence=EmailCadence.IMMEDIATE)  # the default: not read
    ids = [u.pk for u in people]

    assert sorted(sql.email_cadences(ids)) == [
        (people[0].pk, "digest", 6, "Asia/Tokyo"),
        (people[1].pk, "off", 8, "UTC"),
    ]
    assert sql.email_cadences(ids[2:]) == []  # the default and no row at all: nothing to read
    assert sql.email_cadences([]) == []
