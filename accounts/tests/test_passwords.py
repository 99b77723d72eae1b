"""The password hasher and the bound on password checks (accounts/hashers.py, accounts/signin.py): Argon2id with
OWASP's parameters, old hashes rewritten at their owner's next sign-in, and a sign-in that finds no turn to
check a password answered 503 with Retry-After, nothing counted. (conftest.py hashes with MD5 for speed; these
tests put the production hasher back.)"""

import threading

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher, identify_hasher
from django.urls import reverse
from rest_framework.test import APIClient

from accounts import signin
from accounts.hashers import Argon2idPasswordHasher
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PRODUCTION = ["accounts.hashers.Argon2idPasswordHasher", "django.contrib.auth.hashers.PBKDF2PasswordHasher"]


def test_passwords_are_hashed_with_owasps_argon2id_parameters(settings):
    settings.PASSWORD_HASHERS = PRODUCTION
    user = UserFactory(email="h@acme.test", password="A-long-pass-1")
    assert identify_hasher(user.password).algorithm == "argon2"
    assert "$argon2id$v=19$m=19456,t=2,p=1$" in user.password


def test_an_old_hash_is_rewritten_at_the_next_sign_in(client, settings):
    settings.PASSWORD_HASHERS = PRODUCTION
    user = UserFactory(email="old@acme.test")
    user.password = Argon2PasswordHasher().encode("A-long-pass-1", Argon2PasswordHasher().salt())  # 100 MiB, p=8
    user.save(update_fields=["password"])
    assert "m=102400" in user.password

    response = client.post(reverse("accounts:login"), {"username": "old@acme.test", "password": "A-long-pass-1"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert "$m=19456,t=2,p=1$" in user.password
    assert Argon2idPasswordHasher().verify("A-long-pass-1", user.password)


@pytest.fixture
def no_turn(settings, monkeypatch):
    """Every turn to check a password is taken (a burst of sign-ins in this process), and nobody waits long."""
    settings.AETHER_PASSWORD_CHECK_WAIT = 0.05
    taken = threading.BoundedSemaphore(1)
    taken.acquire()
    monkeypatch.setattr(signin, "_checks", taken)


def test_a_sign_in_with_no_turn_to_check_the_password_is_a_503(client, no_turn):
    UserFactory(email="busy@acme.test")
    page = client.post(reverse("accounts:login"), {"username": "busy@acme.test", "password": "pw-for-tests-1"})
    assert (page.status_code, page["Retry-After"]) == (503, str(signin.BUSY_RETRY_AFTER))
    assert "Too many sign-ins at once" in page.content.decode()

    api = APIClient().post("/api/v1/auth/token/", {"email": "busy@acme.test", "password": "pw"}, format="json")
    assert (api.status_code, api.json()["code"], api["Retry-After"]) == (503, "busy", str(signin.BUSY_RETRY_AFTER))


def test_a_busy_sign_in_counts_no_failure(client, no_turn):
    UserFactory(email="busy@acme.test")
    for _ in range(10):
        client.post(reverse("accounts:login"), {"username": "busy@acme.test", "password": "wrong"})
    assert signin.check("busy@acme.test", "127.0.0.1") is None
