"""Migrating a database from before "no secret at rest": invitations keep the hash of their token (a link already
emailed keeps working), an invitation whose email still waits gets a link made at sending, and the outbox rows
of invitations and resets lose their links, bodies and tokens in dedupe keys."""

import hashlib

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("accounts", "0002_calendar_feed"), ("notifications", "0009_outbox_indexes_leave_sent_rows_out")]
AFTER = [("accounts", "0005_invitation_token_dropped"), ("notifications", "0010_outbox_keeps_no_secret_links")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def schema_restored():
    yield
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_tokens_become_hashes_and_the_outbox_forgets_links(schema_restored):
    old = migrate(BEFORE)
    Team, Invitation = old.get_model("accounts", "Team"), old.get_model("accounts", "Invitation")
    Outbox = old.get_model("notifications", "OutboxEmail")
    team = Team.objects.create(name="T", slug="t")
    sent = Invitation.objects.create(
        team=team, email="a@x.test", token="sent-token-123", expires_at="2099-01-01T00:00Z"
    )
    waiting = Invitation.objects.create(
        team=team, email="b@x.test", token="waiting-token-456", expires_at="2099-01-01T00:00Z"
    )
    common = {"subject": "s", "next_attempt_at": "2026-01-01T00:00Z"}
    Outbox.objects.create(
        recipient="a@x.test",
        kind="invitation",
        status="sent",
        sent_at="2026-01-01T00:00Z",
        dedupe_key=f"invitation:{sent.pk}:sent-token-1:2099",
        context={"url": "/accounts/invitations/sent-token-123/"},
        body_text="Join: http://x/accounts/invitations/sent-token-123/",
        **common,
    )
    Outbox.objects.create(
        recipient="b@x.test",
        kind="invitation",
        status="pending",
        dedupe_key=f"invitation:{waiting.pk}:waiting-toke:2099",
        context={"url": "/accounts/invitations/waiting-token-456/"},
        body_text="Join: http://x/accounts/invitations/waiting-token-456/",
        **common,
    )
    Outbox.objects.create(
        recipient="c@x.test",
        kind="password_reset",
        status="pending",
        dedupe_key="password_reset:7:abc-resettoken",
        context={"url": "/accounts/password/reset/Nw/abc-resettoken/"},
        body_text="Reset: /accounts/password/reset/Nw/abc-resettoken/",
        **common,
    )

    new = migrate(AFTER)

    Invitation = new.get_model("accounts", "Invitation")
    assert Invitation.objects.get(pk=sent.pk).token_hash == hashlib.sha256(b"sent-token-123").hexdigest()
    renewed = Invitation.objects.get(pk=waiting.pk)
    assert renewed.token_nonce
    assert renewed.token_hash != hashlib.sha256(b"waiting-token-456").hexdigest()
    rows = list(new.get_model("notifications", "OutboxEmail").objects.order_by("pk").values())
    text = repr(rows)
    for secret in ("sent-token", "waiting-token", "waiting-toke", "resettoken"):
        assert secret not in text
    assert [r["context"].get("invitation_id") for r in rows] == [sent.pk, waiting.pk, None]
    assert {r["body_text"] for r in rows} == {""}
