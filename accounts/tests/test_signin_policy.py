"""The one sign-in policy (accounts/signin.py) at its three doors: the sign-in page, admin's sign-in and the
token endpoint. Both sides: a guesser is stopped whatever the spelling or the address, and the owner still
gets in (at once from an address they signed in from before, from a new one after the cool-off)."""

import pytest
from django.contrib.auth import SESSION_KEY
from django.core.cache import cache

from accounts import signin
from accounts.tests.factories import UserFactory
from tasks.tests.api_helpers import api_client

PASSWORD = "pw-for-tests-1"  # UserFactory's
WINDOW = 15 * 60
SPELLINGS = ["Alice@example.com", "ALICE@EXAMPLE.COM", " alice@example.com", "alice@EXAMPLE.com ", "aLiCe@Example.Com"]


class Clock:
    def __init__(self):
        self.now = 2_000_000 * WINDOW + 5.0  # just after a window starts

    def __call__(self):
        return self.now

    def advance(self, seconds: float):
        self.now += seconds


@pytest.fixture
def clock(settings, monkeypatch):
    settings.AETHER_SIGNIN_PAIR_LIMIT = 5
    settings.AETHER_SIGNIN_ACCOUNT_LIMIT = 20
    settings.AETHER_SIGNIN_WINDOW_MINUTES = 15
    clock = Clock()
    monkeypatch.setattr(signin, "_now", clock)
    return clock


@pytest.fixture
def alice(db):
    return UserFactory(email="alice@example.com", is_staff=True)  # staff, so that admin's sign-in can let her in


def via_page(email, password, address):
    from django.test import Client

    client = Client(REMOTE_ADDR=address)
    response = client.post("/accounts/login/", {"username": email, "password": password})
    if response.status_code == 302 and SESSION_KEY in client.session:
        return "in"
    if response.status_code == 429:
        assert "Sign-in paused" in response.content.decode()
        assert int(response["Retry-After"]) > 0
        return "paused"
    assert response.status_code == 200, response.status_code
    assert "Please enter a correct email address and password" in response.content.decode()
    return "wrong"


def via_admin(email, password, address):
    """Django admin's sign-in is the site's (aether/admin_site.py): its page sends there, and posting to it signs
    nobody in (no second door that a policy could miss)."""
    from django.test import Client

    client = Client(REMOTE_ADDR=address)
    posted = client.post("/admin/login/?next=/admin/", {"username": email, "password": password})
    assert posted.status_code == 302
    assert posted["Location"].startswith("/accounts/login/")
    assert SESSION_KEY not in client.session
    return via_page(email, password, address)


def via_api(email, password, address):
    response = api_client().post(
        "/api/v1/auth/token/", {"email": email, "password": password}, format="json", REMOTE_ADDR=address
    )
    if response.status_code == 200:
        return "in"
    body = response.json()
    assert set(body) == {"code", "detail", "errors"}
    if response.status_code == 429:
        assert body["code"] == "locked_out"
        assert int(response["Retry-After"]) > 0
        return "paused"
    assert (response.status_code, body["code"]) == (401, "authentication_failed")
    return "wrong"


DOORS = pytest.mark.parametrize("door", [via_page, via_admin, via_api], ids=["page", "admin", "api"])


@DOORS
def test_spellings_of_one_account_share_one_count_from_an_address(clock, alice, door):
    """Finding 1: each spelling used to get its own guesses, and the right password in another spelling got in."""
    assert [door(email, "wrong", "10.0.0.1") for email in SPELLINGS] == ["wrong"] * 5

    assert door("ALICE@example.COM", PASSWORD, "10.0.0.1") == "paused"
    assert door(" alice@example.com ", "wrong", "10.0.0.1") == "paused"  # the same answer: no password checked

    clock.advance(WINDOW)
    assert door("Alice@Example.com", PASSWORD, "10.0.0.1") == "in"


@DOORS
def test_the_doors_share_one_count(clock, alice, door):
    others = [d for d in (via_page, via_admin, via_api) if d is not door]
    for i in range(5):
        assert others[i % 2](SPELLINGS[i], "wrong", "10.0.0.1") == "wrong"

    assert door("alice@example.com", PASSWORD, "10.0.0.1") == "paused"


@DOORS
def test_guessing_from_many_addresses_is_bounded_per_account(clock, alice, door):
    door("alice@example.com", PASSWORD, "192.168.1.10")  # the owner's usual address
    guesses = [door(SPELLINGS[i % 5], "wrong", f"10.1.{i}.1") for i in range(20)]
    assert guesses == ["wrong"] * 20

    assert door("alice@example.com", PASSWORD, "10.2.0.1") == "paused"  # the 21st address, even right
    assert door("alice@example.com", PASSWORD, "192.168.1.10") == "in"  # the owner's address is not paused

    clock.advance(WINDOW)
    assert door("alice@example.com", PASSWORD, "10.2.0.1") == "in"


def test_a_stranger_cannot_keep_the_owner_out_of_the_api(clock, alice):
    """Finding 4: ten wrong passwords a minute for the account, from anywhere, used to lock the owner out."""
    assert via_api("alice@example.com", PASSWORD, "192.168.1.10") == "in"
    for minute in range(20):  # (the per-address flood guard, 30/min of real time, stays out of the way)
        for i in range(10):
            via_api("alice@example.com", "wrong", f"10.{minute}.{i}.1")
        assert via_api("alice@example.com", PASSWORD, "192.168.1.10") == "in", f"minute {minute}"
        clock.advance(60)

    # From an address new to the account, the owner waits at most until the window ends after the stranger stops.
    assert via_api("alice@example.com", PASSWORD, "172.16.0.1") == "paused"
    clock.advance(WINDOW)
    assert via_api("alice@example.com", PASSWORD, "172.16.0.1") == "in"


def test_a_known_address_still_has_its_own_limit(clock, alice):
    assert via_api("alice@example.com", PASSWORD, "192.168.1.10") == "in"

    assert [via_api("alice@example.com", "wrong", "192.168.1.10") for _ in range(5)] == ["wrong"] * 5
    assert via_api("alice@example.com", PASSWORD, "192.168.1.10") == "paused"
    assert via_api("alice@example.com", PASSWORD, "192.168.1.11") == "in"  # other addresses are not paused


def test_a_success_starts_the_address_count_again(clock, alice):
    for _ in range(2):
        assert [via_page("alice@example.com", "wrong", "10.0.0.1") for _ in range(4)] == ["wrong"] * 4
        assert via_page("alice@example.com", PASSWORD, "10.0.0.1") == "in"


def test_an_unknown_account_is_counted_like_a_real_one(clock, db):
    """The answers do not tell who has an account: a made-up address is paused after the same failures."""
    answers = [via_api("nobody@example.com", "wrong", "10.0.0.1") for _ in range(6)]

    assert answers == ["wrong"] * 5 + ["paused"]


def test_the_paused_page_says_for_how_long_and_offers_the_reset(clock, alice, client):
    for email in SPELLINGS:
        via_page(email, "wrong", "10.0.0.1")
    clock.advance(5 * 60)

    response = client.post(
        "/accounts/login/", {"username": "alice@example.com", "password": PASSWORD}, REMOTE_ADDR="10.0.0.1"
    )

    assert response.status_code == 429
    html = response.content.decode()
    assert "for 10 minutes" in html
    assert "/accounts/password/reset/" in html
    assert 595 <= int(response["Retry-After"]) <= 600
    assert SESSION_KEY not in client.session


def test_the_policy_keeps_no_email_or_ip_address_in_the_cache(clock, alice):
    via_api("alice@example.com", "wrong", "10.0.0.1")
    via_api("alice@example.com", PASSWORD, "10.0.0.2")

    keys = [k.decode() for k in cache._cache.get_client().keys(f"{cache.key_prefix}:*signin*")]  # this test's
    assert len(keys) == 3  # the address's count, the account's count, the address known to the account
    assert not [k for k in keys if "alice" in k or "10.0.0" in k]
