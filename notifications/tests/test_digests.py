"""The daily digest: emails held until the person's hour in their time zone (08:00 local across DST), then one
email of everything held since the previous digest, by section; and "off", which sends none."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts import services as account_services
from accounts.tests.factories import MembershipFactory, TeamFactory, UserFactory
from aether.testing import run_concurrently
from notifications import delivery, merging
from notifications.models import EmailCadence, EmailPreference, Kind, Notification, OutboxEmail, OutboxState
from notifications.services import Event, email_preference_update, next_digest_at, notify_many
from tasks import services as task_services
from tasks.tests.factories import ProjectFactory


def utc(*args):
    return datetime(*args, tzinfo=UTC)


@pytest.fixture(autouse=True)
def locmem(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.AETHER_EMAIL_BATCH_SECONDS = 300


class Clock:
    """A fixed clock for the code under test (timezone.now), moved by hand."""

    def __init__(self, monkeypatch, at):
        self.at = at
        monkeypatch.setattr(timezone, "now", lambda: self.at)


# --- the hour, in the person's zone ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "hour", "zone", "expected"),
    [
        # Berlin: CET (UTC+1) until 2026-03-29 01:00 UTC, then CEST (UTC+2): 08:00 local moves from 07:00 to 06:00 UTC
        (utc(2026, 3, 28, 6, 59), 8, "Europe/Berlin", utc(2026, 3, 28, 7, 0)),
        (utc(2026, 3, 28, 7, 0), 8, "Europe/Berlin", utc(2026, 3, 29, 6, 0)),
        (utc(2026, 3, 29, 6, 0), 8, "Europe/Berlin", utc(2026, 3, 30, 6, 0)),
        # 02:00 does not exist in Berlin on 2026-03-29: the first instant after the gap, 03:00 CEST
        (utc(2026, 3, 28, 12, 0), 2, "Europe/Berlin", utc(2026, 3, 29, 1, 0)),
        # back to CET on 2026-10-25 at 01:00 UTC: 08:00 local is 07:00 UTC again
        (utc(2026, 10, 24, 12, 0), 8, "Europe/Berlin", utc(2026, 10, 25, 7, 0)),
        # New York: EDT (UTC-4) from 2026-03-08; 08:00 local is 12:00 UTC, and 13:00 UTC the day before
        (utc(2026, 3, 7, 12, 0), 8, "America/New_York", utc(2026, 3, 7, 13, 0)),
        (utc(2026, 3, 7, 13, 0), 8, "America/New_York", utc(2026, 3, 8, 12, 0)),
        # midnight in Auckland (UTC+13 in December) is 11:00 UTC the day before
        (utc(2026, 12, 1, 10, 0), 0, "Pacific/Auckland", utc(2026, 12, 1, 11, 0)),
        # a leap day
        (utc(2028, 2, 28, 23, 0), 9, "UTC", utc(2028, 2, 29, 9, 0)),
    ],
)
def test_the_next_digest_is_the_hour_on_the_local_wall_clock(now, hour, zone, expected):
    assert next_digest_at(now, hour=hour, time_zone=zone) == expected


# --- across midnight in two zones ------------------------------------------------------------------------------


def events_at(clock, at, people, kind, n):
    clock.at = at
    notify_many(
        Event(
            kind=kind,
            key=f"test:{n}",
            user_id=u.pk,
            email=u.email,
            name=u.get_short_name(),
            team_id=team_id,
            message=f"Event {n} ({kind})",
            url=f"/tasks/{n}/",
            task_id=None,
            task_title=f"Task {n}",
        )
        for u, team_id in people
    )


@pytest.mark.django_db
def test_a_digest_collects_what_was_held_since_the_previous_one_across_midnight_in_two_zones(monkeypatch):
    berlin, new_york = TeamFactory(time_zone="Europe/Berlin"), TeamFactory(time_zone="America/New_York")
    ann = MembershipFactory(team=berlin, user=UserFactory(email="ann@example.test")).user
    bob = MembershipFactory(team=new_york, user=UserFactory(email="bob@example.test")).user
    EmailPreference.objects.create(user=ann, cadence=EmailCadence.DIGEST, digest_hour=8, time_zone="Europe/Berlin")
    EmailPreference.objects.create(user=bob, cadence=EmailCadence.DIGEST, digest_hour=8, time_zone="America/New_York")
    people = [(ann, berlin.pk), (bob, new_york.pk)]
    clock = Clock(monkeypatch, utc(2026, 3, 28, 12, 0))

    # Berlin 23:30 (28th) / New York 18:30; Berlin 01:30 CET (29th, before the DST change) / New York 20:30;
    # Berlin 07:30 CEST / New York 01:30 (29th); Berlin 08:30 CEST, past its digest / New York 02:30
    events_at(clock, utc(2026, 3, 28, 22, 30), people, Kind.TASK_ASSIGNED, 1)
    events_at(clock, utc(2026, 3, 29, 0, 30), people, Kind.TASK_COMMENTED, 2)
    events_at(clock, utc(2026, 3, 29, 5, 30), people, Kind.TASK_OVERDUE, 3)
    events_at(clock, utc(2026, 3, 29, 6, 30), people, Kind.TASK_COMPLETED, 4)

    assert Notification.objects.count() == 8  # in the app at once
    assert set(OutboxEmail.objects.values_list("status", flat=True)) == {OutboxState.DIGEST}
    third = OutboxEmail.objects.filter(context__message__startswith="Event 3")
    due = dict(third.values_list("user_id", "next_attempt_at"))
    assert due == {ann.pk: utc(2026, 3, 29, 6, 0), bob.pk: utc(2026, 3, 29, 12, 0)}

    def digest_at(at):
        clock.at = at
        run = merging.held_merge(now=at)
        delivery.outbox_deliver(ids=list(OutboxEmail.objects.filter(kind=Kind.DIGEST).values_list("pk", flat=True)))
        return run.digests

    assert digest_at(utc(2026, 3, 29, 5, 59)) == 0
    assert digest_at(utc(2026, 3, 29, 6, 0, 30)) == 1  # 08:00 in Berlin, summer time
    (ann_digest,) = mail.outbox
    assert ann_digest.to == [ann.email]
    assert ann_digest.subject == "Your Aether digest: 3 updates"
    body = ann_digest.body
    assert body.index("Assigned to you (1)") < body.index("Event 1") < body.index("Comments and mentions (1)")
    assert body.index("Event 2") < body.index("Overdue and due soon (1)") < body.index("Event 3")
    assert "Event 4" not in body
    assert "Completed" not in body

    assert digest_at(utc(2026, 3, 29, 11, 59)) == 0
    assert digest_at(utc(2026, 3, 29, 12, 0, 30)) == 1  # 08:00 in New York
    bob_digest = mail.outbox[1]
    assert (bob_digest.to, bob_digest.subject) == ([bob.email], "Your Aether digest: 4 updates")
    for n in range(1, 5):
        assert f"Event {n}" in bob_digest.body
        assert f"Event {n}" in bob_digest.alternatives[0][0]
    assert "Completed (1)" in bob_digest.body

    assert digest_at(utc(2026, 3, 30, 5, 59)) == 0
    assert digest_at(utc(2026, 3, 30, 6, 0, 30)) == 1  # the next morning in Berlin: what came after its digest
    assert mail.outbox[2].subject == "Your Aether digest: 1 update"
    assert "Event 4" in mail.outbox[2].body

    assert len(mail.outbox) == 3  # and nothing twice
    assert digest_at(utc(2026, 3, 31, 12, 0)) == 0
    assert OutboxEmail.objects.filter(status=OutboxState.MERGED).count() == 8
    assert set(OutboxEmail.objects.filter(kind=Kind.DIGEST).values_list("status", flat=True)) == {"sent"}


@pytest.mark.django_db
def test_changing_the_digest_hour_or_leaving_the_digest_moves_what_is_held(monkeypatch):
    team = TeamFactory(time_zone="UTC")
    ann = MembershipFactory(team=team).user
    clock = Clock(monkeypatch, utc(2026, 6, 1, 9, 0))
    email_preference_update(actor=ann, cadence=EmailCadence.DIGEST, digest_hour=8, time_zone="UTC")
    events_at(clock, utc(2026, 6, 1, 9, 0), [(ann, team.pk)], Kind.TASK_ASSIGNED, 1)
    assert OutboxEmail.objects.get().next_attempt_at == utc(2026, 6, 2, 8, 0)

    email_preference_update(actor=ann, cadence=EmailCadence.DIGEST, digest_hour=20, time_zone="Asia/Tokyo")
    assert OutboxEmail.objects.get().next_attempt_at == utc(2026, 6, 1, 11, 0)  # 20:00 in Tokyo

    email_preference_update(actor=ann, cadence=EmailCadence.IMMEDIATE, digest_hour=20, time_zone="Asia/Tokyo")
    assert OutboxEmail.objects.get().next_attempt_at == utc(2026, 6, 1, 9, 0)  # due now: one last digest
    assert merging.held_merge(now=utc(2026, 6, 1, 9, 1)).digests == 1


@pytest.mark.django_db
def test_off_sends_no_email_but_the_app_still_tells_and_password_resets_still_arrive():
    team = TeamFactory()
    owner = MembershipFactory(team=team, role="owner").user
    bob = MembershipFactory(team=team, user=UserFactory(email="bob@example.test")).user
    email_preference_update(actor=bob, cadence=EmailCadence.OFF, digest_hour=8, time_zone="UTC")
    task, _ = task_services.task_create(actor=owner, project=ProjectFactory(team=team), title="X", assignee=bob)
    task_services.comment_create(actor=owner, task=task, body="Hi")
    account_services.password_reset_request(email=bob.email)

    assert set(Notification.objects.filter(user=bob).values_list("kind", flat=True)) == {
        Kind.TASK_ASSIGNED,
        Kind.TASK_COMMENTED,
    }
    assert list(OutboxEmail.objects.filter(recipient=bob.email).values_list("kind", "status")) == [
        (Kind.PASSWORD_RESET, OutboxState.PENDING)
    ]


@pytest.mark.django_db
def test_a_digest_user_gets_invitations_and_password_resets_at_once():
    team = TeamFactory()
    owner = MembershipFactory(team=team, role="owner").user
    bob = UserFactory(email="bob@example.test")
    email_preference_update(actor=bob, cadence=EmailCadence.DIGEST, digest_hour=8, time_zone="UTC")
    account_services.invitation_create(actor=owner, team=team, email=bob.email, role="member")
    account_services.password_reset_request(email=bob.email)

    assert sorted(OutboxEmail.objects.filter(recipient=bob.email).values_list("kind", "status")) == [
        (Kind.INVITATION, OutboxState.PENDING),
        (Kind.PASSWORD_RESET, OutboxState.PENDING),
    ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("skip_if_busy", [False, True], ids=["row-locks-only", "with-advisory-lock"])
def test_four_racing_digest_runs_send_each_digest_once(monkeypatch, skip_if_busy):
    from notifications import services

    monkeypatch.setattr(services, "delivery_enqueue_on_commit", lambda ids=None: None)
    monkeypatch.setattr(merging, "delivery_enqueue_on_commit", lambda ids=None: None)  # the broker is not under test
    team = TeamFactory()
    people = [MembershipFactory(team=team).user for _ in range(20)]
    for u in people:
        EmailPreference.objects.create(user=u, cadence=EmailCadence.DIGEST, digest_hour=7, time_zone="Europe/Paris")
    for n in range(5):
        notify_many(
            Event(kind=Kind.TASK_COMMENTED, key=f"c:{n}", user_id=u.pk, email=u.email, name="x", team_id=team.pk,
                  message=f"Comment {n}")
            for u in people
        )  # fmt: skip
    at = timezone.now() + timedelta(days=1, hours=1)

    runs, errors = run_concurrently(lambda _: merging.held_merge(now=at, skip_if_busy=skip_if_busy), 4)
    delivery.outbox_deliver()

    assert errors == []
    assert sum(r.digests for r in runs) == 20
    assert OutboxEmail.objects.filter(kind=Kind.DIGEST).values("user_id").distinct().count() == 20
    assert OutboxEmail.objects.filter(kind=Kind.DIGEST).count() == 20
    assert OutboxEmail.objects.filter(status=OutboxState.MERGED).count() == 100
    assert sorted(len(m.body.split("Comment ")) - 1 for m in mail.outbox) == [5] * 20
