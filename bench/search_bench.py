"""Search on a big database: the selector's query (what both the search page and the API's ?search= run)
and the whole results page, for one-word and other searches of different breadths.

Run against a database filled by `seed_demo --tasks N` (see docs/performance.md), as the demo member bob:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aether_search_1m SECRET_KEY=bench-only-secret-0123456789 \
      ALLOWED_HOSTS=testserver SECURE_SSL_REDIRECT=false SESSION_COOKIE_SECURE=false \
      .venv/bin/python bench/search_bench.py --repeat 30

Each generated task has 3 title words and 6 description words out of the seed's 270-word vocabulary, so one
such word is in about 3% of the tasks (33,000 of a million): a broad word. The "rare" search is a phrase of
two of them (about 0.01%), "absent" a word in no task. Each search runs with a different word from one run to
the next (the words cycle through the vocabulary), so the figures are not those of one cached answer.
Prints, per kind of search, the median and p95 of the query (page 1: 26 rows, as the page asks) and of the
page rendered in-process through Django's test client (middleware, session, templates; not the socket).
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

# The manifest storage needs collectstatic; the page is rendered without it (as in the tests).
settings.STORAGES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from accounts.models import User  # noqa: E402
from tasks import selectors  # noqa: E402
from tasks.management.commands.seed_demo import WORDS  # noqa: E402
from tasks.models import Task  # noqa: E402


def searches(kind: str, rng: random.Random):
    while True:
        a, b = rng.sample(WORDS, 2)
        yield {
            "one word (3% of tasks)": a,
            "two words, both (0.1%)": f"{a} {b}",
            'phrase "a b" (rare)': f'"{a} {b}"',
            "either word (6%)": f"{a} or {b}",
            "absent word": f"zq{rng.getrandbits(32):x}",
        }[kind]


def timed(fn, repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), statistics.quantiles(times, n=20)[-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--email", default="bob@example.com")
    args = parser.parse_args()

    user = User.objects.get(email=args.email)
    client = Client()
    client.force_login(user)
    print(f"{Task.objects.count():,} tasks; {args.repeat} runs each, a new search each run")
    print(f"{'search':<28} {'matches':>8} {'query med':>10} {'p95':>8} {'page med':>9} {'p95':>8}")
    for kind in (
        "one word (3% of tasks)",
        "two words, both (0.1%)",
        'phrase "a b" (rare)',
        "either word (6%)",
        "absent word",
    ):
        sample = searches(kind, random.Random(1))
        example = next(sample)
        with connection.cursor() as cursor:  # every match, not the ranked candidates
            cursor.execute(
                "SELECT count(*) FROM tasks_task WHERE search_vector @@ websearch_to_tsquery('english', %s)", [example]
            )
            matches = cursor.fetchone()[0]
        list(selectors.tasks_search(user, example)[:26])  # warm the connection and the plan cache
        client.get("/search/", {"q": example})  # and the templates (the first render compiles them)

        def query(sample=sample):
            list(selectors.tasks_search(user, next(sample))[:26])

        def page(sample=sample):
            assert client.get("/search/", {"q": next(sample)}).status_code == 200

        q_med, q_p95 = timed(query, args.repeat)
        p_med, p_p95 = timed(page, args.repeat)
        print(f"{kind:<28} {matches:>8,} {q_med:>8.1f}ms {q_p95:>6.1f}ms {p_med:>7.1f}ms {p_p95:>6.1f}ms")


if __name__ == "__main__":
    main()
