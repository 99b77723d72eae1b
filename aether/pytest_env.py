"""Loaded by pytest before Django (`-p aether.pytest_env` in pyproject.toml): the test suite runs against real
PostgreSQL and Redis on localhost unless DATABASE_URL / REDIS_URL say otherwise, and stops at once with a
clear message when either cannot be reached, instead of failing every test one by one."""

import os
import socket
from urllib.parse import urlsplit

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/aether")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
os.environ.setdefault("SITE_URL", "http://testserver")


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=3):
            return True
    except OSError:
        return False


def pytest_configure(config):
    missing = []
    if os.environ["DATABASE_URL"].startswith("postgres") and not _reachable(os.environ["DATABASE_URL"], 5432):
        missing.append(f"PostgreSQL at {os.environ['DATABASE_URL']}")
    if os.environ["REDIS_URL"].startswith("redis") and not _reachable(os.environ["REDIS_URL"], 6379):
        missing.append(f"Redis at {os.environ['REDIS_URL']}")
    if missing:
        raise SystemExit(
            "The test suite needs " + " and ".join(missing) + " (set DATABASE_URL / REDIS_URL to point elsewhere)."
        )
