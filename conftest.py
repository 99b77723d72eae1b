"""Fixtures shared by every app's tests. Factories live in each app's tests/factories.py."""

import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Argon2 is deliberately slow; tests create hundreds of users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _no_login_lockout(settings):
    # django-axes counts failures across tests; its own behaviour is tested where it is switched back on.
    settings.AXES_ENABLED = False


@pytest.fixture
def team_roles(db):
    """A team with one user of each role, and an outsider in another team."""
    from accounts.tests.factories import MembershipFactory, TeamFactory, UserFactory

    team = TeamFactory(name="Acme")
    other = TeamFactory(name="Other")
    people = {
        role: MembershipFactory(team=team, role=role, user=UserFactory(email=f"{role}@acme.test")).user
        for role in ("owner", "admin", "member", "viewer")
    }
    people["outsider"] = MembershipFactory(team=other, role="owner", user=UserFactory(email="out@other.test")).user
    return team, other, people
