"""Archiving completed tasks after AETHER_ARCHIVE_AFTER_DAYS: which tasks, the audit row, batches, idempotence,
and the periodic-task set-up and `run_job` command that drive the scheduled jobs."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from accounts.tests.factories import MembershipFactory
from tasks.models import Activity, Status, Task
from tasks.services.archiving import completed_tasks_archive
from tasks.tests.factories import TaskFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 10, 3, 0, tzinfo=UTC)


def completed(days_ago: float, **fields) -> Task:
    return TaskFactory(status=Status.COMPLETED, completed_at=NOW - timedelta(days=days_ago), **fields)


def test_tasks_completed_more_than_thirty_days_ago_are_archived_with_a_system_activity():
    old = completed(31)
    recent = completed(29)
    just_inside = completed(29.9)
    open_task = TaskFactory(status=Status.PENDING)
    in_progress = TaskFactory(status=Status.IN_PROGRESS)

    run = completed_tasks_archive(now=NOW)

    assert (run.archived, run.batches) == (1, 1)
    old.refresh_from_db()
    assert old.archived_at == NOW
    assert old.updated_at == NOW
    activity = Activity.objects.get()
    assert (activity.task_id, activity.actor_id, activity.verb) == (old.pk, None, Activity.Verb.ARCHIVED)
    for task in (recent, just_inside, open_task, in_progress):
        task.refresh_from_db()
        assert task.archived_at is None


def test_a_trashed_completed_task_is_archived_too():
    trashed = completed(40, deleted_at=NOW - timedelta(days=35))

    assert completed_tasks_archive(now=NOW).archived == 1

    trashed.refresh_from_db()
    assert trashed.archived_at == NOW
    assert trashed.deleted_at == NOW - timedelta(days=35)  # still in the trash


def test_archiving_twice_archives_nothing_twice():
    before = NOW - timedelta(days=1)
    already = completed(90, archived_at=before)
    completed(31)
    completed_tasks_archive(now=NOW)

    second = completed_tasks_archive(now=NOW + timedelta(days=1))

    assert second.archived == 0
    already.refresh_from_db()
    assert already.archived_at == before
    assert Activity.objects.count() == 1


def test_the_backlog_goes_in_batches_oldest_first():
    tasks = [completed(31 + i) for i in range(5)]

    run = completed_tasks_archive(now=NOW, batch=2)

    assert (run.archived, run.batches) == (5, 3)
    assert Task.objects.filter(archived_at=NOW).count() == 5
    assert sorted(Activity.objects.values_list("task_id", flat=True)) == sorted(t.pk for t in tasks)


def test_the_cut_off_is_configurable(settings):
    settings.AETHER_ARCHIVE_AFTER_DAYS = 7
    week_old = completed(8)
    completed(6)

    assert completed_tasks_archive(now=NOW).archived == 1
    assert Task.objects.get(archived_at__isnull=False) == week_old
    assert completed_tasks_archive(now=NOW, days=5).archived == 1


# --- the schedule and the command ----------------------------------------------------------------------------


def test_setup_periodic_tasks_creates_every_job_once_and_keeps_admin_changes():
    call_command("setup_periodic_tasks", stdout=StringIO())

    jobs = {p.name: p for p in PeriodicTask.objects.select_related("interval")}
    assert {name: (p.task, p.interval.every, p.interval.period) for name, p in jobs.items()} == {
        "Outbox sweep": ("notifications.deliver_outbox", 60, "seconds"),
        "Batches and digests": ("notifications.merge_held", 60, "seconds"),
        "Overdue detection": ("tasks.notify_overdue", 900, "seconds"),
        "Due-soon reminders": ("tasks.notify_due_soon", 3600, "seconds"),
        "Repeating tasks": ("tasks.create_recurring_occurrences", 900, "seconds"),
        "Archive completed tasks": ("tasks.archive_completed", 86400, "seconds"),
        "Trim the sync change log": ("sync.trim_changes", 86400, "seconds"),
        "Daily forecasts": ("analytics.forecasts_daily", 900, "seconds"),
    }
    assert all(p.description and p.enabled for p in jobs.values())
    assert jobs["Overdue detection"].expire_seconds == 900

    # An admin makes overdue detection run every 5 minutes; running the command again keeps that.
    five, _ = IntervalSchedule.objects.get_or_create(every=300, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.filter(name="Overdue detection").update(interval=five)
    call_command("setup_periodic_tasks", stdout=StringIO())

    assert PeriodicTask.objects.count() == len(jobs)
    assert PeriodicTask.objects.get(name="Overdue detection").interval.every == 300


def test_the_scheduled_task_names_are_registered_with_celery():
    from aether.celery import app

    call_command("setup_periodic_tasks", stdout=StringIO())
    app.loader.import_default_modules()
    for name in PeriodicTask.objects.values_list("task", flat=True):
        assert name in app.tasks


def test_run_job_runs_each_job_now():
    for task in (
        TaskFactory(due_date=datetime.now(UTC).date() - timedelta(days=2)),
        TaskFactory(due_date=datetime.now(UTC).date()),
    ):
        MembershipFactory(team=task.project.team, user=task.created_by)  # the one told
    completed(400)

    out = StringIO()
    for job in ("overdue", "due_soon", "archive", "digests", "recurring"):
        call_command("run_job", job, stdout=out)

    assert out.getvalue().splitlines() == [
        "overdue: 1 tasks notified (1 emails queued, 1 in-app notifications)",
        "due_soon: 1 tasks notified (1 emails queued, 1 in-app notifications)",
        "archive: 1 tasks archived in 1 batches",
        "digests: 0 batch emails, 0 single emails released, 0 digests (0 emails merged, 0 withheld)",
        "recurring: 0 occurrences made for 0 series due (0 held at the bound, 0 busy, 0 failed)",
    ]


def test_run_job_refuses_an_unknown_job_clearly():
    with pytest.raises(
        CommandError,
        match=r"Unknown job 'overdu'\. Choose one of: overdue, due_soon, archive, digests, recurring, sync_trim\.",
    ):
        call_command("run_job", "overdu")


def test_a_batch_is_reported_to_the_task_row_observers_in_its_transaction():
    from tasks.changes import observer_register, observer_unregister

    seen = []

    class Recorder:
        def snapshot(self, task_ids):
            return {pk: Task.objects.get(pk=pk).archived_at for pk in task_ids}

        def apply(self, task_ids, before):
            seen.append((sorted(task_ids), before, {pk: Task.objects.get(pk=pk).archived_at for pk in task_ids}))

    old, older = completed(31), completed(40)
    recorder = Recorder()
    observer_register(recorder)
    try:
        completed_tasks_archive(now=NOW, batch=10)
    finally:
        observer_unregister(recorder)

    ids = sorted([old.pk, older.pk])
    assert seen == [(ids, {older.pk: None, old.pk: None}, {older.pk: NOW, old.pk: NOW})]
