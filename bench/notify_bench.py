"""Benchmark of notify_many: 100,000 events (a deadline job's worth) written as outbox and in-app rows.

    .venv/bin/python bench/notify_bench.py                    # 100,000 events, 3 runs
    .venv/bin/python bench/notify_bench.py --events 20000 --runs 1

Needs PostgreSQL on localhost: the database `aether_notify_bench` (or --database) is created if missing and
migrated; the first run arranges 50 teams of 40 members (2,000 people, one in ten with a stored preference
for the kind: email off, or in-app off) and 100,000 tasks, kept for later runs. Each run empties the outbox
and the in-app table, then times notify_many over a generator of one overdue event per task to its
assignee, in one transaction (as a job would), then the same events again (all already told: nothing
written). Peak memory is the process's growth in resident set during the first pass.

--orm writes the rows with the ORM form (bulk_create(ignore_conflicts=True) after reading the stored keys,
then the new ids) instead of notifications/sql.py's statements: the comparison that justifies sql.py.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

from benchdb import create_database, django_on

TEAMS, MEMBERS = 50, 40


def _django(name: str) -> None:
    django_on(name, broker=None)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _arrange(n_tasks: int) -> list[tuple[int, int, int, str, str]]:
    """(task id, team id, user id, email, name) for n_tasks tasks, spread over the members of every team."""
    from django.db import transaction

    from accounts.models import Membership, Team, User
    from notifications.models import Kind, NotificationPreference
    from tasks.models import Project, Task

    with transaction.atomic():
        if not Team.objects.filter(slug="bench-0").exists():
            teams = Team.objects.bulk_create([Team(name=f"Bench {t}", slug=f"bench-{t}") for t in range(TEAMS)])
            users = User.objects.bulk_create(
                [
                    User(email=f"bench{t}-{m}@example.test", full_name=f"Person {t}-{m}")
                    for t in range(TEAMS)
                    for m in range(MEMBERS)
                ]
            )
            Membership.objects.bulk_create(
                [Membership(team=teams[i // MEMBERS], user=u, role="member") for i, u in enumerate(users)]
            )
            NotificationPreference.objects.bulk_create(
                [
                    NotificationPreference(user=u, kind=Kind.TASK_OVERDUE, email=i % 20 != 0, in_app=i % 20 == 0)
                    for i, u in enumerate(users)
                    if i % 10 == 0
                ]
            )
            Project.objects.bulk_create([Project(team=t, name="Bench") for t in teams])
        have = Task.objects.filter(project__team__slug__startswith="bench-").count()
        if have < n_tasks:
            projects = {p.team_id: p for p in Project.objects.filter(team__slug__startswith="bench-")}
            people = list(Membership.objects.filter(team__slug__startswith="bench-").order_by("pk"))
            for start in range(have, n_tasks, 5000):
                Task.objects.bulk_create(
                    [
                        Task(
                            project=projects[people[i % len(people)].team_id],
                            title=f"Task {i}",
                            assignee_id=people[i % len(people)].user_id,
                            created_by_id=people[i % len(people)].user_id,
                        )
                        for i in range(start, min(start + 5000, n_tasks))
                    ]
                )
    rows = (
        Task.objects.filter(project__team__slug__startswith="bench-")
        .order_by("pk")
        .values_list("pk", "project__team_id", "assignee_id", "assignee__email", "assignee__full_name")[:n_tasks]
    )
    return list(rows)


def _events(rows):
    from notifications.models import Kind
    from notifications.services import Event

    for task_id, team_id, user_id, email, name in rows:
        yield Event(
            kind=Kind.TASK_OVERDUE,
            key=f"task:{task_id}:overdue:2026-12-01",
            user_id=user_id,
            email=email,
            name=name.split(" ")[0],
            team_id=team_id,
            message=f"“Task {task_id}” was due on 2026-12-01 and is overdue.",
            url=f"/tasks/{task_id}/",
            task_id=task_id,
            task_title=f"Task {task_id}",
            context={"due_date": "2026-12-01"},
        )


def _use_the_orm() -> None:
    """Put the ORM form in place of notifications/sql.py's two inserts, for the comparison only."""
    from types import SimpleNamespace

    from notifications import services
    from notifications.models import Notification, OutboxEmail

    def new_rows(model, rows: list[dict]) -> list:
        """Insert the rows whose dedupe key is not stored yet (bulk_create, a conflict skipped); the new ones."""
        if not rows:
            return []
        keys = [r["dedupe_key"] for r in rows]
        stored = set(model.objects.filter(dedupe_key__in=keys).values_list("dedupe_key", flat=True))
        new = [model(**r) for r in rows if r["dedupe_key"] not in stored]
        model.objects.bulk_create(new, ignore_conflicts=True)
        return new

    def outbox_insert(rows):
        new = new_rows(OutboxEmail, rows)
        keys = [r.dedupe_key for r in new]
        return list(OutboxEmail.objects.filter(dedupe_key__in=keys).values_list("pk", flat=True)) if keys else []

    services.sql = SimpleNamespace(
        outbox_insert=outbox_insert,
        notifications_insert=lambda rows: len(new_rows(Notification, rows)),
        email_cadences=services.sql.email_cadences,
    )


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(rows) -> dict:
    from django.db import connection, transaction

    from notifications.models import Notification, OutboxEmail
    from notifications.services import notify_many

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {OutboxEmail._meta.db_table}, {Notification._meta.db_table}")
    rss = _rss_mb()
    started = time.monotonic()
    with transaction.atomic():
        counts = notify_many(_events(rows))
    first = time.monotonic() - started
    grew = _rss_mb() - rss
    started = time.monotonic()
    with transaction.atomic():
        again = notify_many(_events(rows))
    second = time.monotonic() - started
    return {"first": first, "again": second, "counts": counts, "again_counts": again, "rss_growth_mb": grew}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database", default="aether_notify_bench")
    parser.add_argument("--orm", action="store_true", help="the ORM form of the inserts instead of sql.py")
    args = parser.parse_args()
    create_database(args.database)
    _django(args.database)
    if args.orm:
        _use_the_orm()
    rows = _arrange(args.events)
    print(f"{len(rows):,} events over {TEAMS} teams of {MEMBERS}; chunk 2000; {'ORM' if args.orm else 'sql.py'}")
    firsts = []
    for i in range(args.runs):
        r = run(rows)
        firsts.append(r["first"])
        print(
            f"run {i + 1}: written in {r['first']:.2f} s ({len(rows) / r['first']:,.0f} events/s): "
            f"{r['counts'].emails:,} emails, {r['counts'].in_app:,} in-app; told again in {r['again']:.2f} s "
            f"({r['again_counts'].emails} emails, {r['again_counts'].in_app} in-app); "
            f"peak RSS grew {r['rss_growth_mb']:.0f} MB"
        )
    print(f"median {statistics.median(firsts):.2f} s for {len(rows):,} events")


if __name__ == "__main__":
    main()
