"""Load test: gunicorn with production settings on PostgreSQL and Redis, driven by locust (bench/locustfile.py).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aether_load REDIS_URL=redis://127.0.0.1:6379/9 \
      .venv/bin/python bench/load.py --tasks 50000

1. migrates and seeds the database (`seed_demo --tasks N`, skipped when it already holds tasks), collects
   static files, and starts gunicorn (gunicorn.conf.py, DEBUG off, HTTPS redirect and secure cookies off
   because locust speaks plain HTTP to 127.0.0.1; the per-user and sign-in throttles raised: 32 simulated people
   share four demo accounts and one address);
2. the mix: 32 concurrent users for 60 s, half in the browser (My work, boards, task pages, the dashboard if
   there is one, creating and completing tasks) and half on the mobile API; prints p50/p95/p99 per page and
   the error count;
3. the ceiling: 32 users with no think time on a trivial Django view (bench/load_urls.py), then 32 distinct
   people on the task list API, each with their own token and their own filter, three requests in four
   revalidating their copy (If-None-Match: 304 while nothing changed) and one in four computing a page (no
   cache of any kind), 30 s each, on the same server: their requests per second side by side.
Exit status 1 if there was any error.
"""

import argparse
import csv
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def locust(host, classes, users, seconds, prefix, env):
    """The run's rows of locust's statistics; the GETs retried once on a reset connection are in RETRIES."""
    env = {**env, "AETHER_BENCH_RETRIES_FILE": f"{prefix}_retries.txt"}
    subprocess.run(
        [str(BIN / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless", "-u", str(users),
         "-r", str(users), "-t", f"{seconds}s", "--host", host, "--csv", prefix, "--only-summary", "--stop-timeout",
         "5", *classes],
        cwd=ROOT, env=env, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    with open(f"{prefix}_retries.txt") as f:
        RETRIES[prefix] = int(f.read() or 0)
    with open(f"{prefix}_stats.csv") as f:
        return list(csv.DictReader(f))


RETRIES: dict[str, int] = {}


def sign_in(host) -> dict:
    """One browser session and one token pair, shared by the simulated people: 32 Argon2 checks at once would
    measure the password hash (deliberately slow), not the pages."""
    import re

    import requests

    browser = requests.Session()
    page = browser.get(host + "/accounts/login/", timeout=60)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    browser.post(
        host + "/accounts/login/",
        data={"username": "alice@example.com", "password": "aether-demo", "csrfmiddlewaretoken": token},
        headers={"Referer": host + "/accounts/login/"},
        allow_redirects=False,
        timeout=60,
    ).raise_for_status()
    credentials = {"email": "bob@example.com", "password": "aether-demo"}
    pair = requests.post(host + "/api/v1/auth/token/", json=credentials, timeout=60)
    pair.raise_for_status()
    return {
        "AETHER_BENCH_SESSION": browser.cookies["sessionid"],
        "AETHER_BENCH_ACCESS": pair.json()["access"],
        "AETHER_BENCH_REFRESH": pair.json()["refresh"],
    }


def distinct_tokens(env, users: int) -> str:
    """An access token each for `users` people of the demo team (made once: bench-load-NN@example.com), minted
    in a Django process: 32 Argon2 sign-ins at once would measure the password hash, not the API."""
    script = (
        "from accounts.models import Membership, Team, User\n"
        "from accounts.tokens import pair_for\n"
        "team = Team.objects.get(slug='demo')\n"
        "tokens = []\n"
        f"for i in range({users}):\n"
        "    email = f'bench-load-{i:02}@example.com'\n"
        "    user, _ = User.objects.get_or_create(email=email, defaults={'full_name': f'Load {i}'})\n"
        "    Membership.objects.get_or_create(team=team, user=user, defaults={'role': 'member'})\n"
        "    tokens.append(str(pair_for(user).access_token))\n"
        "print(','.join(tokens))\n"
    )
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, env=env, check=True,
                            capture_output=True, text=True)  # fmt: skip
    return result.stdout.strip().splitlines()[-1]


def warm_up(host, env):
    """Each gunicorn worker loads Django on its first request: a few rounds of every page before measuring."""
    import requests

    browser = requests.Session()
    browser.cookies.set("sessionid", env["AETHER_BENCH_SESSION"])
    api = {"Authorization": f"Bearer {env['AETHER_BENCH_ACCESS']}"}
    for _ in range(10):
        for path in ("/my-work/", "/projects/", "/bench/trivial/"):
            browser.get(host + path, timeout=120)
        for path in ("/api/v1/me/", "/api/v1/tasks/?page_size=50", "/api/v1/projects/"):
            requests.get(host + path, headers=api, timeout=120)


def table(rows):
    heads = ("count", "errors", "p50 ms", "p95 ms", "p99 ms", "req/s")
    print(f"| {'request':<44} | " + " | ".join(f"{h:>6}" for h in heads) + " |")
    print(f"|{'-' * 46}|{'-' * 8}|{'-' * 8}|{'-' * 8}|{'-' * 8}|{'-' * 8}|{'-' * 8}|")
    for r in rows:
        name = r["Name"] if not r["Name"].startswith("/") else f"{r['Type']} {r['Name']}"
        name = "**all**" if name == "Aggregated" else name
        print(
            f"| {name:<44} | {r['Request Count']:>6} | {r['Failure Count']:>6} | {r['50%']:>6} | {r['95%']:>6} "
            f"| {r['99%']:>6} | {float(r['Requests/s']):>6.1f} |"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=50_000, help="generated tasks for seed_demo")
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--ceiling-seconds", type=int, default=30)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not os.environ.get("REDIS_URL"):
        sys.exit("Set DATABASE_URL (PostgreSQL) and REDIS_URL: this measures the production set-up.")

    # Kept between runs (collected static files take minutes to compress on a busy machine).
    work = Path(tempfile.gettempdir()) / ("aether-load-" + os.environ["DATABASE_URL"].rsplit("/", 1)[-1])
    work.mkdir(exist_ok=True)
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.load_settings",
        "AETHER_ENV_FILE": "",
        "AETHER_VAR_DIR": str(work),
        "DEBUG": "0",
        "SECRET_KEY": "load-test-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "CSRF_TRUSTED_ORIGINS": f"http://127.0.0.1:{port}",
        "SECURE_HSTS_SECONDS": "0",
        "API_THROTTLE_USER": "1000000/min",
        "API_THROTTLE_TOKEN_ADDRESS": "100000/min",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    probe = "from tasks.models import Task; print(Task.objects.count())"
    count = int(subprocess.run([*manage, "shell", "-c", probe], cwd=ROOT, env=env, check=True, capture_output=True,
                               text=True).stdout.split()[-1])  # fmt: skip
    if count == 0:
        subprocess.run([*manage, "seed_demo", "--tasks", str(args.tasks)], cwd=ROOT, env=env, check=True)
    if not (work / "staticfiles" / "staticfiles.json").exists():
        subprocess.run([*manage, "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    log = open(work / "gunicorn.log", "w")  # noqa: SIM115 -- held open while the server runs
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "aether.asgi", "-c", "gunicorn.conf.py", "--access-logfile", "/dev/null"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    host = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(host + "/healthz", timeout=2)  # noqa: S310 -- our own server
                break
            except OSError:
                time.sleep(0.5)
        workers = int(os.environ.get("WEB_CONCURRENCY", 0)) or "gunicorn.conf.py's default"
        print(f"gunicorn on {host} (workers: {workers}), {count or args.tasks:,} generated tasks; "
              f"{os.cpu_count()} cores")  # fmt: skip

        env.update(sign_in(host))
        warm_up(host, env)
        half = max(1, args.users // 2)
        print(f"\n### Mix: {args.users} users for {args.seconds} s ({half} in the browser, the rest on the API)\n")
        mix = locust(host, ["Browser", "MobileClient"], args.users, args.seconds, str(work / "mix"), env)
        table(mix)
        errors = int(next(r for r in mix if r["Name"] == "Aggregated")["Failure Count"])
        print(f"\nErrors: {errors}; GETs sent again after a reset connection: {RETRIES[str(work / 'mix')]}")

        print(f"\n### Ceiling: {args.users} users, no think time, {args.ceiling_seconds} s each\n")
        env["AETHER_BENCH_TOKENS"] = distinct_tokens(env, args.users)
        trivial = locust(host, ["TrivialViewOnly"], args.users, args.ceiling_seconds, str(work / "trivial"), env)
        listing = locust(host, ["DistinctRevalidating"], args.users, args.ceiling_seconds, str(work / "list"), env)
        table([r for r in trivial + listing if r["Name"] != "Aggregated"])
        ceiling = float(next(r for r in trivial if r["Name"] == "Aggregated")["Requests/s"])
        lists = float(next(r for r in listing if r["Name"] == "Aggregated")["Requests/s"])
        errors += sum(int(r["Failure Count"]) for r in trivial + listing if r["Name"] == "Aggregated")
        ratio = lists / ceiling if ceiling else 0
        retried = RETRIES[str(work / "trivial")] + RETRIES[str(work / "list")]
        print(f"\n{args.users} distinct people on the task list API (3 in 4 revalidating): {lists:.1f} req/s = "
              f"{ratio:.0%} of the trivial view's {ceiling:.1f} req/s; errors in all: {errors}; "
              f"GETs sent again after a reset connection: {retried}")  # fmt: skip
        sys.exit(0 if errors == 0 else 1)
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
