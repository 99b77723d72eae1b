"""PostgreSQL or Redis down: 503 with Retry-After, in the API's error shape or as the site's own page
(aether/outages.py), and service back by itself once it answers again. The services are made unreachable for
real: the database connection or the cache pointed at a port where nothing listens."""

import json
import socket
from contextlib import contextmanager

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import UserFactory
from aether import urls as site_urls
from aether.outages import RETRY_AFTER_SECONDS, service_down
from tasks.tests.api_helpers import access_token_for


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again: nothing listens there


@contextmanager
def database_down():
    """The default connection pointed at a port where nothing listens, as after PostgreSQL stopped."""
    original = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = str(_dead_port())
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["PORT"] = original


@pytest.fixture
def redis_down(settings):
    location = f"redis://127.0.0.1:{_dead_port()}/0"
    settings.CACHES = {**settings.CACHES, "default": {**settings.CACHES["default"], "LOCATION": location}}


def _assert_api_503(response):
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert json.loads(response.content) == {
        "code": "service_unavailable",
        "detail": "The service is briefly unavailable; try again in a few seconds.",
        "errors": [],
    }


def _assert_page_503(response):
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response["Content-Type"].startswith("text/html")
    assert "Aether is briefly unavailable" in response.content.decode()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
def test_database_down_api_answers_503_then_recovers(settings, debug):
    settings.DEBUG = debug
    user = UserFactory()
    auth = {"HTTP_AUTHORIZATION": "Bearer " + access_token_for(user)}
    api = Client(raise_request_exception=False)

    with database_down():
        _assert_api_503(api.get("/api/v1/me/", **auth))
        _assert_api_503(api.post("/api/v1/tasks/", {"title": "x"}, content_type="application/json", **auth))

    # Back: the next request reconnects, nothing restarted.
    assert api.get("/api/v1/me/", **auth).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_database_down_pages_show_the_503_page_and_healthz_names_it(client):
    client.force_login(UserFactory())
    client.raise_request_exception = False
    with database_down():
        # Signed in: the session and the user are read by middleware before the view.
        _assert_page_503(client.get(reverse("accounts:login")))
        _assert_page_503(client.get(reverse("tasks:my_work")))
        health = client.get(reverse("healthz"))
        assert health.status_code == 503
        assert health.json() == {"status": "unavailable", "database": "down", "broker": "ok"}

    assert client.get(reverse("tasks:my_work")).status_code == 200


@pytest.mark.django_db
def test_redis_down_api_answers_503(redis_down):
    auth = {"HTTP_AUTHORIZATION": "Bearer " + access_token_for(UserFactory())}
    _assert_api_503(Client(raise_request_exception=False).get("/api/v1/me/", **auth))


@pytest.mark.django_db
def test_redis_down_sign_in_page_shows_the_503_page(redis_down):
    user = UserFactory()
    web = Client(raise_request_exception=False)
    page = web.get(reverse("accounts:login"))
    assert page.status_code == 200  # reading the form needs no Redis
    # Signing in counts failures in Redis (accounts/signin.py): it cannot, so it does not guess.
    response = web.post(reverse("accounts:login"), {"username": user.email, "password": "wrong"})
    _assert_page_503(response)


def test_handler500_answers_an_outage_raised_outside_any_view(rf):
    from django.db import OperationalError

    try:
        raise OperationalError("connection refused")
    except OperationalError:
        response = site_urls.handler500(rf.get("/api/v1/me/"))
    _assert_api_503(response)
    try:
        raise RuntimeError("a bug")
    except RuntimeError:
        assert site_urls.handler500(rf.get("/api/v1/me/")).status_code == 500


def test_service_down_reads_the_cause():
    import redis
    from kombu.exceptions import OperationalError as KombuError

    assert service_down(redis.ConnectionError()) == "redis"
    assert service_down(KombuError()) == "redis"
    assert service_down(ValueError()) is None
    wrapped = RuntimeError("wrapped")
    wrapped.__cause__ = redis.TimeoutError()
    assert service_down(wrapped) == "redis"


@pytest.fixture
def redis_stalled(settings):
    """A Redis that accepts connections and never answers (a stalled server, a dead host behind a live port)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    location = f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    options = {"socket_connect_timeout": 1, "socket_timeout": 1}
    settings.CACHES = {
        **settings.CACHES,
        "default": {**settings.CACHES["default"], "LOCATION": location, "OPTIONS": options},
    }
    yield
    listener.close()


@pytest.mark.django_db
def test_a_stalled_redis_fails_the_request_within_its_timeout(redis_stalled):
    import time

    auth = {"HTTP_AUTHORIZATION": "Bearer " + access_token_for(UserFactory())}
    started = time.monotonic()
    response = Client(raise_request_exception=False).get("/api/v1/me/", **auth)

    _assert_api_503(response)
    assert time.monotonic() - started < 5  # not the kernel's minutes, nor gunicorn's 30 s kill


def test_the_cache_has_socket_timeouts(settings):
    from django.core.cache import cache

    pool = cache._cache._get_connection_pool(write=False)
    assert pool.connection_kwargs["socket_timeout"] == 3
    assert pool.connection_kwargs["socket_connect_timeout"] == 3
