"""A random mix of a few hundred changes through the writers (the services, the API, the archiving job), two
threads at once on their own connections, then analytics_verify finds no difference."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.utils import timezone

from accounts.tests.factories import MembershipFactory, TeamFactory, UserFactory
from aether.testing import run_concurrently
from analytics.recompute import figures_verify
from tasks import services
from tasks.models import Stage, Status, Task
from tasks.services.archiving import completed_tasks_archive
from tasks.tests.api_helpers import api_client
from tasks.tests.factories import ProjectFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def arena():
    """Two teams in different time zones, two projects each, three people."""
    people = [UserFactory(full_name=f"Person {i}") for i in range(3)]
    projects = []
    for zone in ("Pacific/Auckland", "America/Los_Angeles"):
        team = TeamFactory(time_zone=zone)
        for person in people:
            MembershipFactory(team=team, user=person, role="member")
        projects += [ProjectFactory(team=team), ProjectFactory(team=team)]
    return people, projects


def _step(rng: random.Random, people, projects) -> None:
    """One random change through a service (or the API), as a random person; refusals are part of the mix."""
    actor = rng.choice(people)
    task_ids = list(Task.objects.filter(project__in=projects).values_list("pk", flat=True))
    kind = rng.random()
    if kind < 0.2 or not task_ids:
        project = rng.choice(projects)
        stages = [{"name": rng.choice(["Design", "Build", "Test"]), "estimated_hours": rng.randint(1, 8)}]
        services.task_create(
            actor=actor,
            project=project,
            title="Random",
            priority=rng.randint(1, 4),
            assignee=rng.choice([None, *people]),
            due_date=(timezone.now() + timedelta(days=rng.randint(-10, 10))).date() if rng.random() < 0.7 else None,
            stages=stages * rng.randint(0, 3),
        )
        return
    task = Task.objects.select_related("project").get(pk=rng.choice(task_ids))
    stages = list(Stage.objects.filter(task=task).order_by("order"))
    if kind < 0.3:
        services.task_update(
            actor=actor,
            task=task,
            data=rng.choice(
                [
                    {"priority": rng.randint(1, 4)},
                    {"assignee": rng.choice([None, *people])},
                    {"due_date": (timezone.now() + timedelta(days=rng.randint(-5, 5))).date()},
                    {"due_date": None},
                ]
            ),
        )
    elif kind < 0.4:
        services.task_set_status(actor=actor, task=task, status=rng.choice(Status.values))
    elif kind < 0.47:
        services.task_delete(actor=actor, task=task)
    elif kind < 0.52:
        services.task_restore(actor=actor, task=task)
    elif kind < 0.57:
        services.stage_add(actor=actor, task=task, name=rng.choice(["Build", "Review"]), estimated_hours="2.5")
    elif kind < 0.65:
        # through the API, as the mobile client does
        response = api_client(actor).patch(
            f"/api/v1/tasks/{task.pk}/", {"priority": rng.choice(["low", "high"])}, format="json"
        )
        assert response.status_code in (200, 400, 404), response.content
    elif stages:
        stage = rng.choice(stages)
        action = rng.random()
        if action < 0.5:
            services.stage_complete(actor=actor, stage=stage, actual_hours=str(rng.randint(0, 12)))
        elif action < 0.65:
            services.stage_reopen(actor=actor, stage=stage)
        elif action < 0.8:
            services.stage_update(actor=actor, stage=stage, data={"estimated_hours": str(rng.randint(1, 9))})
        elif action < 0.9:
            services.stage_start(actor=actor, stage=stage)
        else:
            services.stage_delete(actor=actor, stage=stage)


def _run(seed: int, steps: int, people, projects) -> int:
    rng = random.Random(seed)
    done = 0
    for _ in range(steps):
        try:
            _step(rng, people, projects)
            done += 1
        except (ValidationError, PermissionDenied, Task.DoesNotExist, Stage.DoesNotExist):
            pass  # a refused change (a rule, or a row another thread just deleted) changes nothing
    return done


def test_a_random_mix_of_changes_in_two_threads_keeps_the_figures_exact(arena, capsys):
    people, projects = arena
    _run(1, 80, people, projects)  # a first population, one thread
    results, errors = run_concurrently(lambda i: _run(100 + i, 150, people, projects), 2, timeout=300)
    assert errors == []
    assert sum(results) > 150  # most changes were accepted
    completed_tasks_archive(now=timezone.now() + timedelta(days=60))  # the archiving job: archived tasks count
    _run(3, 40, people, projects)
    assert Task.objects.filter(archived_at__isnull=False).exists()
    assert Task.objects.filter(deleted_at__isnull=False).exists()
    assert Stage.objects.filter(status=Status.COMPLETED).exists()
    assert figures_verify() == []
    call_command("analytics_verify")
    assert "agree" in capsys.readouterr().out
