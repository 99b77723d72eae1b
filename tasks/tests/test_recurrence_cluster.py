"""The cluster check of the recurrence job (as tasks/tests/test_scheduler_cluster.py does for overdue detection):
two `celery beat` processes and two workers, on PostgreSQL and a private Redis, run the job every second while
series come due under them. Each date of each series becomes exactly one task. Bounded: 90 s."""

import re
import time
from datetime import timedelta

import pytest

from accounts.models import Membership
from accounts.tests.factories import TeamFactory, UserFactory
from notifications.models import Notification
from tasks.deadlines import deadlines_at
from tasks.models import Occurrence, Recurrence, Task
from tasks.tests.factories import ProjectFactory
from tasks.tests.test_scheduler_cluster import (
    DEADLINE_SECONDS,
    _stop,
    _wait_for,
    broker_url,
    processes,
    start_cluster,
)

__all__ = ["broker_url", "processes"]  # the cluster test's fixtures, used here


@pytest.mark.slow
def test_two_beats_and_two_workers_make_each_occurrence_exactly_once(processes, broker_url, tmp_path):
    until = time.monotonic() + DEADLINE_SECONDS

    team = TeamFactory(time_zone="Pacific/Auckland")
    today = deadlines_at().today(team.time_zone)
    project = ProjectFactory(team=team)
    users = UserFactory.create_batch(4)
    Membership.objects.bulk_create(Membership(team=team, user=u) for u in users)
    start = today - timedelta(days=3)
    sources = Task.objects.bulk_create(
        Task(project=project, title=f"Series {i}", created_by=users[i % 4], assignee=users[(i + 1) % 4], due_date=start)
        for i in range(101)
    )
    canary, *series = sources
    # Daily from three days ago (the source is that day's); not due yet: their next date is a month away.
    Recurrence.objects.bulk_create(
        Recurrence(task=t, rule="FREQ=DAILY", starts_on=start, next_on=today + timedelta(days=30)) for t in series
    )
    Recurrence.objects.create(task=canary, rule="FREQ=DAILY", starts_on=start, next_on=today)
    ids = [t.pk for t in series]

    logs = start_cluster(processes, broker_url, tmp_path, job="Repeating tasks", name="recurring-cluster")

    _wait_for(
        lambda: Occurrence.objects.filter(recurrence__task=canary).exists(),
        until=until,
        what="the first run",
        logs=logs,
    )

    # Five batches of 20 series come due, one every 1.5 s: three dates each (two days ago, yesterday, today).
    for first in range(0, 100, 20):
        Recurrence.objects.filter(task_id__in=ids[first : first + 20]).update(next_on=today - timedelta(days=2))
        time.sleep(1.5)

    expected = 1 + 100 * 3
    _wait_for(lambda: Occurrence.objects.count() >= expected, until=until, what="every occurrence", logs=logs)
    time.sleep(3)  # more runs over series already made: they must add nothing
    for proc in reversed(processes):
        _stop(proc)

    assert Occurrence.objects.count() == expected
    made = Task.objects.filter(occurrence__isnull=False)
    assert made.count() == expected
    assert made.values("title", "due_date").distinct().count() == expected
    for task_id in ids:
        assert sorted(
            Task.objects.filter(occurrence__recurrence__task_id=task_id).values_list("due_date", flat=True)
        ) == [
            today - timedelta(days=2),
            today - timedelta(days=1),
            today,
        ]
    assert Notification.objects.filter(task__in=made).count() == expected
    assert set(Recurrence.objects.values_list("next_on", flat=True)) == {today + timedelta(days=1)}

    beat_sends = [len(re.findall(r"Sending due task Repeating tasks", log.read_text())) for log in logs[:2]]
    runs = [
        len(re.findall(r"Task tasks\.create_recurring_occurrences\[[^\]]+\] succeeded", log.read_text()))
        for log in logs[2:]
    ]
    assert all(n >= 1 for n in beat_sends), beat_sends
    assert sum(runs) >= 5, runs
