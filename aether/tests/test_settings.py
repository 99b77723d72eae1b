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


def test_debug_runs_on_the_embedded_default_without_any_service(tmp_path):
    result = manage("check", env={"DEBUG": "1", "AETHER_VAR_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
