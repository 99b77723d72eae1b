"""Finding 3: password-reset requests are limited per account and per address, and answer the same whatever."""

import re
from datetime import datetime

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.test import Client

from accounts import signin
from accounts.tests.factories import UserFactory
from notifications.models import Kind, OutboxEmail

HOUR = 60 * 60


@pytest.fixture
def clock(settings, monkeypatch):
    settings.AETHER_RESET_PER_ACCOUNT = 3
    settings.AETHER_RESET_PER_ADDRESS = 10
    now = [1_000_000 * HOUR + 1.0]

    def tick():  # every request a second after the one before, as in the finding
        now[0] += 1
        return now[0]

    monkeypatch.setattr(signin, "_now", tick)
    # The reset token carries the time to the second: the clock of the requests is the clock of the tokens.
    monkeypatch.setattr(default_token_generator, "_now", lambda: datetime.fromtimestamp(now[0]))  # noqa: DTZ006
    return now


def ask(email, address="10.0.0.1"):
    response = Client(REMOTE_ADDR=address).post("/accounts/password/reset/", {"email": email}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain == [("/accounts/password/reset/sent/", 302)]
    return re.sub(r'(csrfmiddlewaretoken" value="|X-CSRFToken": ")[^"]+', "", response.content.decode())


def resets_to(email):
    return OutboxEmail.objects.filter(kind=Kind.PASSWORD_RESET, recipient=email).count()


def test_fifteen_requests_send_three_emails_to_one_person(clock, db):
    UserFactory(email="ann@example.test")

    pages = {ask(spelling) for spelling in ["ann@example.test", "ANN@example.test", " Ann@Example.test "] * 5}

    assert resets_to("ann@example.test") == 3
    assert len(pages) == 1  # the same answer for the emails sent and the ones held back
    clock[0] += HOUR
    ask("ann@example.test")
    assert resets_to("ann@example.test") == 4


def test_the_account_limit_holds_across_addresses(clock, db):
    UserFactory(email="ann@example.test")

    for i in range(6):
        ask("ann@example.test", address=f"10.0.{i}.1")

    assert resets_to("ann@example.test") == 3


def test_one_address_asks_for_at_most_ten_accounts_an_hour(clock, db):
    for i in range(12):
        UserFactory(email=f"u{i}@example.test")

    for i in range(12):
        ask(f"u{i}@example.test")

    assert OutboxEmail.objects.filter(kind=Kind.PASSWORD_RESET).count() == 10
    ask("u11@example.test", address="10.9.9.9")
    assert resets_to("u11@example.test") == 1


def test_the_answer_is_the_same_for_an_unknown_address_and_a_limited_one(clock, db):
    UserFactory(email="ann@example.test")
    for _ in range(3):
        ask("ann@example.test")

    assert ask("ann@example.test") == ask("nobody@example.test", address="10.0.0.2")
    assert resets_to("ann@example.test") == 3
    assert not OutboxEmail.objects.exclude(recipient="ann@example.test").exists()
