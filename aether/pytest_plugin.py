"""What the test suite does before Django loads its settings (pyproject.toml: `-p aether.pytest_plugin`).

Each test process (each pytest-xdist worker, and pytest itself) writes its Redis keys under a prefix of its own,
`<REDIS_KEY_PREFIX or the database's name>:test:<random>:<worker>`, set here in the environment so that
settings, and every process a test starts (celery workers and beats, gunicorn), take it. Nothing is flushed:
at the end the process deletes the keys under its own prefix, and only those, so a `make run` or another test
run on the same Redis keeps every key of its own.
"""

from __future__ import annotations

import os
import secrets

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    base = os.environ.get("REDIS_KEY_PREFIX") or _database_name()
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    os.environ["AETHER_TEST_BASE_PREFIX"] = base
    os.environ["REDIS_KEY_PREFIX"] = f"{base}:test:{secrets.token_hex(4)}:{worker}"


def _database_name() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return url.rsplit("/", 1)[-1].split("?", 1)[0] or "aether"


def pytest_sessionfinish(session, exitstatus):
    prefix = os.environ.get("REDIS_KEY_PREFIX", "")
    url = os.environ.get("REDIS_URL", "")
    if ":test:" not in prefix or not url:
        return
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=5)
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
    except redis.RedisError:  # the keys expire or stay under a prefix nobody reads again
        pass
