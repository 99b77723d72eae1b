"""Fixtures shared by every app's tests. Factories live in each app's tests/factories.py."""

import os
import socket
from urllib.parse import urlsplit

import pytest


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=3):
            return True
    except OSError:
        return False


def pytest_configure(config):
    """Stop at once with a clear message when PostgreSQL or Redis is not there, instead of a wall of errors."""
    missing = []
    for name, port in (("DATABASE_URL", 5432), ("REDIS_URL", 6379)):
        url = os.environ.get(name, "")
        if url.startswith(("postgres", "redis")) and not _reachable(url, port):
            missing.append(f"{name}={url}")
    if missing:
        raise pytest.UsageError(
            "The test suite needs PostgreSQL and Redis on localhost; cannot reach " + ", ".join(missing) + "."
        )


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Argon2 is deliberately slow; tests create hundreds of users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    # The manifest storage needs collectstatic; tests render pages without running it.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _no_login_lockout(settings):
    # The sign-in policy and the password-reset limits count in the cache, which outlives a test;
    # accounts/tests/test_signin_policy.py and test_reset_limits.py switch them back on (with a cleared cache).
    settings.AETHER_LIMITS_ENABLED = False


@pytest.fixture(autouse=True)
def _generation_caches_off(settings):
    # Test transactions never commit, so no generation would move on: analytics/tests/test_cache.py turns the
    # dashboard cache back on with committed changes.
    settings.ANALYTICS_CACHE_SECONDS = 0
    settings.API_CACHE_SECONDS = 0  # likewise: tasks/tests/test_api_list_cache.py turns it on


@pytest.fixture
def api_cache_on(settings):
    """The API's caches on (accounts/account_cache.py, tasks/list_cache.py), from an empty cache: ids repeat from
    one test database to the next, and the generations of earlier runs' teams and people are still there."""
    from django.core.cache import cache

    settings.API_CACHE_SECONDS = 60
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """`with commit():` runs the on-commit callbacks of what happens inside, as a committed request would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


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
