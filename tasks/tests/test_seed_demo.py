from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import Membership, Team, User
from notifications.models import OutboxEmail
from tasks.deadlines import deadlines_at
from tasks.models import Activity, Project, Stage, Status, Task, Template

pytestmark = pytest.mark.django_db


def snapshot():
    return {
        "users": sorted(User.objects.values_list("email", flat=True)),
        "memberships": sorted(Membership.objects.values_list("team__name", "user__email", "role")),
        "templates": sorted(
            Template.objects.values_list("team__name", "name", "stages__order", "stages__estimated_hours")
        ),
        "projects": sorted(Project.objects.values_list("team__name", "name")),
        "tasks": sorted(Task.objects.values_list("title", "status", "priority", "due_date", "assignee__email")),
        "stages": Stage.objects.count(),
        "activities": Activity.objects.count(),
    }


def test_seed_demo_twice_gives_the_same_data():
    call_command("seed_demo", stdout=StringIO())
    first = snapshot()
    call_command("seed_demo", stdout=StringIO())
    assert snapshot() == first


def test_demo_people_and_roles():
    call_command("seed_demo", stdout=StringIO())
    assert sorted(Membership.objects.values_list("team__name", "user__email", "role")) == [
        ("Demo", "alice@example.com", "owner"),
        ("Demo", "bob@example.com", "member"),
        ("Demo", "carol@example.com", "viewer"),
        ("Other", "dave@example.com", "owner"),
    ]
    for user in User.objects.all():
        assert user.check_password("aether-demo")


def test_demo_templates_have_the_given_estimates():
    call_command("seed_demo", stdout=StringIO())
    demo = Team.objects.get(name="Demo")
    hours = {
        t.name: [int(s.estimated_hours) for s in t.stages.order_by("order")] for t in Template.objects.filter(team=demo)
    }
    assert hours == {
        "Software Development": [8, 20, 10, 4],
        "Content Creation": [5, 8, 4, 2],
        "Marketing Campaign": [10, 15, 12, 6],
        "Product Launch": [12, 25, 8, 10],
    }


def test_demo_tasks_are_a_realistic_spread_and_coherent():
    call_command("seed_demo", stdout=StringIO())
    demo = Task.objects.filter(project__team__name="Demo")
    assert 50 <= demo.count() <= 70
    assert Project.objects.filter(team__name="Demo").count() == 2
    assert Task.objects.filter(project__team__name="Other").count() >= 3
    by_status = dict(demo.values_list("status").annotate(n=Count("id")))
    assert all(by_status[s] >= 10 for s in Status.values)
    assert len(set(demo.values_list("priority", flat=True))) == 4
    rules = deadlines_at()
    assert demo.overdue(rules).count() >= 3
    assert demo.due_soon(rules).count() >= 3
    # Status follows the stages, and completion is the last stage's.
    for task in demo.prefetch_related("stages"):
        stages = list(task.stages.all())
        done = [s for s in stages if s.status == Status.COMPLETED]
        if task.status == Status.COMPLETED:
            assert len(done) == len(stages)
            assert task.completed_at == max(s.completed_at for s in stages)
        elif task.status == Status.IN_PROGRESS:
            assert any(s.status != Status.PENDING for s in stages)
        else:
            assert all(s.status == Status.PENDING for s in stages)
    # The history reads as it happened: created first, at the task's creation time, events in time order.
    for task in demo.prefetch_related("activities")[:20]:
        history = list(task.activities.all())
        assert (history[0].verb, history[0].created_at) == (Activity.Verb.CREATED, task.created_at)
        assert [a.created_at for a in history] == sorted(a.created_at for a in history)
    actuals = Stage.objects.filter(status=Status.COMPLETED).values_list("actual_hours", "estimated_hours")
    assert any(a > e for a, e in actuals)
    assert any(a < e for a, e in actuals)
    assert not Stage.objects.filter(Q(status=Status.COMPLETED) & Q(actual_hours__lte=Decimal("0"))).exists()


def test_loading_demo_data_sends_no_email():
    call_command("seed_demo", stdout=StringIO())
    assert OutboxEmail.objects.count() == 0


@pytest.mark.parametrize("batch", [7, 500])
def test_generated_tasks_come_with_coherent_stages(batch):
    call_command("seed_demo", tasks=30, batch=batch, stdout=StringIO())
    generated = Task.objects.filter(title__startswith="Generated task")
    assert generated.count() == 30
    assert Stage.objects.filter(task__in=generated).count() == 120
    for task in generated.prefetch_related("stages"):
        statuses = [s.status for s in task.stages.all()]
        if task.status == Status.COMPLETED:
            assert set(statuses) == {Status.COMPLETED}
            assert task.completed_at == max(s.completed_at for s in task.stages.all())
        elif task.status == Status.PENDING:
            assert set(statuses) == {Status.PENDING}
            assert task.started_at is None
        else:
            assert Status.IN_PROGRESS in statuses
            assert task.started_at == task.stages.all()[0].started_at
        assert task.created_at <= timezone.now()
        assert all(s.actual_hours is not None for s in task.stages.all() if s.status == Status.COMPLETED)


def test_negative_task_count_is_refused():
    with pytest.raises(CommandError, match="--tasks"):
        call_command("seed_demo", tasks=-1, stdout=StringIO())
    assert Task.objects.count() == 0
