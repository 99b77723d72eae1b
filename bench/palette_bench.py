"""The command palette on a big database: what each keystroke costs while a person types two words.

Run against a database filled by `seed_demo --tasks N` (see docs/performance.md), as the demo member bob:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aether_h_ux_1m SECRET_KEY=bench-only-secret-0123456789 \
      ALLOWED_HOSTS=testserver SECURE_SSL_REDIRECT=false SESSION_COOKIE_SECURE=false \
      .venv/bin/python bench/palette_bench.py --runs 20 --comments 300000

`--comments N` first adds generated comments (words of the seed's vocabulary, on random tasks) until the
database has N, so that the comment half of the search has rows to find (seed_demo writes a handful).

Each run types two words of the seed's vocabulary (each in about 3% of the tasks) one character at a time,
space included ("g", "gl", … "glossary r", … "glossary router"), and a word in no task ("zq…"); each
keystroke is one palette answer: "query" is tasks.palette.palette() (every query it runs: tasks, comments,
projects, people), "fragment" the /search/palette/ answer rendered in-process through Django's test client
(middleware, session, template; not the socket). Prints the median and p95 of each over all keystrokes, then
by kind of keystroke: one common word (prefixes of it), two words (the second being typed), a word in no task.
"""

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aether.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402

settings.STORAGES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from accounts.models import User  # noqa: E402
from tasks.management.commands.seed_demo import WORDS  # noqa: E402
from tasks.models import Comment, Task  # noqa: E402
from tasks.palette import palette  # noqa: E402


def add_comments(target: int, author: User) -> None:
    have = Comment.objects.count()
    if have >= target:
        return
    print(f"adding {target - have:,} comments …", flush=True)
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO tasks_comment (task_id, author_id, body, created_at, updated_at)
               SELECT (SELECT id FROM tasks_task ORDER BY id DESC LIMIT 1) - (random() * 999000)::int, %s,
                      initcap(array_to_string(ARRAY(
                          SELECT w[1 + (random() * (cardinality(w) - 1))::int] FROM generate_series(1, 4 + g % 2)
                      ), ' ')) || '.', now(), now()
               FROM generate_series(1, %s) g, (SELECT %s::text[] AS w) words""",
            [author.pk, target - have, list(WORDS)],
        )
    with connection.cursor() as cursor:  # outside a transaction: VACUUM also empties the GIN index's pending list
        cursor.execute("VACUUM ANALYZE tasks_comment")


def keystrokes(rng: random.Random):
    """(kind, text) for each keystroke of one run."""
    a, b = rng.sample(WORDS, 2)
    typed = f"{a} {b}"
    for n in range(1, len(typed) + 1):
        text = typed[:n]
        yield ("one word" if " " not in text.strip() else "two words"), text
    absent = f"zq{rng.getrandbits(24):x}"
    for n in range(1, len(absent) + 1):
        yield "a word in no task", absent[:n]


def pct(values: list[float]) -> str:
    return f"{statistics.median(values):6.1f} / {statistics.quantiles(values, n=20)[-1]:6.1f} ms"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--email", default="bob@example.com")
    parser.add_argument("--comments", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    user = User.objects.get(email=args.email)
    if args.comments:
        add_comments(args.comments, user)
    client = Client()
    client.force_login(user)
    rng = random.Random(args.seed)
    print(f"{Task.objects.count():,} tasks, {Comment.objects.count():,} comments; {args.runs} runs as {user.email}")
    for _ in range(3):  # warm up: connections, caches of the plan and the pages
        palette(user, "warm")
        client.get("/search/palette/", {"q": "warm"})
    queries: dict[str, list[float]] = {}
    fragments: dict[str, list[float]] = {}
    for _ in range(args.runs):
        for kind, text in keystrokes(rng):
            start = time.perf_counter()
            palette(user, text)
            queries.setdefault(kind, []).append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            response = client.get("/search/palette/", {"q": text})
            fragments.setdefault(kind, []).append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, (text, response.status_code)
    every_q = [t for v in queries.values() for t in v]
    every_f = [t for v in fragments.values() for t in v]
    print(f"{'keystrokes':<20} {'n':>5}  {'query p50 / p95':>20}  {'fragment p50 / p95':>20}")
    print(f"{'all':<20} {len(every_q):>5}  {pct(every_q):>20}  {pct(every_f):>20}")
    for kind in queries:
        print(f"{kind:<20} {len(queries[kind]):>5}  {pct(queries[kind]):>20}  {pct(fragments[kind]):>20}")


if __name__ == "__main__":
    main()
