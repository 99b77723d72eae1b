"""No usable secret at rest: a password-reset link and an invitation link exist only in the email as sent.
Every table of the database is read after a reset request and an invitation, before and after their emails
are delivered, and none holds the link's token; the links work; a link that no longer applies is not sent."""

import re

import pytest
from django.core import mail
from django.db import connection
from django.urls import reverse

from accounts import services
from accounts.models import Invitation
from notifications.delivery import outbox_deliver
from notifications.models import OutboxEmail

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://[^/\s]+(/accounts/(?:invitations/[^/\s]+|password/reset/[^/\s]+/[^/\s]+)/)")


def every_table_as_text() -> str:
    """Every row of every table of the database, each as PostgreSQL's text of the row."""
    parts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT t::text FROM {connection.ops.quote_name(table)} t")  # noqa: S608 -- table names
            parts.extend(row[0] for row in cursor.fetchall())
    return "\n".join(parts)


@pytest.fixture
def sent(settings, team_roles):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    team, _, people = team_roles
    services.password_reset_request(email="member@acme.test", address="10.1.1.1")
    services.invitation_create(actor=people["owner"], team=team, email="newcomer@acme.test", role="viewer")
    before = every_table_as_text()
    outbox_deliver(ids=list(OutboxEmail.objects.values_list("pk", flat=True)))
    links = {m.to[0]: LINK.search(m.body).group(1) for m in mail.outbox}
    return {"before": before, "after": every_table_as_text(), "links": links, "people": people}


def secrets_of(path: str) -> list[str]:
    """The part of a link's path that opens it: the invitation's token, or the reset link's token (the part
    before it is the account's id in base 64, not a secret)."""
    return [path.rstrip("/").rsplit("/", 1)[-1]]


def test_no_table_holds_a_link_before_or_after_delivery(sent):
    assert set(sent["links"]) == {"member@acme.test", "newcomer@acme.test"}
    for path in sent["links"].values():
        for secret in secrets_of(path):
            assert len(secret) >= 20
            assert secret not in sent["before"]
            assert secret not in sent["after"]
        assert path not in sent["after"]
    rows = OutboxEmail.objects.filter(kind__in=["invitation", "password_reset"])
    assert [(r.status, r.body_text, r.body_html, "url" in r.context) for r in rows] == [("sent", "", "", False)] * 2


def test_the_links_as_sent_work(client, sent):
    invitation = client.get(sent["links"]["newcomer@acme.test"])
    assert invitation.status_code == 200
    assert "newcomer@acme.test" in invitation.content.decode()
    reset = client.get(sent["links"]["member@acme.test"])
    assert reset.status_code == 302  # Django moves the token into the session, then asks for the password
    assert client.get(reset["Location"]).context["validlink"] is True


def test_an_invitation_keeps_only_its_tokens_hash(sent):
    invitation = Invitation.objects.get(email="newcomer@acme.test")
    token = sent["links"]["newcomer@acme.test"].rstrip("/").rsplit("/", 1)[-1]
    import hashlib

    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert not any(f.name == "token" for f in Invitation._meta.fields)


def test_a_resent_invitation_carries_the_same_link(settings, team_roles):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    team, _, people = team_roles
    for _ in range(2):
        services.invitation_create(actor=people["owner"], team=team, email="again@acme.test")
        outbox_deliver()
    first, second = (LINK.search(m.body).group(1) for m in mail.outbox)
    assert first == second


def test_a_withdrawn_invitation_and_a_deactivated_account_get_no_email(settings, team_roles):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    team, _, people = team_roles
    invitation = services.invitation_create(actor=people["owner"], team=team, email="gone@acme.test")
    services.invitation_revoke(actor=people["owner"], invitation=invitation)
    services.password_reset_request(email="viewer@acme.test", address="10.1.1.2")
    viewer = people["viewer"]
    viewer.is_active = False
    viewer.save(update_fields=["is_active"])

    outbox_deliver()

    assert mail.outbox == []
    assert sorted(OutboxEmail.objects.values_list("kind", "status")) == [
        ("invitation", "dead"),
        ("password_reset", "dead"),
    ]
    assert all("no longer applies" in e for e in OutboxEmail.objects.values_list("last_error", flat=True))


def test_an_invitation_link_with_a_nul_or_an_unknown_token_is_a_404(client):
    assert client.get(reverse("accounts:invitation_accept", args=["x" * 64])).status_code == 404
    assert client.get("/accounts/invitations/abc%00def/").status_code == 400
