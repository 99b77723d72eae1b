"""Benchmark of the recurrence job: N repeating tasks whose next occurrence is due today, one job run.

    .venv/bin/python bench/recurring_bench.py --series 100000
    nice -n 19 .venv/bin/python bench/recurring_bench.py --series 10000     # a small run

Needs PostgreSQL on localhost (the database `aether_bench_recurring` is created if missing and its tasks are
replaced on every run). The rows are made in the database by INSERT … SELECT generate_series, in 8 teams
spread over time zones from Auckland to Los Angeles, 1,000 users, members of every team:

- N source tasks, each with a daily rule (FREQ=DAILY) whose next date is today in its team's time zone, so a
  run makes exactly one occurrence per series; half of them assigned (the assignee is notified: an in-app row
  and an outbox email each); a quarter stamped from a two-stage template, the rest with one stage to copy;
- as many tasks again that do not repeat (the job must not read them).

The job runs in a fresh child process, so its peak RSS (resource.getrusage) is that of one run only; the
first run's queries are counted (a connection.execute_wrapper, BEGIN/COMMIT not included). A second
run (nothing due any more) shows the steady-state cost of a quarter-hourly run.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from benchdb import ZONES, create_database, django_on


def fill(series: int, now: datetime) -> None:
    from django.core.management import call_command
    from django.db import connection, transaction

    from accounts.models import Membership, Team, User
    from tasks.models import Project, Template, TemplateStage

    call_command("migrate", "--noinput", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE tasks_task, tasks_recurrence, tasks_occurrence, notifications_outboxemail, "
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
        projects, templates, todays = [], [], []
        for i, zone in enumerate(ZONES):
            team, _ = Team.objects.get_or_create(slug=f"bench-{i}", defaults={"name": f"Bench {i}", "time_zone": zone})
            project, _ = Project.objects.get_or_create(team=team, name="Bench")
            template, created = Template.objects.get_or_create(team=team, name="Bench routine")
            if created:
                TemplateStage.objects.bulk_create(
                    [
                        TemplateStage(template=template, order=1, name="Check", estimated_hours=1),
                        TemplateStage(template=template, order=2, name="Report", estimated_hours=2),
                    ]
                )
            projects.append(project.pk)
            templates.append(template.pk)
            todays.append(now.astimezone(ZoneInfo(zone)).date().isoformat())
            Membership.objects.bulk_create([Membership(team=team, user_id=u) for u in users], ignore_conflicts=True)
    started = time.perf_counter()
    params = {"projects": projects, "templates": templates, "todays": todays, "users": users, "n": series}
    with connection.cursor() as cursor:
        # i <= n: the sources (due yesterday in their zone, repeating daily); i > n: tasks that do not repeat.
        cursor.execute(
            """
            INSERT INTO tasks_task (project_id, title, description, status, priority, assignee_id, created_by_id,
                                    due_date, template_id, created_at, updated_at)
            SELECT (%(projects)s::bigint[])[1 + i %% 8], 'Routine ' || i, '', 'pending', 1 + i %% 4,
                   CASE WHEN i %% 2 = 0 THEN (%(users)s::bigint[])[1 + (i * 7) %% 1000] END,
                   (%(users)s::bigint[])[1 + i %% 1000],
                   (%(todays)s::date[])[1 + i %% 8] - 1,
                   CASE WHEN i <= %(n)s AND i %% 4 = 0 THEN (%(templates)s::bigint[])[1 + i %% 8] END,
                   now(), now()
            FROM generate_series(1, 2 * %(n)s) AS i
            """,
            params,
        )
        cursor.execute(
            """
            INSERT INTO tasks_stage (task_id, "order", name, estimated_hours, status)
            SELECT id, 1, 'Do it', 1.5, 'pending' FROM tasks_task WHERE id <= %(n)s AND template_id IS NULL
            """,
            params,
        )
        cursor.execute(
            """
            INSERT INTO tasks_recurrence (task_id, rule, starts_on, next_on, created_at, updated_at)
            SELECT t.id, 'FREQ=DAILY', t.due_date, t.due_date + 1, now(), now()
            FROM tasks_task t WHERE t.id <= %(n)s
            """,
            params,
        )
        cursor.execute("ANALYZE")
    took = time.perf_counter() - started
    print(f"filled {series:,} repeating tasks (and {series:,} that do not repeat) in {took:.1f} s")


def measure() -> dict:
    """One job run in this (fresh) process, then a second one that finds nothing due."""
    import logging

    from django.db import connection

    from tasks.services.recurrence import recurrences_run

    logging.disable(logging.INFO)
    queries = [0]

    def count(execute, sql, params, many, context):
        queries[0] += 1
        return execute(sql, params, many, context)

    rss_loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with connection.execute_wrapper(count):
        run = recurrences_run()
    first = time.perf_counter() - started
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    again = recurrences_run()
    second = time.perf_counter() - started
    from notifications.models import Notification, OutboxEmail

    return {
        "series_due": run.series,
        "created": run.created,
        "failed": run.failed,
        "in_app": Notification.objects.count(),
        "emails": OutboxEmail.objects.count(),
        "first_run_s": round(first, 2),
        "per_occurrence_ms": round(1000 * first / max(run.created, 1), 2),
        "queries": queries[0],
        "queries_per_series": round(queries[0] / max(run.series, 1), 2),
        "second_run_created": again.created,
        "second_run_s": round(second, 2),
        "rss_after_django_setup_mib": round(rss_loaded / 1024, 1),
        "peak_rss_mib": round(rss_peak / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--series", type=int, default=100_000)
    parser.add_argument("--db", default="aether_bench_recurring")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)  # the child's side
    args = parser.parse_args()

    if args.measure:
        django_on(args.db)
        print(json.dumps(measure()))
        return

    create_database(args.db)
    django_on(args.db)
    fill(args.series, datetime.now(UTC))
    child = subprocess.run(
        [sys.executable, __file__, "--measure", "--db", args.db], capture_output=True, text=True, check=True
    )
    result = json.loads(child.stdout.strip().splitlines()[-1])
    print(json.dumps({"series": args.series, **result}, indent=2))


if __name__ == "__main__":
    main()
