"""Delta sync's first full sync of a team, streamed: every page's server time, and the serving process's memory
from the first page to the last, in-process through the WSGI application as gunicorn calls it.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aether_h_api_10k .venv/bin/python bench/sync_bench.py

Expects a database filled by `seed_demo --tasks 10000` (its Demo team then holds 10,056 tasks, each with four
stages). The demo member bob syncs from nothing with pages of 200 until `more` is false; the body of each page
is read and dropped, as a client that stores it would. Printed, for three full syncs one after the other and
one at a page size of 500: pages, objects, p50/p95 of a page, the process's CPU a page, and its resident
memory (RSS) after the first page, at the middle and after the last. A stream: after the first run's warm-up
the memory stays where it is, whatever the number of pages.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from inprocess import WSGIClient  # noqa: E402 -- after the path

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/aether_h_api_10k")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/4")
os.environ.setdefault("REDIS_KEY_PREFIX", "bench-sync")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789-0123456789-0123456789")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aether.settings")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("API_THROTTLE_USER", "100000000/min")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("AETHER_ENV_FILE", "")


def rss_mb() -> float:
    """The process's resident memory now (Linux: /proc), in MB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--user", default="bob@example.com")
    args = parser.parse_args()

    import django

    django.setup()
    from rest_framework_simplejwt.tokens import RefreshToken

    from accounts.models import User
    from tasks.models import Task

    user = User.objects.get(email=args.user)
    client = WSGIClient({"HTTP_AUTHORIZATION": f"Bearer {RefreshToken.for_user(user).access_token}"})
    visible = Task.objects.filter(project__team__memberships__user=user, deleted_at__isnull=True).count()
    print(f"{visible:,} tasks visible to {args.user}; RSS after django.setup(): {rss_mb():.1f} MB")
    print(
        "| run | page size | pages | objects | page p50 ms | page p95 ms | CPU ms a page (this process) | "
        "RSS MB: first page / middle / last |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for i, size in enumerate((200, 200, 200, 500), 1):
        r = run(client, size)
        rss = " / ".join(map(str, r["rss"]))
        print(f"| {i} | {size} | {r['pages']} | {r['objects']:,} | {r['p50']} | {r['p95']} | {r['cpu']} | {rss} |")


def run(client, page_size: int) -> dict:
    times, rss, objects, cursor, pages, more = [], [], 0, None, 0, True
    cpu = time.process_time()
    while more:
        url = f"/api/v1/sync/?page_size={page_size}" + (f"&cursor={cursor}" if cursor else "")
        start = time.perf_counter()
        code, body = client.get(url)
        times.append(time.perf_counter() - start)
        assert code == 200, body[:300]
        page = json.loads(body)
        objects += len(page["tasks"]) + len(page["comments"]) + len(page["notifications"])
        cursor, more, pages = page["cursor"], page["more"], pages + 1
        del page, body
        rss.append(rss_mb())
    cpu = round((time.process_time() - cpu) * 1000 / pages, 1)
    times.sort()
    return {
        "cpu": cpu,
        "pages": pages,
        "objects": objects,
        "p50": round(statistics.median(times) * 1000, 1),
        "p95": round(times[max(0, int(len(times) * 0.95) - 1)] * 1000, 1),
        "rss": (round(rss[0], 1), round(rss[len(rss) // 2], 1), round(rss[-1], 1)),
    }


if __name__ == "__main__":
    main()
