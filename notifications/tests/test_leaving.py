"""Leaving a team: nobody outside a team is told anything about its tasks.

A member removed from a team hears nothing more of it: not of comments or completions on tasks they created
or were assigned, not from the deadline jobs, not even an email queued before the removal and delivered
after it. Their open tasks there are unassigned, an Activity row each, and their in-app rows about the team
are gone from the bell and the list.
"""

import importlib.util
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts import services as account_services
from accounts.models import Membership
from accounts.tests.factories import MembershipFactory, TeamFactory
from notifications import delivery, selectors
from notifications.models import Kind, Notification, OutboxEmail, OutboxState
from notifications.services import NOT_A_MEMBER
from notifications.tests.backends import CountingBackend
from tasks import services as task_services
from tasks.models import Activity, Status, Task
from tasks.tests.factories import ProjectFactory, TaskFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def counting_backend(settings):
    settings.EMAIL_BACKEND = "notifications.tests.backends.CountingBackend"
    CountingBackend.reset()
    yield CountingBackend
    CountingBackend.reset()


@pytest.fixture
def team():
    """A team where Lee (leaving) created and was assigned tasks; Ann owns the team, Mo is a member."""
    team = TeamFactory(name="Acme")
    ann = MembershipFactory(team=team, role="owner").user
    mo = MembershipFactory(team=team, role="member").user
    lee = MembershipFactory(team=team, role="member").user
    elsewhere = MembershipFactory(user=lee, role="member").team  # Lee stays in another team
    project = ProjectFactory(team=team)
    today = timezone.localdate()
    tasks = {
        "lee_assigned_overdue": TaskFactory(
            project=project, created_by=lee, assignee=lee, due_date=today - timedelta(days=1)
        ),
        "lee_assigned_due_soon": TaskFactory(project=project, created_by=lee, assignee=lee, due_date=today),
        "lee_created": TaskFactory(project=project, created_by=lee, assignee=mo),
        "lee_did": TaskFactory(
            project=project, created_by=ann, assignee=lee, status=Status.COMPLETED, completed_at=timezone.now()
        ),
    }
    return {"team": team, "ann": ann, "mo": mo, "lee": lee, "elsewhere": elsewhere, "tasks": tasks}


def told(user):
    return (
        OutboxEmail.objects.filter(user=user).exclude(status=OutboxState.DEAD).count(),
        Notification.objects.filter(user=user).count(),
    )


def sent_to(backend, user):
    return [m for m in backend.sent if m.to == [user.email]]


def test_before_leaving_a_comment_reaches_the_task_creator(team):
    """The arrangement works: while Lee is a member, a comment on the task Lee created reaches Lee."""
    task_services.comment_create(actor=team["mo"], task=team["tasks"]["lee_created"], body="On it")

    assert told(team["lee"]) == (1, 1)


def test_leaving_unassigns_open_tasks_with_an_activity_each_and_keeps_finished_work(team):
    t, ann, lee = team["tasks"], team["ann"], team["lee"]
    elsewhere_task = TaskFactory(project=ProjectFactory(team=team["elsewhere"]), created_by=lee, assignee=lee)

    account_services.membership_remove(actor=ann, team=team["team"], user=lee)

    for name in ("lee_assigned_overdue", "lee_assigned_due_soon"):
        t[name].refresh_from_db()
        assert t[name].assignee is None
        (activity,) = Activity.objects.filter(task=t[name])
        assert (activity.actor, activity.verb, activity.field, activity.old_value, activity.new_value) == (
            ann,
            Activity.Verb.ASSIGNED,
            "assignee",
            lee.pk,
            None,
        )
    t["lee_did"].refresh_from_db()
    elsewhere_task.refresh_from_db()
    assert t["lee_did"].assignee == lee  # who did the work stays true
    assert elsewhere_task.assignee == lee  # another team's task is not this team's business
    assert not Activity.objects.filter(task__in=[t["lee_did"], t["lee_created"], elsewhere_task]).exists()
    assert not Membership.objects.filter(team=team["team"], user=lee).exists()


def test_after_leaving_comments_and_completions_tell_the_leaver_nothing(team, counting_backend):
    t, mo, lee = team["tasks"], team["mo"], team["lee"]
    account_services.membership_remove(actor=team["ann"], team=team["team"], user=lee)

    task_services.comment_create(actor=mo, task=t["lee_created"], body="The secret plan, in detail")
    task_services.task_complete(actor=mo, task=t["lee_created"])
    delivery.outbox_deliver()

    assert told(lee) == (0, 0)
    assert sent_to(counting_backend, lee) == []
    assert Activity.objects.filter(task=t["lee_created"], verb=Activity.Verb.COMPLETED).count() == 1


def test_an_email_queued_before_leaving_and_delivered_after_it_is_not_sent_and_says_why(team, counting_backend):
    lee = team["lee"]
    task_services.comment_create(actor=team["mo"], task=team["tasks"]["lee_created"], body="Before you go")
    queued = OutboxEmail.objects.get(user=lee)
    assert queued.status == OutboxState.PENDING

    account_services.membership_remove(actor=team["ann"], team=team["team"], user=lee)
    report = delivery.outbox_deliver()  # the real delivery, after the removal committed

    queued.refresh_from_db()
    assert (queued.status, queued.last_error, queued.sent_at) == (OutboxState.DEAD, NOT_A_MEMBER, None)
    assert sent_to(counting_backend, lee) == []
    assert report.sent == 0


def test_the_worker_checks_again_before_sending_whatever_removed_the_membership(team, counting_backend):
    """The row was queued while Lee was a member, and the membership went some other way (deleted in the
    database, or while a worker held the row): the worker, just before sending, withholds it."""
    lee, mo = team["lee"], team["mo"]
    task_services.comment_create(actor=mo, task=team["tasks"]["lee_created"], body="Before you go")
    task_services.comment_create(actor=lee, task=team["tasks"]["lee_created"], body="Noted")  # tells Mo
    Membership.objects.filter(team=team["team"], user=lee).delete()  # around the service: nothing withdrawn

    report = delivery.outbox_deliver()

    row = OutboxEmail.objects.get(user=lee)
    assert (row.status, row.last_error, row.attempts) == (OutboxState.DEAD, NOT_A_MEMBER, 0)
    assert (report.sent, report.withheld) == (1, 1)
    assert [m.to for m in counting_backend.sent] == [[mo.email]]


def test_the_leavers_in_app_notifications_about_the_team_are_gone_and_others_stay(team):
    lee = team["lee"]
    task_services.comment_create(actor=team["mo"], task=team["tasks"]["lee_created"], body="Before you go")
    other_team_task = TaskFactory(project=ProjectFactory(team=team["elsewhere"]), created_by=lee)
    mate = MembershipFactory(team=team["elsewhere"]).user
    task_services.comment_create(actor=mate, task=other_team_task, body="Hello from elsewhere")
    assert selectors.unread_count(lee) == 2

    account_services.membership_remove(actor=team["ann"], team=team["team"], user=lee)

    assert selectors.unread_count(lee) == 1
    assert [n.task_id for n in selectors.notifications_for(lee)] == [other_team_task.pk]


@pytest.mark.xfail(
    importlib.util.find_spec("notifications.deadlines") is not None,
    strict=True,
    reason="notifications/deadlines.py writes its rows in SQL without the audience check; the deadline jobs "
    "move into tasks and call notify_many (issue 9, Rooms), and this test then holds",
)
def test_after_leaving_the_deadline_jobs_tell_the_leaver_nothing(team, counting_backend):
    from tasks import tasks as jobs

    lee = team["lee"]
    account_services.membership_remove(actor=team["ann"], team=team["team"], user=lee)

    jobs.notify_overdue()
    jobs.notify_due_soon()
    delivery.outbox_deliver()

    assert told(lee) == (0, 0)
    assert sent_to(counting_backend, lee) == []


def test_removing_someone_who_is_not_a_member_changes_nothing(team):
    outsider = MembershipFactory().user
    before = (OutboxEmail.objects.count(), Notification.objects.count(), Activity.objects.count())

    account_services.membership_remove(actor=team["ann"], team=team["team"], user=outsider)

    assert (OutboxEmail.objects.count(), Notification.objects.count(), Activity.objects.count()) == before
    assert Membership.objects.filter(user=outsider).count() == 1


def test_a_refused_removal_leaves_tasks_and_notifications_as_they_were(team):
    lee, ann = team["lee"], team["ann"]
    task_services.comment_create(actor=team["mo"], task=team["tasks"]["lee_created"], body="Hi")

    with pytest.raises(PermissionDenied):
        account_services.membership_remove(actor=team["mo"], team=team["team"], user=lee)  # a member may not
    with pytest.raises(ValidationError, match="owner"):
        account_services.membership_remove(actor=ann, team=team["team"], user=ann)  # the last owner

    assert told(lee) == (1, 1)
    assert Task.objects.filter(assignee=lee).count() == 3
    assert Membership.objects.filter(team=team["team"]).count() == 3
    assert Kind.TASK_COMMENTED in OutboxEmail.objects.values_list("kind", flat=True)
