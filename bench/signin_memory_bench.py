"""The web worker's memory under a burst of sign-ins: 20 concurrent API sign-ins (POST /api/v1/auth/token/) to one
gunicorn worker, as the Procfile runs it (gunicorn.conf.py: 2 threads a worker), peak RSS read from the worker's
/proc/<pid>/status (VmHWM). Twice: "before" (Django's Argon2 parameters, 100 MiB and 8 lanes a hash, no bound on
the checks at once) and "now" (accounts/hashers.py, 19 MiB and 1 lane; accounts/signin.py's bound).

    .venv/bin/python bench/signin_memory_bench.py [--sign-ins 20]

Uses the machine's PostgreSQL (127.0.0.1:5432, user postgres) and Redis (127.0.0.1:6379), in a database and under
a key prefix of its own (aether_bench_signin). Figures go to docs/performance.md, "Sign-in memory".
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.benchdb import create_database, django_on  # noqa: E402

DB = "aether_bench_signin"
EMAIL, PASSWORD = "bench@example.test", "Bench-signin-pw-1"


def _status(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) // 1024  # MB
    return fields


def _worker_of(master: int) -> int:
    for _ in range(100):
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise RuntimeError("gunicorn started no worker")


def _request(port: int, method: str, path: str, body: dict | None = None) -> tuple[int, float]:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request(method, path, json.dumps(body) if body else None, {"Content-Type": "application/json"})
    status = conn.getresponse().status
    conn.close()
    return status, time.perf_counter() - started


def _set_password(*, old: bool) -> None:
    """The bench account with its password hashed as a person's is stored: with Django's Argon2 parameters
    (`old`: every hash before accounts/hashers.py) or with ours. The hash's own parameters decide what checking
    it costs (and ours rewrites an old one at its next sign-in)."""
    from django.contrib.auth.hashers import Argon2PasswordHasher

    from accounts.hashers import Argon2idPasswordHasher
    from accounts.models import User

    hasher = Argon2PasswordHasher() if old else Argon2idPasswordHasher()
    User.objects.filter(email=EMAIL).delete()
    User.objects.create(email=EMAIL, password=hasher.encode(PASSWORD, hasher.salt()))


def run(label: str, *, old: bool, sign_ins: int, port: int) -> dict:
    from django.conf import settings

    _set_password(old=old)
    env = {
        **os.environ,
        "WEB_CONCURRENCY": "1",
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "REDIS_KEY_PREFIX": f"{DB}-{label}-{time.time_ns()}",
        "API_THROTTLE_TOKEN_ADDRESS": "1000/min",
        "DJANGO_SETTINGS_MODULE": "bench.signin_settings_old" if old else "aether.settings",
        "AETHER_ENV_FILE": "",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "aether.asgi"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        worker = _worker_of(server.pid)
        for _ in range(200):
            try:
                if _request(port, "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        idle = _status(worker)["VmRSS"]
        results: list[tuple[int, float]] = []
        barrier = threading.Barrier(sign_ins)

        def sign_in():
            barrier.wait()
            results.append(_request(port, "POST", "/api/v1/auth/token/", {"email": EMAIL, "password": PASSWORD}))

        threads = [threading.Thread(target=sign_in) for _ in range(sign_ins)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - started
        status = _status(worker)
        latencies = sorted(s for _, s in results)
        return {
            "variant": label,
            "idle_rss_mb": idle,
            "peak_rss_mb": status["VmHWM"],
            "after_rss_mb": status["VmRSS"],
            "statuses": sorted({code for code, _ in results}),
            "wall_s": round(wall, 2),
            "p50_s": round(latencies[len(latencies) // 2], 2),
            "max_s": round(latencies[-1], 2),
            "checks_at_once": "unbounded" if old else settings.AETHER_PASSWORD_CHECKS_AT_ONCE,
        }
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sign-ins", type=int, default=20)
    parser.add_argument("--port", type=int, default=18731)
    args = parser.parse_args()
    create_database(DB)
    django_on(DB)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    for label, old in (("before", True), ("now", False)):
        print(json.dumps(run(label, old=old, sign_ins=args.sign_ins, port=args.port)))


if __name__ == "__main__":
    main()
