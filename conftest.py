"""Fixtures shared by every app's tests. Factories live in each app's tests/factories.py."""

import contextlib
import itertools
import logging
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
    """Stop at once with a clear message when PostgreSQL or Redis cannot be reached, instead of a wall of errors."""
    missing = [
        f"{name}={urlsplit(os.environ[name])._replace(netloc=urlsplit(os.environ[name]).hostname or '').geturl()}"
        for name, port in (("DATABASE_URL", 5432), ("REDIS_URL", 6379))
        if os.environ.get(name) and not _reachable(os.environ[name], port)
    ]
    if missing:
        raise pytest.UsageError(
            "The test suite runs on PostgreSQL and Redis; cannot reach " + ", ".join(missing) + ". `make test` "
            "starts embedded ones (or: .venv/bin/python -m aether.embedded exec -- .venv/bin/pytest ...)."
        )


def pytest_collection_modifyitems(config, items):
    """A browser test runs once more when it fails (pytest-rerunfailures, shown as "R" in the summary): focus and
    timing in a headless Chromium on two cores shared with the other test worker are not always the same. A
    failure twice in a row fails the run."""
    for item in items:
        if item.get_closest_marker("browser") and not item.get_closest_marker("flaky"):
            item.add_marker(pytest.mark.flaky(reruns=1))


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Argon2 is deliberately slow; tests create hundreds of users. (accounts/tests/test_passwords.py checks the
    # production hasher itself.)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    # The manifest storage needs collectstatic; tests render pages without running it (aether/tests/
    # test_collectstatic.py runs it with that storage).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


_tests_run = itertools.count()


@pytest.fixture(autouse=True)
def _redis_keys_of_this_test(settings):
    """Every test its own keys in Redis, under its process's prefix (aether/pytest_plugin.py): sign-in counters,
    rate limits, the denylist and the caches' generations start empty for each test, with the caches, the
    sign-in policy and the limits on as in production, and nothing is ever flushed. Set through the settings,
    so that every thread (the live server's included) builds its cache client with it."""
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "KEY_PREFIX": f"{settings.REDIS_KEY_PREFIX}:{next(_tests_run)}"}
    }


_capturing: list[bool] = []  # inside django_capture_on_commit_callbacks: callbacks wait to be captured


@pytest.fixture(autouse=True)
def _commits_as_in_production(request):
    """A test runs inside a transaction that is rolled back at its end, so nothing a service does would ever
    "commit" and no on_commit callback would run: the caches' generations would never be renewed, and a page
    read after a change would be the one cached before it. Here, as in production (each service's atomic block
    is the outermost one, ATOMIC_REQUESTS is off), the callbacks run when the outermost atomic block *of the
    code under test* exits successfully, and a callback registered outside any such block runs at once
    (autocommit). Rolled-back blocks discard theirs, as Django does.

    Inside pytest-django's django_capture_on_commit_callbacks (below) the callbacks wait to be captured, for
    the tests that inspect them; transactional tests (transaction=True, live_server) commit for real."""
    if not _uses_test_transaction(request):
        yield
        return
    from django.db import connections
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.transaction import Atomic

    def at_test_level(connection) -> bool:
        return not _capturing and connection.in_atomic_block and all(b._from_testcase for b in connection.atomic_blocks)

    def run_committed(connection) -> None:
        while connection.run_on_commit and not connection.needs_rollback:
            _, func, robust = connection.run_on_commit.pop(0)
            if robust:
                try:
                    func()
                except Exception:
                    logging.getLogger("django.db.backends.base").exception("on_commit callback failed")
            else:
                func()

    original_exit, original_on_commit = Atomic.__exit__, BaseDatabaseWrapper.on_commit

    def exit_and_commit(self, exc_type, exc_value, traceback):
        result = original_exit(self, exc_type, exc_value, traceback)
        connection = connections[self.using or "default"]
        if exc_type is None and not self._from_testcase and at_test_level(connection):
            run_committed(connection)
        return result

    def on_commit(self, func, robust=False):
        original_on_commit(self, func, robust)
        if at_test_level(self):
            run_committed(self)

    Atomic.__exit__, BaseDatabaseWrapper.on_commit = exit_and_commit, on_commit
    try:
        yield
    finally:
        Atomic.__exit__, BaseDatabaseWrapper.on_commit = original_exit, original_on_commit


def _uses_test_transaction(request) -> bool:
    marker = request.node.get_closest_marker("django_db")
    if "transactional_db" in request.fixturenames or "live_server" in request.fixturenames:
        return False
    return "db" in request.fixturenames or bool(marker and not marker.kwargs.get("transaction"))


@pytest.fixture
def django_capture_on_commit_callbacks(django_capture_on_commit_callbacks):
    """pytest-django's, with the production-like commits above paused while it captures."""

    @contextlib.contextmanager
    def capture(**kwargs):
        _capturing.append(True)
        try:
            with django_capture_on_commit_callbacks(**kwargs) as callbacks:
                yield callbacks
        finally:
            _capturing.pop()

    return capture


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
