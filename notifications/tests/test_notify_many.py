"""notify_many: the typed, set-based entry other apps call with events."""

import pytest
from django.db import transaction

from accounts.tests.factories import MembershipFactory, TeamFactory, UserFactory
from notifications import services
from notifications.models import Kind, Notification, NotificationPreference, OutboxEmail
from notifications.services import Event, NotifyCounts, notify_many

pytestmark = pytest.mark.django_db


def event(user, team, key="task:1:overdue:2026-12-01", kind=Kind.TASK_OVERDUE, **overrides):
    return Event(
        **{
            "kind": kind,
            "key": key,
            "user_id": user.pk,
            "email": user.email,
            "name": user.get_short_name(),
            "team_id": team.pk if team is not None else None,
            "message": "“Report” was due on 2026-12-01 and is overdue.",
            "url": "/tasks/1/",
            **overrides,
        }
    )


@pytest.fixture
def team_of_three():
    team = TeamFactory()
    people = [MembershipFactory(team=team).user for _ in range(3)]
    return team, people


def test_each_member_gets_an_email_and_an_in_app_row_that_know_the_team(team_of_three):
    team, people = team_of_three

    counts = notify_many(event(u, team) for u in people)

    assert counts == NotifyCounts(emails=3, in_app=3)
    rows = OutboxEmail.objects.order_by("recipient")
    assert [(r.recipient, r.team_id, r.kind, r.body_text) for r in rows] == [
        (u.email, team.pk, Kind.TASK_OVERDUE, "") for u in sorted(people, key=lambda u: u.email)
    ]  # blank body: the worker renders it from kind and context
    assert rows[0].context["message"] == "“Report” was due on 2026-12-01 and is overdue."
    assert rows[0].context["actor_name"] == "Aether"
    assert set(Notification.objects.values_list("user_id", "team_id", "dedupe_key")) == {
        (u.pk, team.pk, f"task:1:overdue:2026-12-01:{u.pk}") for u in people
    }


def test_preferences_decide_the_channels_per_person_and_kind(team_of_three):
    team, (ann, bob, cid) = team_of_three
    NotificationPreference.objects.create(user=ann, kind=Kind.TASK_OVERDUE, email=False, in_app=True)
    NotificationPreference.objects.create(user=bob, kind=Kind.TASK_OVERDUE, email=True, in_app=False)
    NotificationPreference.objects.create(user=cid, kind=Kind.TASK_DUE_SOON, email=False, in_app=False)

    counts = notify_many([event(ann, team), event(bob, team), event(cid, team)])

    assert counts == NotifyCounts(emails=2, in_app=2)
    assert set(OutboxEmail.objects.values_list("user_id", flat=True)) == {bob.pk, cid.pk}
    assert set(Notification.objects.values_list("user_id", flat=True)) == {ann.pk, cid.pk}


def test_invitations_are_emailed_and_never_in_app_whatever_the_preferences():
    ann = UserFactory()

    counts = notify_many([event(ann, None, key="invitation:1", kind=Kind.INVITATION)])

    assert counts == NotifyCounts(emails=1, in_app=0)
    assert OutboxEmail.objects.get().team_id is None


def test_nobody_is_told_of_their_own_action(team_of_three):
    team, (ann, bob, _) = team_of_three

    counts = notify_many([event(ann, team, actor_id=ann.pk), event(bob, team, actor_id=ann.pk, actor_name="Ann")])

    assert counts == NotifyCounts(emails=1, in_app=1)
    assert OutboxEmail.objects.get().user_id == bob.pk
    assert Notification.objects.get().actor_id == ann.pk


def test_someone_outside_the_team_is_told_nothing_about_it(team_of_three):
    team, (ann, _, _) = team_of_three
    outsider = MembershipFactory().user  # a member of another team only

    counts = notify_many([event(ann, team), event(outsider, team)])

    assert counts == NotifyCounts(emails=1, in_app=1)
    assert not OutboxEmail.objects.filter(user_id=outsider.pk).exists()
    assert not Notification.objects.filter(user_id=outsider.pk).exists()


def test_an_event_told_twice_is_written_once_and_counted_once(team_of_three):
    team, (ann, _, _) = team_of_three

    first = notify_many([event(ann, team), event(ann, team)])
    again = notify_many([event(ann, team)])

    assert (first, again) == (NotifyCounts(emails=1, in_app=1), NotifyCounts(emails=0, in_app=0))
    assert (OutboxEmail.objects.count(), Notification.objects.count()) == (1, 1)


def test_queries_do_not_grow_with_the_events_of_a_chunk(django_assert_num_queries):
    team = TeamFactory()
    people = [MembershipFactory(team=team).user for _ in range(60)]

    # the audience check, the preferences, the email cadences (digest or off), one insert per kind of row, the
    # sync change log's one (sync/recorder.py), and the savepoint's two
    with django_assert_num_queries(8):
        notify_many(event(u, team, key=f"task:{i}:overdue:2026-12-01") for i, u in enumerate(people))

    assert (OutboxEmail.objects.count(), Notification.objects.count()) == (60, 60)


def test_a_generator_is_read_chunk_by_chunk(team_of_three):
    team, people = team_of_three
    read = []

    def events():
        for i in range(7):
            read.append(i)
            yield event(people[i % 3], team, key=f"task:{i}:due_soon:2026-12-01", kind=Kind.TASK_DUE_SOON)

    counts = notify_many(events(), chunk=3)

    assert read == list(range(7))
    assert counts == NotifyCounts(emails=7, in_app=7)


def test_delivery_is_asked_for_once_after_commit_with_the_new_ids(
    team_of_three, django_capture_on_commit_callbacks, monkeypatch
):
    team, people = team_of_three
    kicks = []
    monkeypatch.setattr(services, "_kick", kicks.append)

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        notify_many((event(u, team) for u in people), chunk=2)
        assert kicks == []  # nothing before commit

    assert kicks == [sorted(OutboxEmail.objects.values_list("pk", flat=True))]


def test_a_big_burst_is_handed_to_the_sweep_rather_than_as_ids(
    team_of_three, django_capture_on_commit_callbacks, monkeypatch
):
    team, people = team_of_three
    kicks = []
    monkeypatch.setattr(services, "_kick", kicks.append)
    monkeypatch.setattr(services, "_KICK_IDS_MAX", 2)

    with django_capture_on_commit_callbacks(execute=True):
        counts = notify_many(event(u, team) for u in people)

    assert counts.emails == 3
    assert kicks == [None]  # None: deliver whatever is due


def test_a_change_that_rolls_back_leaves_no_row(team_of_three):
    team, people = team_of_three

    def change_that_fails():
        with transaction.atomic():
            notify_many(event(u, team) for u in people)
            raise RuntimeError

    with pytest.raises(RuntimeError):
        change_that_fails()

    assert (OutboxEmail.objects.count(), Notification.objects.count()) == (0, 0)


def test_without_an_audience_check_every_recipient_is_told(settings):
    settings.NOTIFICATIONS_AUDIENCE_CHECK = ""
    team, stranger = TeamFactory(), UserFactory()

    assert notify_many([event(stranger, team)]) == NotifyCounts(emails=1, in_app=1)
