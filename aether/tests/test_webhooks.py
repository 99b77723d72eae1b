"""Finding 2: the provider's tracking webhook. Without an ESP it does not exist; with one, the app refuses to
start without its secret, and an unsigned or wrongly signed post (a forged Postmark bounce) changes nothing."""

import base64
import json
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.utils import timezone

from aether.testing import free_port
from aether.tests.test_settings import PRODUCTION, ROOT, manage
from notifications.models import Kind, OutboxEmail, OutboxState

pytestmark = pytest.mark.django_db
URL = "/anymail/postmark/tracking/"
MESSAGE_ID = "883953f4-6105-42a2-a16a-77a8eac79483"
FORGED_BOUNCE = {
    "RecordType": "Bounce",
    "MessageID": MESSAGE_ID,
    "Type": "HardBounce",
    "TypeCode": 1,
    "Email": "kim@example.test",
    "Description": "ATTACKER TEXT: this mailbox is gone",
    "BouncedAt": "2026-11-26T10:00:00Z",
}


@pytest.fixture
def sent_row():
    return OutboxEmail.objects.create(
        recipient="kim@example.test",
        subject="Hello",
        body_text="Hello",
        kind=Kind.TASK_ASSIGNED,
        dedupe_key="webhook:1",
        status=OutboxState.SENT,
        next_attempt_at=timezone.now(),
        sent_at=timezone.now(),
        provider_message_id=MESSAGE_ID,
    )


def _state(row):
    row.refresh_from_db()
    return (row.status, row.provider_event, row.last_error)


def post(client, auth: str | None):
    headers = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(auth.encode()).decode()} if auth else {}
    return client.post(URL, data=json.dumps(FORGED_BOUNCE), content_type="application/json", **headers)


def test_without_an_esp_the_webhook_does_not_exist(client, settings, sent_row):
    settings.ANYMAIL_ESP = ""
    settings.ANYMAIL = {}
    before = _state(sent_row)

    assert post(client, None).status_code == 404
    assert _state(sent_row) == before


def test_only_the_configured_esps_webhook_exists(client, settings):
    settings.ANYMAIL_ESP = "postmark"
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:a-long-secret"}

    assert client.post("/anymail/sendgrid/tracking/", data="[]", content_type="application/json").status_code == 404
    assert client.post("/anymail/postmark/inbound/", data="{}", content_type="application/json").status_code == 404


@pytest.mark.parametrize("auth", [None, "hook:wrong-secret", "other:a-long-secret"], ids=["unsigned", "wrong", "user"])
def test_an_unsigned_or_wrongly_signed_bounce_changes_nothing(client, settings, sent_row, auth):
    settings.ANYMAIL_ESP = "postmark"
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:a-long-secret"}
    before = _state(sent_row)

    response = post(client, auth)

    assert response.status_code == 400
    assert _state(sent_row) == before
    assert "ATTACKER" not in str(OutboxEmail.objects.values_list().get())


def test_the_rightly_signed_bounce_marks_the_row(client, settings, sent_row):
    """The control: only the signature made the posts above fail."""
    settings.ANYMAIL_ESP = "postmark"
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:a-long-secret"}

    assert post(client, "hook:a-long-secret").status_code == 200
    assert _state(sent_row)[1] == "bounced"


def test_an_esp_without_a_webhook_secret_is_a_system_check_error(settings):
    settings.ANYMAIL_ESP = "postmark"
    settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": "x", "WEBHOOK_SECRET": ""}

    with pytest.raises(SystemCheckError, match=r"aether\.E001.*ANYMAIL_WEBHOOK_SECRET"):
        call_command("check")


def test_production_with_an_esp_refuses_to_start_without_the_secret_and_is_clean_with_it():
    esp = {**PRODUCTION, "ANYMAIL_ESP": "postmark", "ANYMAIL_API_KEY": "server-token"}

    refused = manage("check", env=esp)
    assert refused.returncode != 0
    assert "aether.E001" in refused.stderr
    assert "ANYMAIL_WEBHOOK_SECRET" in refused.stderr

    clean = manage("check", "--deploy", "--fail-level", "WARNING", env={**esp, "ANYMAIL_WEBHOOK_SECRET": "hook:x"})
    assert clean.returncode == 0, clean.stdout + clean.stderr


def test_gunicorn_refuses_to_start_with_an_esp_and_no_secret():
    env = {"PATH": "/usr/bin:/bin", **PRODUCTION, "ANYMAIL_ESP": "postmark", "PORT": str(free_port())}
    env["AETHER_ENV_FILE"] = ""
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "aether.asgi", "-c", "gunicorn.conf.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "aether.E001" in result.stderr + result.stdout
