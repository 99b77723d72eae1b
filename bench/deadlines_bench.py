"""Benchmark of overdue detection: N tasks of which M are newly overdue, one detection run.

    .venv/bin/python bench/deadlines_bench.py --tasks 1000000 --overdue 100000
    .venv/bin/python bench/deadlines_bench.py --tasks 100000 --overdue 10000     # to compare peak memory

Needs PostgreSQL on localhost (the database `aether_bench_deadlines` is created if missing and its tasks are
replaced on every run). The rows are made in the database by INSERT … SELECT generate_series, in 8 teams
spread over time zones from Auckland to Los Angeles, 1,000 users, members of every team (a tenth of them with
overdue emails off):

- M open tasks due 2 to 21 days ago with no notice yet (the "newly overdue"); a tenth without assignee;
- of the rest: 45 % completed (their due dates long past), 5 % trashed or archived with past due dates,
  50 % open and due in the next 2 to 61 days.

The detection run happens in a fresh child process, so its peak RSS (resource.getrusage) is that of one
run only: Django loaded, one run, nothing else. A second run (nothing new) shows the steady-state cost.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

from benchdb import ZONES, create_database, django_on


def fill(tasks: int, overdue: int) -> None:
    from django.core.management import call_command
    from django.db import connection, transaction

    from accounts.models import Membership, Team, User
    from notifications.models import Kind, NotificationPreference
    from tasks.models import Project

    call_command("migrate", "--noinput", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE tasks_task, tasks_deadlinenotice, notifications_outboxemail, "
            "notifications_notification RESTART IDENTITY CASCADE"
        )
    with transaction.atomic():
        if User.objects.count() < 1000:
            User.objects.bulk_create(
                [
                    User(email=f"bench{i}@example.test", full_name=f"Bench User{i}", password="!")  # noqa: S106 -- "!" = unusable
                    for i in range(1000)
                ],
                ignore_conflicts=True,
            )
        users = list(User.objects.filter(email__startswith="bench").order_by("pk").values_list("pk", flat=True))
        NotificationPreference.objects.bulk_create(
            [NotificationPreference(user_id=u, kind=Kind.TASK_OVERDUE, email=False) for u in users[::10]],
            ignore_conflicts=True,
        )
        projects = []
        for i, zone in enumerate(ZONES):
            team, _ = Team.objects.get_or_create(slug=f"bench-{i}", defaults={"name": f"Bench {i}", "time_zone": zone})
            project, _ = Project.objects.get_or_create(team=team, name="Bench")
            projects.append(project.pk)
            # Recipients are told only while they are members of the task's team: every bench user is.
            Membership.objects.bulk_create([Membership(team=team, user_id=u) for u in users], ignore_conflicts=True)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        # i <= overdue: newly overdue. Else by i % 20: 0-8 completed, 9 trashed or archived, 10-19 open, due later.
        cursor.execute(
            """
            INSERT INTO tasks_task (project_id, title, description, status, priority, assignee_id, created_by_id,
                                    due_date, started_at, completed_at, deleted_at, archived_at, created_at,
                                    updated_at)
            SELECT (%(projects)s::bigint[])[1 + i %% 8], 'Bench task ' || i, '',
                   CASE WHEN i > %(overdue)s AND i %% 20 < 9 THEN 'completed'
                        WHEN i %% 3 = 0 THEN 'in_progress' ELSE 'pending' END,
                   1 + i %% 4,
                   CASE WHEN i %% 10 = 0 THEN NULL ELSE (%(users)s::bigint[])[1 + (i * 7) %% 1000] END,
                   (%(users)s::bigint[])[1 + i %% 1000],
                   CASE WHEN i <= %(overdue)s THEN current_date - (2 + i %% 20)
                        WHEN i %% 20 < 10 THEN current_date - (2 + i %% 200)
                        ELSE current_date + (2 + i %% 60) END,
                   NULL,
                   CASE WHEN i > %(overdue)s AND i %% 20 < 9 THEN now() - interval '1 day' * (1 + i %% 300) END,
                   CASE WHEN i > %(overdue)s AND i %% 40 = 9 THEN now() END,
                   CASE WHEN i > %(overdue)s AND i %% 40 = 29 THEN now() END,
                   now() - interval '1 day' * (i %% 365), now()
            FROM generate_series(1, %(tasks)s) AS i
            """,
            {"projects": projects, "users": users, "overdue": overdue, "tasks": tasks},
        )
        cursor.execute("ANALYZE")
    print(f"filled {tasks:,} tasks ({overdue:,} newly overdue) in {time.perf_counter() - started:.1f} s")


def measure() -> dict:
    """One detection run in this (fresh) process, then a second one that finds nothing new."""
    from tasks.services.deadline_notices import overdue_notify

    rss_loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    run = overdue_notify()
    first = time.perf_counter() - started
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    again = overdue_notify()
    second = time.perf_counter() - started
    return {
        "claimed": run.claimed,
        "emails": run.emails,
        "in_app": run.in_app,
        "first_run_s": round(first, 2),
        "second_run_claimed": again.claimed,
        "second_run_s": round(second, 2),
        "rss_after_django_setup_mib": round(rss_loaded / 1024, 1),
        "peak_rss_mib": round(rss_peak / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--overdue", type=int, default=100_000)
    parser.add_argument("--db", default="aether_bench_deadlines")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)  # the child's side
    args = parser.parse_args()
    if args.overdue > args.tasks:
        parser.error("--overdue cannot exceed --tasks")

    if args.measure:
        django_on(args.db)
        print(json.dumps(measure()))
        return

    create_database(args.db)
    django_on(args.db)
    fill(args.tasks, args.overdue)
    child = subprocess.run(
        [sys.executable, __file__, "--measure", "--db", args.db], capture_output=True, text=True, check=True
    )
    result = json.loads(child.stdout.strip().splitlines()[-1])
    print(json.dumps({"tasks": args.tasks, "overdue": args.overdue, **result}, indent=2))


if __name__ == "__main__":
    main()
