from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from accounts.demo import DEMO_PEOPLE
from accounts.models import Membership, Team, User
from notifications.models import Kind, Notification, OutboxEmail
from tasks.deadlines import deadlines_at
from tasks.models import Activity, Comment, DeadlineNotice, Project, Stage, Status, Task, Template

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
        ("Demo", "admin@example.com", "admin"),
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
    demo = Task.objects.filter(project__team__name="Demo").exclude(idempotency_key__startswith="seed-demo-history-")
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


def test_the_demo_team_has_a_year_of_finished_work_on_working_days():
    from analytics.forecasts.backtest import backtest

    call_command("seed_demo", stdout=StringIO())
    history = Task.objects.filter(idempotency_key__startswith="seed-demo-history-")
    assert 100 <= history.count() <= 120
    assert set(history.values_list("status", flat=True)) == {Status.COMPLETED}
    stages = Stage.objects.filter(task__in=history)
    assert not stages.filter(completed_at__week_day__in=[1, 7]).exists()  # Sunday, Saturday
    assert history.earliest("started_at").started_at < timezone.now() - timedelta(days=300)
    result = backtest(Team.objects.get(name="Demo").pk)
    assert result.replayed >= 100  # docs/forecasts.md: the calibration on this data


def test_loading_demo_data_emails_only_what_the_scheduled_jobs_send():
    call_command("seed_demo", stdout=StringIO())
    kinds = set(OutboxEmail.objects.values_list("kind", flat=True))
    assert kinds == {Kind.TASK_OVERDUE, Kind.TASK_DUE_SOON}
    assert set(OutboxEmail.objects.values_list("recipient", flat=True)) <= {p[0] for p in DEMO_PEOPLE}


def test_the_demo_tells_the_story_of_jobs_that_have_been_running():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    alice, bob = User.objects.get(email="alice@example.com"), User.objects.get(email="bob@example.com")
    overdue = Task.objects.alive().filter(deadlines_at().overdue())
    # Every overdue task's assignee has its notice, in the app, as the overdue job writes them.
    for task in overdue:
        assert Notification.objects.filter(user=task.assignee, task=task, kind=Kind.TASK_OVERDUE).exists()
    assert DeadlineNotice.objects.filter(kind="overdue").count() == overdue.count() > 0
    assert Notification.objects.filter(kind=Kind.TASK_DUE_SOON, user__in=[alice, bob]).exists()
    cutoff = timezone.now() - timedelta(days=30)
    archived = Task.objects.filter(archived_at__isnull=False)
    assert archived.count() == Task.objects.filter(completed_at__lt=cutoff).count() > 0
    assert Activity.objects.filter(verb=Activity.Verb.ARCHIVED).count() == archived.count()
    assert Comment.objects.filter(body__contains="@alice").exists()
    admin = User.objects.get(email="admin@example.com")
    assert admin.is_staff
    assert admin.is_superuser
    assert admin.check_password("aether-demo")
    assert "admin@example.com" in out.getvalue()
    # A second run neither notifies again nor archives again.
    counts = (Notification.objects.count(), OutboxEmail.objects.count(), archived.count(), Comment.objects.count())
    call_command("seed_demo", stdout=StringIO())
    assert (
        Notification.objects.count(),
        OutboxEmail.objects.count(),
        archived.count(),
        Comment.objects.count(),
    ) == counts


def test_the_staff_demo_login_opens_django_admin_in_a_local_run(client, settings):
    settings.AETHER_STAFF_SECOND_FACTOR = False  # `make run`'s debug mode: the demo admin is exempt
    call_command("seed_demo", stdout=StringIO())
    client.post(reverse("accounts:login"), {"username": "admin@example.com", "password": "aether-demo"})
    assert client.get("/admin/").status_code == 200


def test_a_deployment_asks_the_staff_demo_login_for_a_second_factor(client):
    call_command("seed_demo", stdout=StringIO())
    client.post(reverse("accounts:login"), {"username": "admin@example.com", "password": "aether-demo"})
    assert client.get("/admin/", follow=True).redirect_chain[-1][0].startswith(reverse("accounts:second_factor"))


def test_the_sign_in_page_lists_the_demo_logins_in_debug_mode_only(client, settings):
    call_command("seed_demo", stdout=StringIO())
    settings.DEBUG = True
    page = client.get(reverse("accounts:login")).content.decode()
    assert 'id="demo-logins"' in page
    for email, *_ in DEMO_PEOPLE:
        assert email in page
    settings.DEBUG = False
    assert 'id="demo-logins"' not in client.get(reverse("accounts:login")).content.decode()


@pytest.mark.parametrize("batch", [7, 500])
def test_generated_tasks_come_with_coherent_stages(batch):
    call_command("seed_demo", tasks=30, batch=batch, stdout=StringIO())
    generated = Task.objects.filter(idempotency_key__isnull=True)  # demo tasks have keys
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
