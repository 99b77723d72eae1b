"""The dashboard reads a fixed number of queries whatever the number of tasks: the same for 10 and for 10,000,
for the figures, the JSON API and the HTML page."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from analytics.recompute import figures_rebuild, figures_verify
from analytics.selectors import dashboard_figures, dashboard_scope
from tasks.models import Stage, Status, Task
from tasks.tests.api_helpers import api_client
from tasks.tests.factories import ProjectFactory


def _load(project, people, n: int, seed: int = 1) -> None:
    """n tasks with two stages each, bulk-inserted, then the figures rebuilt (a loader, like seed_demo)."""
    rng = random.Random(seed)
    now = timezone.now()
    tasks = []
    for i in range(n):
        created = now - timedelta(days=rng.uniform(0, 200))
        done = rng.random() < 0.5
        tasks.append(
            Task(
                project=project,
                title=f"Task {i}",
                priority=rng.randint(1, 4),
                assignee=rng.choice(people),
                created_by=people[0],
                due_date=(created + timedelta(days=rng.randint(1, 30))).date(),
                status=Status.COMPLETED if done else Status.PENDING,
                started_at=created if done else None,
                completed_at=min(now, created + timedelta(hours=rng.uniform(1, 300))) if done else None,
            )
        )
    tasks = Task.objects.bulk_create(tasks, batch_size=2000)
    stages = []
    for task in tasks:
        for order, name in ((1, "Build"), (2, "Ship")):
            completed = task.completed_at is not None
            stages.append(
                Stage(
                    task=task,
                    order=order,
                    name=name,
                    estimated_hours=Decimal(rng.randint(1, 9)),
                    actual_hours=Decimal(rng.randint(1, 12)) if completed else None,
                    status=Status.COMPLETED if completed else Status.PENDING,
                    started_at=task.completed_at,
                    completed_at=task.completed_at,
                )
            )
    Stage.objects.bulk_create(stages, batch_size=4000)
    figures_rebuild()


def _counts(user, project, team, client) -> dict[str, int]:
    counts = {}
    api = api_client(user)
    api.get("/api/v1/me/")  # the account projection in Redis (accounts/auth_projection.py), read once
    for name, call in (
        ("project figures", lambda: dashboard_figures(dashboard_scope(user, project_id=project.pk))),
        ("team figures", lambda: dashboard_figures(dashboard_scope(user, team_id=team.pk, preset="30"))),
        ("my work figures", lambda: dashboard_figures(dashboard_scope(user))),
        ("api", lambda: api.get(f"/api/v1/dashboard/?project={project.pk}&assignee={user.pk}")),
        ("page", lambda: client.get(f"/dashboard/?project={project.pk}&range=all")),
    ):
        user.__dict__.pop("_aether_roles", None)  # the role cache would hide a query the second time
        with CaptureQueriesContext(connection) as ctx:
            result = call()
        if hasattr(result, "status_code"):
            assert result.status_code == 200, name
        counts[name] = len(ctx.captured_queries)
    return counts


@pytest.mark.slow
@pytest.mark.django_db
def test_the_same_number_of_queries_for_10_and_10000_tasks(team_roles, client):
    team, _other, people = team_roles
    user = people["member"]
    client.force_login(user)
    small, large = ProjectFactory(team=team), ProjectFactory(team=team)
    _load(small, [people["member"], people["admin"]], 10)
    at_10 = _counts(user, small, team, client)
    _load(large, [people["member"], people["admin"]], 10_000, seed=2)
    assert Task.objects.filter(project=large).count() == 10_000
    at_10000 = _counts(user, large, team, client)
    assert at_10 == at_10000
    assert at_10000["project figures"] <= 14, at_10000
    assert figures_verify() == []
