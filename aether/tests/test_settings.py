"""Settings come from the environment: production refuses to start without a secret, and is deploy-clean."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "SECRET_KEY": "a-long-random-production-secret-0123456789-abcdefghijklmnopqrstuvwxyz",
    "ALLOWED_HOSTS": "aether.example.com",
    "DATABASE_URL": "postgres://aether@db.internal:5432/aether",
    "REDIS_URL": "redis://cache.internal:6379/0",
}


def manage(*args, env):
    # Only the machine's environment: none of the test settings (pyproject's pytest env) may leak in.
    ours = ("DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "SITE_URL", "SECURE_", "SESSION_", "CSRF_")
    base = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=60
    )


def test_production_settings_pass_the_deploy_checks():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "Set the SECRET_KEY environment variable" in result.stderr


def test_postgresql_is_the_only_engine():
    result = manage("check", env={**PRODUCTION, "DATABASE_URL": "sqlite:///aether.sqlite3"})
    assert result.returncode != 0
    assert "DATABASE_URL must name a PostgreSQL database" in result.stderr


def test_redis_is_required():
    result = manage("check", env={k: v for k, v in PRODUCTION.items() if k != "REDIS_URL"})
    assert result.returncode != 0
    assert "REDIS_URL is not set." in result.stderr


def _settings_of(env: dict, *names: str) -> list[str]:
    code = "import django; django.setup(); from django.conf import settings as s; " + "; ".join(
        f"print(repr({name}))" for name in names
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**{k: v for k, v in os.environ.items() if k != "REDIS_KEY_PREFIX"}, **PRODUCTION, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


KEYS = ('s.CACHES["default"]["KEY_PREFIX"]', 's.CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"]')


def test_every_redis_key_of_a_deployment_carries_its_prefix_by_default_the_database_name():
    assert _settings_of({}, *KEYS) == ["'aether'", "'aether:celery:'"]
    assert _settings_of({"DATABASE_URL": "postgres://a@db/acme_prod"}, *KEYS) == ["'acme_prod'", "'acme_prod:celery:'"]
    assert _settings_of({"REDIS_KEY_PREFIX": "blue"}, *KEYS) == ["'blue'", "'blue:celery:'"]


def test_generations_and_the_sync_log_have_their_defaults():
    assert _settings_of({}, "s.AETHER_GENERATION_SECONDS", "s.AETHER_SYNC_KEEP_DAYS") == ["3600", "30"]
