"""The task list API over HTTP: gunicorn as the Procfile runs it (production settings), one kept-alive
connection, every ordering's first, middle and last page of a million tasks by cursor; p50 and p95 a case.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aether_h_api_1m REDIS_URL=redis://127.0.0.1:6379/9 \\
      .venv/bin/python bench/api_http_bench.py --requests 100

The cursors are made as the API's `next` links make them (bench/api_bench.py `page_cursor`); the access token
is the demo member bob's. Every answer is computed (no If-None-Match is sent).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from load import free_port  # noqa: E402 -- after the path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not os.environ.get("REDIS_URL"):
        sys.exit("Set DATABASE_URL (PostgreSQL, seeded with seed_demo --tasks 1000000) and REDIS_URL.")
    port = free_port()
    work = Path(tempfile.gettempdir()) / ("aether-http-" + os.environ["DATABASE_URL"].rsplit("/", 1)[-1])
    work.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "AETHER_ENV_FILE": "",
        "AETHER_VAR_DIR": str(work),
        "DEBUG": "0",
        "SECRET_KEY": "http-bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "ALLOWED_HOSTS": "127.0.0.1,testserver",
        "SECURE_SSL_REDIRECT": "false",
        "API_THROTTLE_USER": "1000000/min",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update({k: v for k, v in env.items() if k not in ("HOST", "PORT")})
    os.environ["DJANGO_SETTINGS_MODULE"] = "aether.settings"
    import django

    django.setup()
    from api_bench import page_cursor
    from rest_framework_simplejwt.tokens import RefreshToken

    from accounts.models import User
    from tasks.api import TASK_ORDERINGS
    from tasks.models import Task

    user = User.objects.get(email="bob@example.com")
    token = str(RefreshToken.for_user(user).access_token)
    active = Task.objects.filter(deleted_at__isnull=True, archived_at__isnull=True).count()
    cases = {}
    for ordering in TASK_ORDERINGS:
        base = f"/api/v1/tasks/?page_size=50&ordering={urllib.parse.quote(ordering)}"
        cases[f"page 1, {ordering}"] = base
        for label, position in (("middle", active // 2), ("last", active - 50)):
            cases[f"{label} page, {ordering}"] = f"{base}&cursor={page_cursor(user, ordering, position)}"
    if not (work / "staticfiles" / "staticfiles.json").exists():
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
        )
    log = open(work / "gunicorn.log", "w")  # noqa: SIM115 -- held open while the server runs
    server = subprocess.Popen([str(BIN / "gunicorn"), "aether.asgi", "-c", "gunicorn.conf.py"], cwd=ROOT, env=env,
                              stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    host = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(host + "/healthz", timeout=2)  # noqa: S310 -- our own server
                break
            except OSError:
                time.sleep(0.5)
        import requests

        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        print(f"{active:,} active tasks; gunicorn on {host}; one kept-alive connection")
        print("| case | p50 ms | p95 ms |")
        print("| --- | --- | --- |")
        worst = 0.0
        for name, path in cases.items():
            for _ in range(5):
                session.get(host + path, timeout=60).raise_for_status()
            times = []
            for _ in range(args.requests):
                start = time.perf_counter()
                response = session.get(host + path, timeout=60)
                times.append(time.perf_counter() - start)
                response.raise_for_status()
            times.sort()
            p95 = times[int(len(times) * 0.95) - 1] * 1000
            worst = max(worst, p95)
            print(f"| {name} | {statistics.median(times) * 1000:.1f} | {p95:.1f} |")
        print(f"\nworst p95: {worst:.1f} ms")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
