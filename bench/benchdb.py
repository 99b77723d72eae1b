"""What the benchmarks that fill a PostgreSQL database of their own share: the time zones their teams spread
over, creating the database, and starting Django on it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Teams across the day, from Auckland to Los Angeles: some team crosses midnight at any hour.
ZONES = [
    "Pacific/Auckland",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Europe/Berlin",
    "UTC",
    "America/Sao_Paulo",
    "America/New_York",
    "America/Los_Angeles",
]


def create_database(name: str) -> None:
    """Create the database on the local server unless it exists."""
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def django_on(name: str, *, broker: str | None = None) -> None:
    """django.setup() on that database, DEBUG off (it would keep every query in memory), with the local Redis
    (or `broker`, or REDIS_URL) as cache and broker: the after-commit delivery kicks wait there, under the
    benchmark database's own key prefix, for a worker these benchmarks do not run."""
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{name}"
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production-0123456789")
    os.environ["REDIS_URL"] = broker or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aether.settings")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()
