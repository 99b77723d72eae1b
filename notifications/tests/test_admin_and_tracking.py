"""The outbox in the admin (counts, filters, search, actions) and the provider's tracking webhook."""

import base64
import json

import pytest
from anymail.signals import AnymailTrackingEvent, tracking
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory, sign_in_to_admin
from notifications.models import Kind, OutboxEmail, OutboxState

pytestmark = pytest.mark.django_db


def row(i, status=OutboxState.PENDING, **kw):
    return OutboxEmail.objects.create(
        recipient=f"person{i}@example.test",
        subject=f"Subject {i}",
        body_text="Hello",
        kind=kw.pop("kind", Kind.TASK_ASSIGNED),
        dedupe_key=f"admin:{i}",
        status=status,
        next_attempt_at=timezone.now(),
        sent_at=timezone.now() if status == OutboxState.SENT else None,
        **kw,
    )


@pytest.fixture
def admin_client(client):
    sign_in_to_admin(client, UserFactory(email="boss@example.test", is_staff=True, is_superuser=True))
    return client


URL = "/admin/notifications/outboxemail/"


def test_the_changelist_shows_waiting_and_dead_counts(admin_client):
    row(1)
    row(2, OutboxState.FAILED)
    row(3, OutboxState.SENT)
    row(4, OutboxState.DEAD)

    page = admin_client.get(URL).content.decode()

    assert "Outbox: 2 waiting to be sent, 1 dead" in page


def test_the_changelist_counts_held_rows_and_filters_by_their_states(admin_client):
    row(1)
    row(2, OutboxState.BATCHED)
    row(3, OutboxState.DIGEST)
    row(4, OutboxState.MERGED)

    page = admin_client.get(URL).content.decode()
    held = admin_client.get(URL, {"status__exact": "digest"}).content.decode()
    preferences = admin_client.get("/admin/notifications/emailpreference/")

    assert "Outbox: 1 waiting to be sent, 2 held for batches and digests, 0 dead" in page
    assert "Held for the daily digest" in page  # the state filter offers it
    assert "person3@example.test" in held
    assert "person2@example.test" not in held
    assert preferences.status_code == 200


def test_the_changelist_filters_by_status_and_kind_and_searches_by_recipient(admin_client):
    row(1)
    row(2, OutboxState.DEAD, kind=Kind.TASK_OVERDUE)
    row(3, OutboxState.DEAD)

    dead_overdue = admin_client.get(URL, {"status__exact": "dead", "kind__exact": "task_overdue"}).content.decode()
    found = admin_client.get(URL, {"q": "person3@"}).content.decode()

    assert "person2@example.test" in dead_overdue
    assert "person3@example.test" not in dead_overdue
    assert "person3@example.test" in found
    assert "person1@example.test" not in found


def test_send_again_action(admin_client, django_capture_on_commit_callbacks):
    dead = row(1, OutboxState.DEAD, attempts=5, last_error="boom")
    sending = row(2, OutboxState.SENDING)

    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(
            URL, {"action": "send_again", "_selected_action": [dead.pk, sending.pk]}, follow=True
        )

    assert "1 email(s) queued to be sent again." in response.content.decode()
    dead.refresh_from_db()
    sending.refresh_from_db()
    assert (dead.status, dead.attempts, dead.last_error) == (OutboxState.PENDING, 0, "")
    assert sending.status == OutboxState.SENDING
    assert len(callbacks) == 1  # a worker is asked after commit


def test_mark_dead_action(admin_client):
    failed = row(1, OutboxState.FAILED, last_error="timeout")
    sent = row(2, OutboxState.SENT)

    admin_client.post(URL, {"action": "mark_dead", "_selected_action": [failed.pk, sent.pk]})

    failed.refresh_from_db()
    sent.refresh_from_db()
    assert failed.status == OutboxState.DEAD
    assert failed.last_error == "Marked dead by boss@example.test. timeout"
    assert sent.status == OutboxState.SENT


def test_rows_cannot_be_added_by_hand(admin_client):
    assert admin_client.get(URL + "add/").status_code == 403


def _event(event_type, message_id, description=""):
    return AnymailTrackingEvent(
        event_type=event_type, message_id=message_id, description=description, timestamp=timezone.now()
    )


def test_a_bounce_marks_the_row_and_a_later_delivered_event_does_not_hide_it():
    sent = row(1, OutboxState.SENT, provider_message_id="esp-123")
    other = row(2, OutboxState.SENT, provider_message_id="esp-456")

    tracking.send(sender=object, event=_event("bounced", "esp-123", "Mailbox does not exist"), esp_name="Test")
    tracking.send(sender=object, event=_event("delivered", "esp-123"), esp_name="Test")
    tracking.send(sender=object, event=_event("delivered", "esp-456"), esp_name="Test")

    sent.refresh_from_db()
    other.refresh_from_db()
    assert (sent.provider_event, sent.last_error) == ("bounced", "bounced: Mailbox does not exist")
    assert other.provider_event == "delivered"


def test_a_complaint_through_the_real_webhook_marks_the_row(client, settings):
    """End to end through anymail's Postmark tracking webhook, mounted under /anymail/."""
    settings.ANYMAIL_ESP = "postmark"  # the webhook exists only for the configured ESP
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:secret"}
    sent = row(1, OutboxState.SENT, provider_message_id="883953f4-6105-42a2-a16a-77a8eac79483")
    payload = {
        "RecordType": "SpamComplaint",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Type": "SpamComplaint",
        "TypeCode": 512,
        "Email": "person1@example.test",
        "Description": "The subscriber explicitly marked this message as spam.",
        "BouncedAt": "2026-11-26T10:00:00Z",
    }
    auth = base64.b64encode(b"hook:secret").decode()

    response = client.post(
        "/anymail/postmark/tracking/",
        data=json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {auth}",
    )

    assert response.status_code == 200
    sent.refresh_from_db()
    assert sent.provider_event == "complained"


def test_the_webhook_refuses_a_caller_without_the_secret(client, settings):
    settings.ANYMAIL_ESP = "postmark"
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:secret"}
    response = client.post("/anymail/postmark/tracking/", data="{}", content_type="application/json")
    assert response.status_code == 400  # anymail treats it as a suspicious request
    assert OutboxEmail.objects.count() == 0


def test_admin_urls_exist():
    assert reverse("admin:notifications_outboxemail_changelist") == URL
