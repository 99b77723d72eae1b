"""Load the demo data (idempotent), and optionally N generated tasks for load and benchmark runs.

    python manage.py seed_demo                # teams, people, templates, ~60 realistic tasks; safe to rerun
    python manage.py seed_demo --tasks 100000 # plus 100,000 generated tasks with stages (INSERT … SELECT)

This is a data loader, like a fixture: it writes rows directly (with the history each demo task would have)
rather than through the services, so that loading the data itself notifies nobody. Then, in the run that
created the demo tasks, it runs the scheduled jobs once (overdue, due soon, archive) by calling their
functions, so that a first visit finds the notices, the archive and their history as if the scheduler had
been running: those are real notices, emailed to the demo people (files under var/mail/ in `make run`).
"""

from __future__ import annotations

import math
import random
from datetime import timedelta
from decimal import Decimal

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone
from tqdm import tqdm

from accounts.demo import DEMO_PASSWORD, DEMO_PEOPLE, demo_people_create
from tasks.models import Activity, Comment, Label, Priority, Project, Stage, Status, Task, Template, TemplateStage
from tasks.services import archiving
from tasks.services import deadline_notices as deadlines

PASSWORD = DEMO_PASSWORD
PEOPLE = DEMO_PEOPLE  # email, full name, team, role, staff
TEMPLATES = {
    "Software Development": [("Design", 8), ("Implementation", 20), ("Testing", 10), ("Release", 4)],
    "Content Creation": [("Research", 5), ("Drafting", 8), ("Editing", 4), ("Publishing", 2)],
    "Marketing Campaign": [("Planning", 10), ("Creative production", 15), ("Execution", 12), ("Reporting", 6)],
    "Product Launch": [("Market research", 12), ("Build and polish", 25), ("Go-to-market", 8), ("Launch review", 10)],
}
LABELS = [("bug", "#dc2626"), ("feature", "#2563eb"), ("customer", "#16a34a"), ("blocked", "#9333ea")]
PROJECTS = {
    "Demo": [
        ("Website relaunch", "The new marketing site and blog, from research to launch."),
        ("Mobile app 2.0", "Offline mode, push notifications and the new onboarding."),
    ],
    "Other": [("Internal tools", "Scripts and dashboards for the operations team.")],
}
TITLES = {
    "Software Development": [
        "Offline sync for task lists",
        "Push notification service",
        "Fix login redirect loop",
        "Dark mode",
        "Crash on empty board",
        "Export tasks to CSV",
        "Faster search index",
        "Two-factor sign-in",
        "Rate limiting for the public API",
        "Accessibility audit fixes",
        "Upgrade to the new payments SDK",
        "Onboarding checklist",
        "Attachment previews",
        "Keyboard shortcuts",
        "Recurring tasks",
        "Calendar integration",
        "Slow board with many cards",
        "Webhooks for task events",
        "Audit log export",
        "Bulk edit in the list view",
        "Timezone bug in due dates",
        "Image upload size limit",
    ],
    "Content Creation": [
        "Blog: how teams plan sprints",
        "Help centre: getting started",
        "Case study: Northwind",
        "Release notes for 2.0",
        "Video script: product tour",
        "Newsletter for March",
        "Docs: API tokens",
        "Blog: remote retrospectives",
        "FAQ refresh",
        "Glossary page",
        "Tutorial: templates",
        "Blog: estimating with stages",
        "Docs: board shortcuts",
        "Webinar follow-up post",
    ],
    "Marketing Campaign": [
        "Spring webinar series",
        "Retargeting campaign",
        "Partner co-marketing",
        "Conference booth",
        "Email nurture sequence",
        "Referral programme",
        "Social launch teaser",
        "Customer survey",
        "Holiday promotion",
        "Paid search test",
        "Product Hunt launch day",
    ],
    "Product Launch": [
        "Launch mobile app 2.0",
        "Pricing page redesign",
        "Launch the Teams plan",
        "Press kit",
        "App store listing",
        "Launch in Germany",
        "Launch the integrations gallery",
        "Beta programme",
        "Launch in Japan",
    ],
}
# The generated tasks' titles and descriptions draw from these words (3 and 6 of them), so that search
# has something to find: each word is in about 3% of the generated tasks (bench/search_bench.py).
WORDS = """account adapter admin alert alias analytics android anchor api archive audit avatar backup badge banner
batch beta billing blog board bookmark bounce branch browser budget buffer build bundle button cache calendar
campaign canvas caption card cart catalog chart chat checkout chrome cleanup client cluster column comment config
consent contract cookie copy coupon crash cron csv currency cursor customer dashboard database deadline debug
default delivery demo deploy design desktop diagram digest discount docs domain download draft driver dropdown
editor email embed encoding endpoint error estimate event export favicon feed filter firewall font footer form
forum gallery gateway glossary gradient graph grid guide handler header heatmap helpdesk histogram hosting icon
import inbox index installer integration invoice ios kernel keyboard label landing language latency layout ledger
legal library license lightbox link linter locale lock login logo logs mailer manual map margin markdown menu
merge metric migration mobile modal module monitor newsletter notice onboarding optimizer order outage package
padding pager palette parser partner password payment payroll pdf permission photo pipeline pixel plugin podcast
policy popup portal poster preview pricing printer privacy profile prompt proxy queue quota radar ranking receipt
recovery redirect refund region release renderer replica report request resize retry review roadmap router sandbox
scanner schema scheduler screen script scroll sdk search security sensor server session shipping sidebar signup
sitemap slider snapshot socket sorting spinner sprint spreadsheet staging storage stripe style subscription
summary support survey switch sync tablet tagline template tenant terminal testing theme thumbnail ticket timeline
timer toggle token toolbar tooltip tracker traffic translation trial tutorial upload uptime usability vendor video
viewer voucher wallet warehouse watermark webhook webinar widget wiki wizard workflow zone""".split()  # noqa: SIM905 -- a list literal of 270 words would be 270 lines
OTHER_TITLES = ["Backup monitoring", "On-call rota script", "Inventory dashboard", "Cost report automation"]
# The Demo team's past year (_demo_history): how much longer than estimated each kind of stage tends to take
# (the median of actual / estimated; each stage draws around it with a log spread of 0.3), and each person's
# pace in hours of stage work per working day across everything they had on (each task around it, spread 0.3).
HISTORY_TASKS = 120
STAGE_OVERRUN = {"Implementation": 1.35, "Build and polish": 1.4, "Creative production": 1.3, "Testing": 1.2,
                 "Design": 1.1, "Release": 0.9, "Publishing": 0.85, "Reporting": 0.9}  # fmt: skip
HISTORY_PACE = {"alice": 3.5, "bob": 3.0}
DEMO_PACE = 3.5  # anyone else (the Other team's Dave)


def after_work(start, days: float):
    """When `days` working days of work starting at `start` are done: working days are Monday to Friday,
    09:00-17:00 (the Demo team's time zone is UTC); a start outside them waits for the next one."""
    t, left = start, timedelta(hours=8 * days)
    while True:
        if t.weekday() >= 5 or t.hour >= 17:
            t = (t + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
            continue
        if t.hour < 9:
            t = t.replace(hour=9, minute=0, second=0, microsecond=0)
        today = t.replace(hour=17, minute=0, second=0, microsecond=0) - t
        if left <= today:
            return t + left
        left -= today
        t = t + today


class Command(BaseCommand):
    help = "Load the demo data (idempotent); --tasks N adds N generated tasks with stages."

    def add_arguments(self, parser):
        parser.add_argument("--tasks", type=int, default=0, help="How many generated tasks to add.")
        parser.add_argument("--seed", type=int, default=42, help="Random seed of the generated tasks.")
        parser.add_argument("--batch", type=int, default=20000, help="Rows per batch for generated tasks.")

    def handle(self, *args, tasks: int, seed: int, batch: int, **options):
        if tasks < 0:
            raise CommandError("--tasks must be zero or more.")
        if batch < 1:
            raise CommandError("--batch must be at least 1.")
        with transaction.atomic():
            users, teams = self._people()
            templates = self._templates(teams, users)
            projects = self._projects(teams)
            self._labels(teams)
            created = self._demo_tasks(users, templates, projects)
            if created:
                self._comments(users)
                created += self._demo_history(users, templates, projects)
        self.stdout.write(f"demo data ready ({created} demo tasks created now)")
        if created:
            self._run_jobs()
        if tasks:
            self._generate(tasks, seed=seed, batch=batch, teams=teams, users=users)
        # The rows above were written directly, not through the services: rebuild the analytics figures from
        # them (set-based). By name, as tasks never imports analytics. The rebuild reports every team changed
        # (aether/changes.py), so the API's ETags move on; the generated rows are not in the sync change log (a
        # client's first sync after this sends them).
        call_command("analytics_rebuild", stdout=self.stdout)
        if not tasks:
            # The demo's forecasts and calibration at once, for the first visit (by name: tasks never imports
            # analytics). Generated tasks get theirs from the daily job or `forecasts_refresh`: a refresh
            # reports every task whose forecast it writes, and a million rows would all go to the sync log.
            call_command("forecasts_refresh", "--backtest", stdout=self.stdout)
        for email, _, team, role, staff in PEOPLE:
            admin = "  (staff: opens Django admin at /admin/)" if staff else ""
            self.stdout.write(f"  {email:<20} {role:<7} in {team:<6} password: {PASSWORD}{admin}")

    # --- the demo set ---------------------------------------------------------------------------------

    def _people(self):
        return demo_people_create()

    def _templates(self, teams, users):
        templates = {}
        for team in teams.values():
            for name, stages in TEMPLATES.items():
                template, created = Template.objects.get_or_create(
                    team=team, name=name, defaults={"created_by": users["alice" if team.slug == "demo" else "dave"]}
                )
                if created:
                    TemplateStage.objects.bulk_create(
                        TemplateStage(template=template, order=i, name=n, estimated_hours=Decimal(h))
                        for i, (n, h) in enumerate(stages, 1)
                    )
                templates[(team.slug, name)] = template
        return templates

    def _projects(self, teams):
        projects = {}
        for team_name, specs in PROJECTS.items():
            for name, description in specs:
                projects[name], _ = Project.objects.get_or_create(
                    team=teams[team_name], name=name, defaults={"description": description}
                )
        return projects

    def _labels(self, teams):
        for team in teams.values():
            for name, color in LABELS:
                Label.objects.get_or_create(team=team, name=name, defaults={"color": color})

    def _demo_tasks(self, users, templates, projects) -> int:
        """About 60 tasks in Demo and 4 in Other. Each has a fixed idempotency key, so a rerun adds nothing."""
        rng = random.Random(7)
        now = timezone.now()
        today = timezone.localdate()
        specs = []
        demo_projects = [projects["Website relaunch"], projects["Mobile app 2.0"]]
        for template_name, titles in TITLES.items():
            for title in titles:
                specs.append(("demo", template_name, title, demo_projects[len(specs) % 2]))
        for title in OTHER_TITLES:
            specs.append(("other", "Software Development", title, projects["Internal tools"]))
        created = 0
        for i, (team_slug, template_name, title, project) in enumerate(specs):
            key = f"seed-demo-{i}"
            creator = users["alice"] if team_slug == "demo" else users["dave"]
            if Task.objects.filter(created_by=creator, idempotency_key=key).exists():
                continue
            template = templates[(team_slug, template_name)]
            stage_specs = list(template.stages.order_by("order").values_list("name", "estimated_hours"))
            # A spread: a third completed, a third in progress, a third pending.
            fate = i % 3 if team_slug == "demo" else rng.choice([0, 1, 2])
            created_at = now - timedelta(days=rng.randint(5, 120), hours=rng.randint(0, 23))
            done = {0: len(stage_specs), 1: rng.randint(1, len(stage_specs) - 1), 2: 0}[fate]
            assignee = (
                rng.choice([users["alice"], users["bob"], users["bob"]]) if team_slug == "demo" else users["dave"]
            )
            # The same team as its past year (_demo_history): the person's pace, each kind of stage's overrun.
            pace = HISTORY_PACE.get(assignee.email.split("@")[0], DEMO_PACE) * math.exp(rng.gauss(0, 0.3))
            stages, t = [], created_at + timedelta(hours=rng.randint(2, 48))
            for order, (name, est) in enumerate(stage_specs, 1):
                stage = Stage(order=order, name=name, estimated_hours=est)
                if order <= done:
                    ratio = STAGE_OVERRUN.get(name, 1.1) * math.exp(rng.gauss(0, 0.3))
                    stage.actual_hours = max((est * Decimal(str(ratio))).quantize(Decimal("0.5")), Decimal("0.5"))
                    stage.started_at = t
                    t = after_work(t, float(stage.actual_hours) / pace)  # on working days
                    stage.completed_at = t
                    stage.status = Status.COMPLETED
                elif order == done + 1 and fate == 1:
                    stage.status = Status.IN_PROGRESS
                    stage.started_at = t
                stages.append(stage)
            if done and t > now - timedelta(minutes=5):
                # Not done by now at that pace: it began whole weeks earlier (the same weekdays and hours), rather
                # than finishing impossibly fast (the forecasts learn the team's pace from these times).
                back = timedelta(weeks=math.ceil((t - now + timedelta(minutes=5)) / timedelta(weeks=1)))
                created_at -= back
                for stage in stages:
                    stage.started_at = stage.started_at and stage.started_at - back
                    stage.completed_at = stage.completed_at and stage.completed_at - back
            status = {0: Status.COMPLETED, 1: Status.IN_PROGRESS, 2: Status.PENDING}[fate]
            completed_at = stages[-1].completed_at if fate == 0 else None
            # Due dates: completed ones around their completion; open ones some overdue, some due soon.
            if fate == 0:
                due = (completed_at + timedelta(days=rng.randint(-4, 6))).date()
            else:
                due = today + timedelta(days=rng.choice([-9, -3, -1, 0, 1, 2, 5, 12, 20, 30]))
            task = Task.objects.create(
                project=project,
                title=title,
                description=f"{title}. Stamped from the {template_name} template.",
                status=status,
                priority=rng.choice([Priority.LOW, Priority.MEDIUM, Priority.MEDIUM, Priority.HIGH, Priority.URGENT]),
                assignee=assignee,
                created_by=creator,
                due_date=due if i % 11 else None,
                started_at=stages[0].started_at,
                completed_at=completed_at,
                template=template,
                idempotency_key=key,
            )
            Task.objects.filter(pk=task.pk).update(created_at=created_at)  # auto_now_add cannot be set on create
            for stage in stages:
                stage.task = task
            Stage.objects.bulk_create(stages)
            label_names = rng.sample([name for name, _ in LABELS], k=rng.randint(0, 2))
            task.labels.set(Label.objects.filter(team=project.team, name__in=label_names))
            self._history(task, creator, assignee, created_at, stages)
            created += 1
        return created

    def _demo_history(self, users, templates, projects) -> int:
        """The Demo team's past year: HISTORY_TASKS completed tasks (Alice's and Bob's), each worked on working
        days at its person's pace, each stage taking its kind's usual overrun (STAGE_OVERRUN) give or take, so
        that the forecasts have a record to learn from and the backtest something to replay. Fixed keys and
        a fixed seed: a rerun adds nothing. A task that would not have finished by the anchor is left out."""
        rng = random.Random(2026)
        now = timezone.now()
        # Laid out back from the Monday of last week (midnight, UTC), not from this instant: the same weeks
        # whatever the weekday of loading, so the Demo team's record (and its backtest) is the same any day.
        anchor = (now - timedelta(days=now.weekday() + 7)).replace(hour=0, minute=0, second=0, microsecond=0)
        demo = [t for (team, _), t in templates.items() if team == "demo"]
        demo_projects = [projects["Website relaunch"], projects["Mobile app 2.0"]]
        made = 0
        for i in range(HISTORY_TASKS):
            key = f"seed-demo-history-{i}"
            template = demo[i % len(demo)]
            who = "alice" if i % 2 else "bob"
            pace = HISTORY_PACE[who] * math.exp(rng.gauss(0, 0.3))
            start = after_work(anchor - timedelta(days=rng.uniform(13, 358)), 0)
            created_at = start - timedelta(hours=rng.randint(1, 72))
            stages, t = [], start
            for order, (name, est) in enumerate(
                template.stages.order_by("order").values_list("name", "estimated_hours"), 1
            ):
                ratio = STAGE_OVERRUN.get(name, 1.1) * math.exp(rng.gauss(0, 0.3))
                actual = max((est * Decimal(str(ratio))).quantize(Decimal("0.5")), Decimal("0.5"))
                begun, t = t, after_work(t, float(actual) / pace)
                stages.append(Stage(order=order, name=name, estimated_hours=est, actual_hours=actual,
                                    status=Status.COMPLETED, started_at=begun, completed_at=t))  # fmt: skip
            if (
                t >= now - timedelta(days=1)
                or Task.objects.filter(created_by=users["alice"], idempotency_key=key).exists()
            ):
                continue
            title = TITLES[template.name][i % len(TITLES[template.name])]
            task = Task.objects.create(
                project=demo_projects[i % 2], title=f"{title} ({start:%B %Y})", description=f"{title}, done earlier.",
                status=Status.COMPLETED, priority=rng.choice(list(Priority)), assignee=users[who],
                created_by=users["alice"], due_date=(start + timedelta(days=rng.randint(10, 40))).date(),
                started_at=start, completed_at=t, template=template, idempotency_key=key,
            )  # fmt: skip
            Task.objects.filter(pk=task.pk).update(created_at=created_at)
            for stage in stages:
                stage.task = task
            Stage.objects.bulk_create(stages)
            self._history(task, users["alice"], users[who], created_at, stages)
            made += 1
        return made

    def _run_jobs(self) -> None:
        """Run the scheduled jobs once, as the scheduler would have: overdue notices and due-soon reminders
        (in-app and by email, to the demo people: in a `make run` checkout they land under var/mail/), and
        the archive of tasks completed more than AETHER_ARCHIVE_AFTER_DAYS ago, with its history rows. Only
        in the run that created the demo tasks, before any generated ones: the jobs would otherwise notify
        every generated task."""
        overdue = deadlines.overdue_notify(skip_if_busy=False)
        soon = deadlines.due_soon_notify(skip_if_busy=False)
        archived = archiving.completed_tasks_archive()
        self.stdout.write(
            f"scheduled jobs run once: {overdue.claimed} overdue and {soon.claimed} due-soon tasks notified, "
            f"{archived.archived} completed tasks archived"
        )

    def _comments(self, users) -> None:
        """A short conversation on the first demo tasks, in Markdown with a mention, written as rows (like the
        tasks: loading data notifies nobody)."""
        conversation = [
            ("bob", "Started on this. Plan:\n\n1. Sketch the **happy path**\n2. Ask @alice about edge cases"),
            ("alice", "Thanks @bob! The spec is in the [help centre](https://example.com/help). Ping me when done."),
        ]
        for task in Task.objects.filter(idempotency_key__in=["seed-demo-1", "seed-demo-4"]).select_related("project"):
            when = timezone.now() - timedelta(days=2)
            for offset, (who, body) in enumerate(conversation):
                comment = Comment.objects.create(task=task, author=users[who], body=body)
                at = when + timedelta(hours=3 * offset)
                Comment.objects.filter(pk=comment.pk).update(created_at=at, updated_at=at)
                activity = Activity.objects.create(
                    task=task, actor=users[who], verb=Activity.Verb.COMMENTED, field="comment", new_value=comment.pk
                )
                Activity.objects.filter(pk=activity.pk).update(created_at=at)

    @staticmethod
    def _history(task, creator, worker, created_at, stages) -> None:
        """The Activity rows the services would have written, at the times the events happened."""
        events = [(created_at, creator, Activity.Verb.CREATED, "", None, {"title": task.title})]
        for stage in stages:
            field = f"stage {stage.order}"
            if stage.started_at:
                events.append((stage.started_at, worker, Activity.Verb.STAGE_STARTED, field, None, stage.name))
            if stage.completed_at:
                done = {"name": stage.name, "actual_hours": str(stage.actual_hours)}
                events.append((stage.completed_at, worker, Activity.Verb.STAGE_COMPLETED, field, None, done))
        if task.completed_at:
            events.append((task.completed_at, worker, Activity.Verb.COMPLETED, "status", "in_progress", "completed"))
        rows = Activity.objects.bulk_create(
            Activity(task=task, actor=actor, verb=verb, field=field, old_value=old, new_value=new)
            for _, actor, verb, field, old, new in events
        )
        for row, (when, *_) in zip(rows, events, strict=True):
            row.created_at = when  # auto_now_add stamps "now" on insert; history keeps the event's time
        Activity.objects.bulk_update(rows, ["created_at"])

    # --- generated load -------------------------------------------------------------------------------

    def _generate(self, n: int, *, seed: int, batch: int, teams, users) -> None:
        """N tasks of 4 stages each, spread over the Demo projects, in batches with a progress bar, generated
        inside the database (`_insert_select`) from PostgreSQL's random(), seeded by `seed`."""
        projects = list(Project.objects.filter(team=teams["Demo"]).values_list("pk", flat=True))
        people = [users["alice"].pk, users["bob"].pk]
        template = Template.objects.get(team=teams["Demo"], name="Software Development")
        stage_specs = list(template.stages.order_by("order").values_list("name", "estimated_hours"))
        with connection.cursor() as cursor:
            cursor.execute("SELECT setseed(%s)", [(seed % 2000) / 1000 - 1])
        with tqdm(total=n, unit="task", desc="generating tasks", disable=not self.stdout.isatty() and n < 1000) as bar:
            done = 0
            while done < n:
                size = min(batch, n - done)
                with transaction.atomic():
                    self._insert_select(size, projects, people, template.pk, stage_specs, teams["Demo"].time_zone)
                done += size
                bar.update(size)
        with connection.cursor() as cursor:
            # Fresh statistics: without them the planner still believes the tables are empty and picks plans
            # (nested loops over a million rows) that make the first hours after a bulk load seconds slow.
            # VACUUM too: it marks the new pages all-visible, without which an index-only scan (the
            # calendar's per-day counts, the list's capped count) reads the table after all, until autovacuum
            # comes by (or never, where it is off).
            if connection.get_autocommit():
                cursor.execute("VACUUM (ANALYZE) tasks_task, tasks_stage")
            else:  # inside a transaction (a test) VACUUM cannot run
                cursor.execute("ANALYZE tasks_task, tasks_stage")
        self.stdout.write(f"generated {n} tasks with {n * len(stage_specs)} stages")

    @staticmethod
    def _insert_select(n: int, projects, people, template_id, stage_specs, time_zone: str = "UTC") -> None:
        """Generate the batch inside the database with three INSERT ... SELECT statements.

        Their shape: 55% completed, 25% part-way, 20% not started. The time a task takes follows its work and
        its person's pace, on working days (the forecasts' history must look like a team's, analytics/forecasts):
        each stage's actual hours are its estimate x 0.5-1.8; the task is worked at its person's pace (5 h per
        working day for the first person, 4 for the second, ...) x e^(0.35 N(0, 1)) for this task, Monday to
        Friday 09:00-17:00 in the team's time zone, from 0-2 working days after its creation; a stage completes
        when the hours so far are worked. A started task's schedule is moved earlier, whole working days, until
        its last completed stage is before today: nothing lies in the future, and the old mix of statuses holds.
        """
        names = [name for name, _ in stage_specs]
        hours = [est for _, est in stage_specs]
        k = len(stage_specs)
        epoch = "date '0001-01-01'"

        def weekdays_before(day: str) -> str:  # analytics/forecasts/workdays.py, in SQL
            return f"((({day}) - {epoch}) / 7 * 5 + LEAST(mod(({day}) - {epoch}, 7), 5))"

        def day_of(index: str) -> str:
            return f"({epoch} + (({index}) / 5 * 7 + mod({index}, 5))::int)"

        with connection.cursor() as cursor:
            cursor.execute(
                """
                CREATE TEMP TABLE seed_plan ON COMMIT DROP AS
                SELECT p.*, (SELECT COALESCE(sum(a), 0) FROM unnest(acts[1:done]) a) AS worked
                FROM (SELECT nextval(pg_get_serial_sequence('tasks_task', 'id')) AS id,
                             (%(projects)s::bigint[])[1 + floor(random() * %(n_projects)s)::int] AS project_id,
                             person,
                             1 + floor(random() * 4)::int AS priority,
                             CASE WHEN fate < 0.55 THEN %(k)s
                                  WHEN fate < 0.80 THEN 1 + floor(random() * (%(k)s - 1))::int
                                  ELSE 0 END AS done,
                             ARRAY(SELECT round(e * (0.5 + random() * 1.3)::numeric, 2)
                                   FROM unnest(%(hours)s::numeric[]) e WHERE g.person IS NOT NULL) AS acts,
                             (5 - (person - 1) %% 3)
                                 * exp(0.35 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())) AS pace
                      FROM (SELECT random() AS fate, 1 + floor(random() * %(n_people)s)::int AS person
                            FROM generate_series(1, %(n)s)) g) p
                """,
                {
                    "projects": projects,
                    "n_projects": len(projects),
                    "n_people": len(people),
                    "k": k,
                    "n": n,
                    "hours": hours,
                },
            )
            # Created at a uniform time in the past year such that what was done of it (`worked` hours at
            # `pace`, on working days, from 0-2 working days after creation) ended before today: the tasks that
            # completed on a given day are then a fair sample of all, not the longest ones pushed back to fit.
            # (Calendar span: working days x 7/5, plus the start's delay and a weekend.)
            cursor.execute(
                f"""
                CREATE TEMP TABLE seed_batch ON COMMIT DROP AS
                SELECT b.*, s0 - GREATEST(0, s0 + ceil(worked / pace)::int - 1
                                             - ({weekdays_before("(now() AT TIME ZONE %(tz)s)::date")} - 1)) AS s
                FROM (SELECT p.*, {weekdays_before("(created_at AT TIME ZONE %(tz)s)::date")} + floor(random() * 3)::int
                                  AS s0
                      FROM (SELECT p.*, (%(people)s::bigint[])[person] AS assignee_id,
                                   now() - interval '1 day' * (span + random() * GREATEST(365 - span, 0)) AS created_at
                            FROM (SELECT p.*, CASE WHEN done = 0 THEN 0
                                                   ELSE ceil(worked / pace) * 7 / 5 + 5 END AS span
                                  FROM seed_plan p) p) p) b
                """,  # noqa: S608
                {"people": people, "tz": time_zone},
            )

            def at_work(index: str, fraction: str) -> str:
                """The instant `fraction` of the way through the working day `index` (09:00-17:00 local)."""
                return (
                    f"(({day_of(index)} + interval '9 hours' + interval '8 hours' * ({fraction})) AT TIME ZONE %(tz)s)"
                )

            # Stage `ord` completes x = (hours up to it) / pace working days after the start: on the working day
            # s + ceil(x) - 1, the fraction x - (ceil(x) - 1) of the way through it.
            x = "(cum / b.pace)"
            done_at = at_work(f"b.s + ceil({x})::int - 1", f"{x} - (ceil({x}) - 1)")
            start = at_work("b.s", "0")
            cursor.execute(
                f"""
                INSERT INTO tasks_task (id, project_id, title, description, status, priority, assignee_id,
                    created_by_id, due_date, started_at, completed_at, template_id, created_at, updated_at)
                SELECT id, project_id, initcap(w[1]) || ' ' || w[2] || ' ' || w[3],
                       initcap(w[4]) || ' ' || array_to_string(w[5:9], ' ') || '.',
                       CASE WHEN done = %(k)s THEN 'completed' WHEN done = 0 THEN 'pending' ELSE 'in_progress' END,
                       priority, assignee_id, %(creator)s,
                       (created + interval '1 day' * (3 + floor(random() * 58)))::date,
                       CASE WHEN done > 0 THEN started END,
                       CASE WHEN done = %(k)s THEN finished END,
                       %(template)s, created, created
                FROM (SELECT b.*, ARRAY(SELECT (%(words)s::text[])[1 + floor(random() * %(n_words)s)::int]
                                        FROM generate_series(1, 9) WHERE b.id IS NOT NULL) AS w,
                             {start} AS started,
                             CASE WHEN b.done > 0 THEN LEAST(b.created_at, {start}) ELSE b.created_at END AS created,
                             (SELECT {done_at} FROM (SELECT b.worked AS cum) c) AS finished
                      FROM seed_batch b) seed_words
                """,  # noqa: S608
                {
                    "k": k,
                    "creator": people[0],
                    "template": template_id,
                    "words": WORDS,
                    "n_words": len(WORDS),
                    "tz": time_zone,
                },
            )
            cursor.execute(
                f"""
                INSERT INTO tasks_stage (task_id, "order", name, estimated_hours, actual_hours, status,
                    started_at, completed_at)
                SELECT b.id, s.ord, s.name, s.est,
                       CASE WHEN s.ord <= b.done THEN b.acts[s.ord] END,
                       CASE WHEN s.ord <= b.done THEN 'completed'
                            WHEN s.ord = b.done + 1 AND b.done > 0 THEN 'in_progress'
                            ELSE 'pending' END,
                       CASE WHEN s.ord = 1 AND b.done > 0 THEN {start}
                            WHEN s.ord <= b.done + 1 AND b.done > 0 THEN
                                (SELECT {done_at} FROM (SELECT sum(a) AS cum FROM unnest(b.acts[1:s.ord - 1]) a) c)
                       END,
                       CASE WHEN s.ord <= b.done THEN
                                (SELECT {done_at} FROM (SELECT sum(a) AS cum FROM unnest(b.acts[1:s.ord]) a) c)
                       END
                FROM seed_batch b
                CROSS JOIN unnest(%(names)s::text[], %(hours)s::numeric[]) WITH ORDINALITY AS s(name, est, ord)
                """,  # noqa: S608
                {"names": names, "hours": hours, "tz": time_zone},
            )
            cursor.execute("DROP TABLE seed_plan")
            cursor.execute("DROP TABLE seed_batch")
