"""Emails people can foresee: the settings page says when the next digest goes out, in the person's time zone,
and sends a test digest on request, through the outbox, at most one every few minutes."""

from datetime import UTC, datetime

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import MembershipFactory, TeamFactory, UserFactory
from notifications import delivery
from notifications.digests import TEST_DIGEST_EVERY, next_digest
from notifications.models import EmailCadence, EmailPreference, Kind, OutboxEmail, OutboxState
from notifications.services import email_preference_update
from tasks import services as task_services
from tasks.tests.factories import ProjectFactory


@pytest.fixture(autouse=True)
def locmem(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.AETHER_EMAIL_BATCH_SECONDS = 300


@pytest.fixture
def world(db):
    team = TeamFactory(name="Acme")
    ann, bob = (
        MembershipFactory(team=team, role=role, user=UserFactory(email=f"{n}@acme.test", full_name=n.title())).user
        for n, role in (("ann", "owner"), ("bob", "member"))
    )
    return {"team": team, "ann": ann, "bob": bob, "project": ProjectFactory(team=team, name="Website")}


def at(monkeypatch, when):
    monkeypatch.setattr(timezone, "now", lambda: when)


def test_the_next_digest_is_said_in_the_person_s_words_and_zone(world, monkeypatch):
    bob = world["bob"]
    email_preference_update(actor=bob, cadence=EmailCadence.DIGEST, digest_hour=8, time_zone="America/New_York")
    pref = EmailPreference.objects.get(user=bob)

    at(monkeypatch, datetime(2026, 12, 5, 12, 0, tzinfo=UTC))  # 07:00 in New York: today at 08:00
    assert next_digest(pref).when == "today at 08:00"
    assert next_digest(pref).at == datetime(2026, 12, 5, 13, 0, tzinfo=UTC)
    at(monkeypatch, datetime(2026, 12, 5, 14, 0, tzinfo=UTC))  # 09:00 there: tomorrow
    assert next_digest(pref).when == "tomorrow, Sunday 6 Dec, at 08:00"
    assert next_digest(pref).zone == "America/New York"


def test_the_settings_page_shows_the_next_digest_and_what_waits_for_it(world, client, monkeypatch):
    ann, bob = world["ann"], world["bob"]
    email_preference_update(actor=bob, cadence=EmailCadence.DIGEST, digest_hour=18, time_zone="Europe/Berlin")
    task_services.task_create(actor=ann, project=world["project"], title="Launch", assignee=bob)
    at(monkeypatch, datetime(2026, 12, 5, 9, 0, tzinfo=UTC))
    client.force_login(bob)

    page = client.get(reverse("notifications:preferences")).content.decode()

    assert (
        'Your next digest goes out <strong><time datetime="2026-12-05T17:00:00+00:00">today at 18:00</time></strong> '
        "(Europe/Berlin time), with the 1 update waiting for it so far."
    ) in page
    assert "Send me a test digest now" in page
    assert "within 5 minutes come as one email" in page  # batching's delay, where emails are chosen


def test_without_a_digest_the_page_says_how_emails_come_and_when_a_digest_would(world, client, monkeypatch):
    at(monkeypatch, datetime(2026, 12, 5, 9, 0, tzinfo=UTC))
    client.force_login(world["bob"])
    page = client.get(reverse("notifications:preferences")).content.decode()
    assert "You get emails as they happen (updates on one task within 5 minutes come as one)." in page
    assert "the next one would go out" in page


def test_a_test_digest_lists_what_waits_goes_through_the_outbox_and_leaves_the_real_one_alone(world, client):
    ann, bob = world["ann"], world["bob"]
    email_preference_update(actor=bob, cadence=EmailCadence.DIGEST, digest_hour=8, time_zone="UTC")
    task_services.task_create(actor=ann, project=world["project"], title="Launch", assignee=bob)
    held = list(OutboxEmail.objects.filter(user=bob, status=OutboxState.DIGEST).values_list("pk", flat=True))
    assert len(held) == 1
    client.force_login(bob)

    response = client.post(reverse("notifications:digest_test"), follow=True)

    assert "A test digest is on its way to bob@acme.test, with 1 update waiting for your digest." in (
        response.content.decode()
    )
    test_row = OutboxEmail.objects.get(kind=Kind.DIGEST, user=bob)
    assert test_row.context["test"] is True
    delivery.outbox_deliver()
    (message,) = mail.outbox
    assert message.subject == "Test: Your Aether digest: 1 update"
    assert "This is the test digest you asked for" in message.body
    assert "Ann assigned you “Launch”" in message.body
    assert "List-Unsubscribe" not in message.extra_headers  # a test is not a subscription
    # The update still waits for the real digest.
    assert list(OutboxEmail.objects.filter(user=bob, status=OutboxState.DIGEST).values_list("pk", flat=True)) == held


def test_test_digests_are_rate_limited_and_a_get_goes_to_the_page(world, client):
    bob = world["bob"]
    client.force_login(bob)
    url = reverse("notifications:digest_test")
    assert client.post(url).status_code == 302
    again = client.post(url, follow=True)
    assert f"you can ask for another in {TEST_DIGEST_EVERY // 60} minutes" in again.content.decode()
    assert OutboxEmail.objects.filter(kind=Kind.DIGEST, user=bob).count() == 1
    assert client.get(url).url == reverse("notifications:preferences")  # a POST-only address, as every other


def test_an_empty_test_digest_says_so(world, client):
    client.force_login(world["bob"])
    client.post(reverse("notifications:digest_test"))
    delivery.outbox_deliver()
    (message,) = mail.outbox
    assert "Nothing is waiting for it yet" in message.body
