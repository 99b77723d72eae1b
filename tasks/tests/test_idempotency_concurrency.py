"""The same idempotency key sent by concurrent requests still yields one task (PostgreSQL, real connections)."""

import threading

import pytest
from django.db import connection

from tasks import services
from tasks.models import Activity, Task
from tasks.tests.factories import ProjectFactory


@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_with_one_key_make_one_task(team_roles):
    team, _, people = team_roles
    member = people["member"]
    project = ProjectFactory(team=team)
    n = 8
    barrier = threading.Barrier(n)
    results, errors = [], []

    def create(i):
        try:
            barrier.wait(timeout=10)
            task, created = services.task_create(
                actor=member, project=project, title=f"Attempt {i}", idempotency_key="same-key"
            )
            results.append((task.pk, created))
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    assert errors == []
    assert Task.objects.count() == 1
    winner = Task.objects.get()
    assert sorted(results) == sorted([(winner.pk, True)] + [(winner.pk, False)] * (n - 1))
    assert Activity.objects.filter(task=winner).count() == 1
