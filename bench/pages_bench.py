"""Server time of the busiest HTML pages on a big database: My work, a project's board, its list, Projects.

Run against a database filled by `seed_demo --tasks N` (see docs/performance.md), as the demo member bob:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aether_seedbench SECRET_KEY=bench-only-secret-0123456789 \
      ALLOWED_HOSTS=testserver SECURE_SSL_REDIRECT=false SESSION_COOKIE_SECURE=false \
      .venv/bin/python bench/pages_bench.py --repeat 30

It renders each page in-process through Django's test client (middleware, session, templates: everything
but the socket) and prints the median and p95 total time, the SQL time and the number of queries.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aether.settings")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from accounts.models import User  # noqa: E402
from tasks.models import Project, Task  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--email", default="bob@example.com")
    args = parser.parse_args()

    client = Client()
    client.force_login(User.objects.get(email=args.email))
    project = Project.objects.filter(team__memberships__user__email=args.email).order_by("-id").first()
    tasks = Task.objects.filter(project=project).count()
    print(f"{Task.objects.count():,} tasks in all, {tasks:,} in project {project.name!r}; {args.repeat} runs each")
    pages = {
        "My work": "/my-work/",
        "Board": f"/projects/{project.pk}/",
        "List (page 1)": f"/projects/{project.pk}/list/",
        "List, in progress by priority": f"/projects/{project.pk}/list/?status=in_progress&ordering=-priority",
        "Projects": "/projects/",
    }
    print(f"{'page':<32} {'median':>8} {'p95':>8} {'SQL med':>8} {'queries':>8}")
    for name, url in pages.items():
        assert client.get(url).status_code == 200, url
        totals, sql = [], []
        for _ in range(args.repeat):
            with CaptureQueriesContext(connection) as ctx:
                start = time.perf_counter()
                client.get(url)
                totals.append((time.perf_counter() - start) * 1000)
            sql.append(sum(float(q["time"]) for q in ctx.captured_queries) * 1000)
        p95 = statistics.quantiles(totals, n=20)[-1]
        print(
            f"{name:<32} {statistics.median(totals):>6.1f}ms {p95:>6.1f}ms {statistics.median(sql):>6.1f}ms "
            f"{len(ctx.captured_queries):>8}"
        )


if __name__ == "__main__":
    main()
