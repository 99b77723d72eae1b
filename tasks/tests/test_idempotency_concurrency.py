"""The same idempotency key sent by concurrent requests still yields one task (PostgreSQL, real connections)."""

import pytest

from aether.testing import run_concurrently
from tasks import services
from tasks.models import Activity, Task
from tasks.tests.factories import ProjectFactory


@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_with_one_key_make_one_task(team_roles):
    team, _, people = team_roles
    member = people["member"]
    project = ProjectFactory(team=team)
    n = 8

    def create(i):
        task, created = services.task_create(
            actor=member, project=project, title=f"Attempt {i}", idempotency_key="same-key"
        )
        return task.pk, created

    results, errors = run_concurrently(create, n)

    assert errors == []
    assert Task.objects.count() == 1
    winner = Task.objects.get()
    assert sorted(results) == sorted([(winner.pk, True)] + [(winner.pk, False)] * (n - 1))
    assert Activity.objects.filter(task=winner).count() == 1
