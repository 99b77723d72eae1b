"""`make run` (aether/localrun.py) is the production stack on one machine: it listens on 127.0.0.1 unless HOST is
set, its debug secret key is made once per checkout under var/, the .env it writes lets `python manage.py ...`
reach its services with no variables set and gives every process (web, worker, beat) the same SITE_URL, a
second `make run` in the same checkout says what already runs, and its two web workers share one sign-in policy
and one sign-out denylist (they live in Redis, not in a process)."""

import fcntl
import json
import os
import re
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from accounts.tests.factories import UserFactory
from aether.localrun import banner, write_env_file
from aether.testing import database_url, free_port, wait_for

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
    """The .env that `PORT=9123 make run` writes, in a scratch place (the checkout's own is left alone), naming
    the services this test run uses, as make run names its embedded ones."""
    env_file = tmp_path / ".env"
    services = {"DATABASE_URL": database_url(), "REDIS_URL": os.environ["REDIS_URL"]}  # the test database, migrated
    write_env_file(env_file, {"DEBUG": "1", "SITE_URL": "http://localhost:9123", **services})
    return {"AETHER_ENV_FILE": str(env_file), "AETHER_VAR_DIR": str(tmp_path / "var")}


def test_make_run_writes_debug_one_site_url_and_its_services_readable_by_its_owner_only(checkout_env):
    path = Path(checkout_env["AETHER_ENV_FILE"])
    lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    assert [line.split("=", 1)[0] for line in lines] == ["DEBUG", "SITE_URL", "DATABASE_URL", "REDIS_URL"]
    assert lines[:2] == ["DEBUG=1", "SITE_URL=http://localhost:9123"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # the services' passwords


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
@pytest.mark.django_db
def test_manage_py_reaches_the_services_in_a_make_run_checkout_with_no_variables(checkout_env):
    for args in (["check"], ["makemigrations", "--check", "--dry-run"], ["showmigrations", "tasks"]):
        result = run([sys.executable, "manage.py", *args], checkout_env)
        assert result.returncode == 0, (args, result.stdout + result.stderr)
    assert "[X] 0001_initial" in result.stdout  # read from the database the .env names


def test_without_a_database_the_settings_say_what_to_do(tmp_path):
    result = run([sys.executable, "manage.py", "check"], {"DEBUG": "1", "AETHER_ENV_FILE": ""})
    assert result.returncode != 0
    assert "DATABASE_URL is not set. `make run` and `make test` start an embedded PostgreSQL" in result.stderr


def _secret_key(env):
    services = {"DATABASE_URL": os.environ["DATABASE_URL"], "REDIS_URL": os.environ["REDIS_URL"]}
    result = run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings;print(settings.SECRET_KEY)",
        ],
        {**services, **env},
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


def test_the_banner_names_the_address_every_demo_login_and_when_emails_appear():
    text = banner("http://localhost:9123", "127.0.0.1", "9123", 300)
    assert "Aether is running at http://localhost:9123  (listening on 127.0.0.1:9123; Ctrl-C stops" in text
    for email in ("alice", "bob", "carol", "dave", "admin"):
        assert f"{email}@example.com" in text
    assert "every password is aether-demo" in text
    assert "var/mail/" in text
    assert "wait 5 min to go out as one email (AETHER_EMAIL_BATCH_SECONDS=300)" in text
    assert "as soon as it is written" in banner("http://localhost:9123", "127.0.0.1", "9123", 0)


def test_a_second_make_run_in_the_same_checkout_says_what_already_runs(tmp_path):
    var = tmp_path / "var"
    var.mkdir()
    (var / "run.json").write_text(json.dumps({"pid": 4242, "site_url": "http://localhost:9123"}))
    with open(var / "run.lock", "a+") as first:
        fcntl.flock(first, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the first make run, still running
        second = run([sys.executable, "-m", "aether.localrun"], {"AETHER_VAR_DIR": str(var), "PORT": "9124"})
    assert second.returncode == 1
    assert "Aether is already running from this checkout (make run, pid 4242)" in second.stderr
    assert "web at http://localhost:9123" in second.stderr
    assert "PostgreSQL 18 on" in second.stderr
    assert "Redis 6.2 on" in second.stderr
    assert not (tmp_path / ".env").exists()


# --- make run's two web workers share what must be shared ---------------------------------------------------


def access_log_with_pid(directory: Path) -> Path:
    """A logging configuration that starts each access line with the worker's pid (uvicorn's worker writes its
    own access lines, through gunicorn's access logger, and ignores gunicorn's --access-logformat)."""
    path = directory / "logging.json"
    handler = {"class": "logging.StreamHandler", "formatter": "pid", "stream": "ext://sys.stdout"}
    path.write_text(
        json.dumps(
            {
                "version": 1,
                "disable_existing_loggers": False,
                "formatters": {"pid": {"format": "%(process)d %(message)s"}},
                "handlers": {"access": handler},
                "root": {"level": "INFO", "handlers": []},  # gunicorn's defaults name handlers this one replaces
                "loggers": {"gunicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False}},
            }
        )
    )
    return path


@pytest.fixture
def make_run_web(transactional_db, tmp_path, settings):
    """The web process exactly as Procfile.dev starts it (two gunicorn workers), in debug as make run runs it, on
    this test's database and Redis keys; its access log names the worker (pid) that answered each request."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]  # one the server checks
    command = next(line for line in (ROOT / "Procfile.dev").read_text().splitlines() if line.startswith("web:"))
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],  # sign-in counters and denylist of this test
        "DEBUG": "1",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "AETHER_VAR_DIR": str(tmp_path),
        "GUNICORN_CMD_ARGS": f"--log-config-json {access_log_with_pid(tmp_path)}",
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    }
    log = tmp_path / "web.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            command.split(":", 1)[1].split(), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"

    def up():
        try:
            return urllib.request.urlopen(f"{base}/healthz", timeout=2).status == 200  # noqa: S310
        except OSError:
            return False

    try:
        wait_for(up, 60, "make run's web process")
        wait_for(lambda: log.read_text().count("Booting worker") >= 2, 30, "its two workers")
        yield base, log
    finally:
        proc.terminate()
        proc.wait(30)


def _post_json(url: str, body: dict, token: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")  # noqa: S310
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    return _open(request)


def _open(request) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 -- the test's own server
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _workers_that_answered(log: Path, path: str) -> set[str]:
    line = rf'^(\d+) \S+ - "\w+ {re.escape(path)} HTTP/[\d.]+" \d+'
    return {m.group(1) for m in re.finditer(line, log.read_text(), re.M)}


@pytest.mark.slow
def test_a_guessers_failures_pause_sign_in_on_both_web_workers(make_run_web):
    base, log = make_run_web
    UserFactory(email="owner@example.test", password="the-Right-pass-1")
    token_url = f"{base}/api/v1/auth/token/"
    for _ in range(5):  # the pair limit: five wrong passwords from one address, wherever they land
        status, _ = _post_json(token_url, {"email": "owner@example.test", "password": "wrong-guess"})
        assert status == 401
    answers = []
    for _ in range(20):  # the right password, until both workers have answered it: paused on each
        answers.append(_post_json(token_url, {"email": "owner@example.test", "password": "the-Right-pass-1"}))
        if len(_workers_that_answered(log, "/api/v1/auth/token/")) == 2 and len(answers) >= 6:
            break
        time.sleep(0.05)
    assert len(_workers_that_answered(log, "/api/v1/auth/token/")) == 2, log.read_text()
    assert {(status, body.get("code")) for status, body in answers} == {(429, "locked_out")}


@pytest.mark.slow
def test_a_sign_out_on_one_web_worker_holds_on_the_other(make_run_web):
    base, log = make_run_web
    UserFactory(email="owner@example.test", password="the-Right-pass-1")
    status, tokens = _post_json(
        f"{base}/api/v1/auth/token/", {"email": "owner@example.test", "password": "the-Right-pass-1"}
    )
    assert status == 200
    status, _ = _post_json(f"{base}/api/v1/auth/logout/", {"refresh": tokens["refresh"]}, token=tokens["access"])
    assert status in (200, 204)
    answers = []
    for _ in range(40):  # the signed-out access token, until both workers have been asked: refused by each
        request = urllib.request.Request(f"{base}/api/v1/me/")  # noqa: S310
        request.add_header("Authorization", f"Bearer {tokens['access']}")
        answers.append(_open(request)[0])
        if len(_workers_that_answered(log, "/api/v1/me/")) == 2 and len(answers) >= 6:
            break
        time.sleep(0.05)
    assert len(_workers_that_answered(log, "/api/v1/me/")) == 2, log.read_text()
    assert set(answers) == {401}
