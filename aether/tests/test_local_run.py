"""`make run` is local and self-contained (issue 11 finding 5, issue 12): it listens on 127.0.0.1 unless HOST is
set, its debug secret key is made once per checkout under var/, and the .env it writes lets `python manage.py
...` work with no variables set and gives every process (web, worker, beat) the same SITE_URL."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLAIN = {
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "HOME": os.environ.get("HOME", "/tmp"),
    "DJANGO_SETTINGS_MODULE": "aether.settings",  # as aether/celery.py and manage.py set it
}
RENDER_LINK = (
    "import django; django.setup();"
    "from notifications.services import email_render;"
    "print(email_render(kind='password_reset', context={'recipient_name': 'Ann', 'message': 'm', 'url': '/x/'}).text)"
)


def run(args, env, **kw):
    return subprocess.run(args, cwd=ROOT, env={**PLAIN, **env}, capture_output=True, text=True, timeout=120, **kw)


@pytest.fixture
def checkout_env(tmp_path):
    """The .env `make run PORT=9123` writes, in a scratch place (the checkout's own is left alone)."""
    env_file = tmp_path / ".env"
    result = run(["make", "--no-print-directory", "-s", "local-env", f"ENV_FILE={env_file}", "PORT=9123"], {})
    assert result.returncode == 0, result.stderr
    return {"AETHER_ENV_FILE": str(env_file), "AETHER_VAR_DIR": str(tmp_path / "var")}


def test_make_run_writes_debug_and_one_site_url(checkout_env):
    lines = [
        line for line in Path(checkout_env["AETHER_ENV_FILE"]).read_text().splitlines() if not line.startswith("#")
    ]
    assert lines == ["DEBUG=1", "SITE_URL=http://localhost:9123"]


def test_the_worker_links_to_the_web_port_not_its_own(checkout_env):
    """Issue 12: honcho (`honcho start -p 9123`) gives web PORT=9123, worker 9223, beat 9323, and the worker's
    emails linked to localhost:9223. The worker's environment as honcho makes it, with nothing else set:"""
    for port in ("9223", "9323"):
        worker = run(
            ["honcho", "-e", checkout_env["AETHER_ENV_FILE"], "run", sys.executable, "-c", RENDER_LINK],
            {**checkout_env, "PORT": port, "PATH": f"{Path(sys.executable).parent}:{PLAIN['PATH']}"},
        )
        assert worker.returncode == 0, worker.stderr
        assert "Open in Aether: http://localhost:9123/x/" in worker.stdout


def test_the_same_link_without_honcho_from_a_terminal(checkout_env):
    result = run([sys.executable, "-c", RENDER_LINK], {**checkout_env, "PORT": "9223"})
    assert result.returncode == 0, result.stderr
    assert "Open in Aether: http://localhost:9123/x/" in result.stdout


@pytest.mark.slow
def test_manage_py_works_in_a_make_run_checkout_with_no_variables(checkout_env):
    for args in (["check"], ["makemigrations", "--check", "--dry-run"], ["migrate", "-v0"]):
        result = run([sys.executable, "manage.py", *args], checkout_env)
        assert result.returncode == 0, (args, result.stdout + result.stderr)
    result = run(
        [sys.executable, "manage.py", "createsuperuser", "--noinput"],
        {
            **checkout_env,
            "DJANGO_SUPERUSER_EMAIL": "root@example.test",
            "DJANGO_SUPERUSER_PASSWORD": "x-Long-pass-1",
            "DJANGO_SUPERUSER_FULL_NAME": "Root",
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Superuser created successfully." in result.stdout


def _secret_key(env):
    result = run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings;print(settings.SECRET_KEY)",
        ],
        env,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_debug_secret_key_is_made_once_per_checkout(tmp_path):
    one = {"DEBUG": "1", "AETHER_ENV_FILE": "", "AETHER_VAR_DIR": str(tmp_path / "one")}
    two = {**one, "AETHER_VAR_DIR": str(tmp_path / "two")}

    key = _secret_key(one)

    assert len(key) >= 50
    assert key != "insecure-debug-only-key"
    assert _secret_key(one) == key  # the same on every start
    assert _secret_key(two) != key  # each checkout its own
    path = tmp_path / "one" / "debug-secret-key"
    assert path.read_text().strip() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "insecure-debug-only-key" not in (ROOT / "aether" / "settings.py").read_text()


def test_make_run_listens_on_127_0_0_1_unless_host_is_set():
    def run_vars(*extra):
        out = run(["make", "--no-print-directory", "-pn", "run", "PYTHON=python3", *extra], {}).stdout
        return {line for line in out.splitlines() if line.startswith("run: HOST")}

    assert run_vars() == {"run: HOST := 127.0.0.1"}
    assert run_vars("HOST=0.0.0.0") == {"run: HOST = 0.0.0.0"}


@pytest.mark.parametrize(("host", "bind"), [("127.0.0.1", "127.0.0.1:9123"), (None, "0.0.0.0:9123")])
def test_gunicorn_binds_host_and_port(host, bind):
    env = {"PORT": "9123", **({"HOST": host} if host else {})}
    result = run([sys.executable, "-c", "import runpy; print(runpy.run_path('gunicorn.conf.py')['bind'])"], env)
    assert result.stdout.strip() == bind
