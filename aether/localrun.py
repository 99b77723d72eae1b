"""`make run`: the whole of Aether on this machine, on the same services as production.

In order: take this checkout's run lock (a second `make run` here says what is already running and stops);
hold the embedded PostgreSQL and Redis (aether/embedded.py; none where DATABASE_URL / REDIS_URL are set);
write the checkout's .env (DEBUG, the one SITE_URL, the services' addresses) so `python manage.py ...` works
here with nothing set by hand; migrate, create the schedules and load the demo data; then web + worker + beat
under honcho (Procfile.dev). Their output passes through, and once the site answers and the worker and beat have
said they started, the banner comes last: the address, the demo logins, where emails go and when.

Ctrl-C reaches honcho, which stops the three processes; then the services stop (unless another command of this
checkout, such as `make test`, still holds them).
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from aether.embedded import BASE_DIR, VAR_DIR, Embedded, ServiceError

BIN = Path(sys.executable).parent
DEMO = [
    ("alice@example.com", "owner of the Demo team"),
    ("bob@example.com", "member"),
    ("carol@example.com", "viewer (read-only)"),
    ("dave@example.com", "owner of the Other team"),
    ("admin@example.com", "admin and staff: Django admin at /admin/"),
]
# What the worker and beat print once they are up (celery's own start-up lines).
READY_LINES = {"worker": " ready.", "beat": "beat: Starting..."}


def write_env_file(path: Path, values: dict[str, str]) -> None:
    lines = [
        "# Written by make run for this checkout (git ignores it); aether/settings.py reads it, and a variable set",
        "# in the environment wins. make run rewrites it: set PORT, HOST or SITE_URL on its command line.",
        *(f"{name}={value}" for name, value in values.items()),
    ]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)  # the services' passwords


def banner(site_url: str, host: str, port: str, batch_seconds: int) -> str:
    logins = "\n".join(f"    {email:<20} {role}" for email, role in DEMO)
    if batch_seconds:
        held = (
            f"updates on one task (assigned, commented, mentioned,\n  completed) wait {batch_seconds // 60 or 1} min "
            f"to go out as one email (AETHER_EMAIL_BATCH_SECONDS={batch_seconds}); password resets,\n"
            "  invitations and overdue or due-soon reminders go at once"
        )
    else:
        held = "each email as soon as it is written\n  (AETHER_EMAIL_BATCH_SECONDS=0)"
    return (
        "\n"
        f"  Aether is running at {site_url}  (listening on {host}:{port}; Ctrl-C stops everything)\n"
        f"  Sign in as (every password is aether-demo):\n{logins}\n"
        f"  Emails are written to var/mail/, one .eml file each: {held}.\n"
    )


class Watcher:
    """Passes honcho's output through and prints the banner once the site answers and worker and beat are up,
    after the web process's own log line of that answer, so that the banner is the last thing on the screen."""

    def __init__(self, health_url: str, text: str):
        self.health_url = health_url
        self.text = text
        self.seen: set[str] = set()
        self.logged_health = threading.Event()
        self.lock = threading.Lock()

    def line(self, line: str) -> None:
        with self.lock:
            sys.stdout.write(line)
            sys.stdout.flush()
        for name, marker in READY_LINES.items():
            if marker in line:
                self.seen.add(name)
        if "GET /healthz" in line:
            self.logged_health.set()

    def poll(self, honcho: subprocess.Popen) -> None:
        deadline = time.monotonic() + 180
        while honcho.poll() is None:
            ready = self.seen >= set(READY_LINES)
            if (ready and self._answers()) or time.monotonic() > deadline:
                self.logged_health.wait(timeout=2)
                missing = sorted(set(READY_LINES) - self.seen)
                note = f"  (not seen starting yet: {', '.join(missing)})\n" if missing else ""
                with self.lock:
                    sys.stdout.write(self.text + note + "\n")
                    sys.stdout.flush()
                return
            time.sleep(0.25)

    def _answers(self) -> bool:
        self.logged_health.clear()
        try:
            with urllib.request.urlopen(self.health_url, timeout=2) as response:  # noqa: S310 (our own address)
                return response.status == 200
        except OSError:
            return False


def main() -> int:
    port = os.environ.get("PORT", "8000")
    host = os.environ.get("HOST", "127.0.0.1")
    site_url = os.environ.get("SITE_URL") or f"http://localhost:{port}"
    VAR_DIR.mkdir(exist_ok=True)
    (VAR_DIR / "mail").mkdir(exist_ok=True)
    run_lock = open(VAR_DIR / "run.lock", "a+")  # noqa: SIM115 (held, by the open file, while this process lives)
    try:
        fcntl.flock(run_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(already_running(), file=sys.stderr)
        return 1
    embedded = Embedded()
    try:
        with embedded.held() as urls:
            return serve(embedded, urls, port=port, host=host, site_url=site_url)
    except ServiceError as error:
        print(f"make run: {error}", file=sys.stderr)
        return 1


def already_running() -> str:
    try:
        info = json.loads((VAR_DIR / "run.json").read_text())
    except (FileNotFoundError, ValueError):
        info = {}
    lines = [
        f"Aether is already running from this checkout (make run, pid {info.get('pid', '?')}):",
        f"  web at {info.get('site_url', '?')}, with its worker and beat",
        *(f"  {line}" for line in Embedded(say=lambda _: None).status()),
        "Stop it with Ctrl-C in its terminal (or `kill -INT <pid>`), or run another clone with PORT=... make run.",
    ]
    return "\n".join(lines)


def serve(embedded: Embedded, urls: dict[str, str], *, port: str, host: str, site_url: str) -> int:
    env = {**os.environ, **urls, "DEBUG": os.environ.get("DEBUG", "1"), "SITE_URL": site_url, "HOST": host}
    env["PYTHONUNBUFFERED"] = "1"
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    write_env_file(
        BASE_DIR / ".env",
        {"DEBUG": env["DEBUG"], "SITE_URL": site_url, **urls},
    )
    (VAR_DIR / "run.json").write_text(json.dumps({"pid": os.getpid(), "site_url": site_url}))
    for service in embedded.needed():
        print(f"make run: {service.describe()}")
    manage = [str(BIN / "python"), str(BASE_DIR / "manage.py")]
    for step in (["migrate", "--noinput"], ["setup_periodic_tasks"], ["seed_demo"]):
        if subprocess.run([*manage, *step], env=env, cwd=BASE_DIR, check=False).returncode != 0:
            return 1
    honcho = subprocess.Popen(
        [str(BIN / "honcho"), "-f", "Procfile.dev", "start", "-p", port],
        env=env,
        cwd=BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    # Ctrl-C reaches honcho (same process group), which stops web, worker and beat; this process waits for it
    # and then lets the services go. SIGTERM (a supervisor stopping make run) is passed on the same way.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: honcho.send_signal(signal.SIGINT))
    signal.signal(signal.SIGHUP, lambda *_: honcho.send_signal(signal.SIGINT))
    batch = int(env.get("AETHER_EMAIL_BATCH_SECONDS", "300") or 0)
    watcher = Watcher(f"http://127.0.0.1:{port}/healthz", banner(site_url, host, port, batch))
    threading.Thread(target=watcher.poll, args=(honcho,), daemon=True).start()
    for line in honcho.stdout:
        watcher.line(line)
    code = honcho.wait()
    print("make run: web, worker and beat stopped; stopping the embedded services" if urls else "")
    return code


if __name__ == "__main__":
    sys.exit(main())
