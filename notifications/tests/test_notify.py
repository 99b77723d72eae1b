"""Who hears of what, by which channel: preferences honoured, nobody told of their own action, once per event."""

import pytest

from accounts.tests.factories import MembershipFactory, UserFactory
from notifications import delivery, services
from notifications.models import Kind, Notification, NotificationPreference, OutboxEmail
from notifications.tests.backends import CountingBackend
from tasks import services as task_services
from tasks.tests.factories import ProjectFactory, TaskFactory

pytestmark = pytest.mark.django_db


def tell(user, actor, event="task:1:assigned:1", kind=Kind.TASK_ASSIGNED):
    services.notify(kind=kind, user=user, actor=actor, event=event, message="Bob assigned you “X”", url="/tasks/1/")


def test_by_default_both_an_email_and_an_in_app_notification():
    ann, bob = UserFactory(), UserFactory()

    tell(ann, bob)

    assert OutboxEmail.objects.get().recipient == ann.email
    assert Notification.objects.get().user == ann


def test_email_off_writes_no_outbox_row_but_the_in_app_one():
    ann, bob = UserFactory(), UserFactory()
    NotificationPreference.objects.create(user=ann, kind=Kind.TASK_ASSIGNED, email=False, in_app=True)

    tell(ann, bob)

    assert OutboxEmail.objects.count() == 0
    assert Notification.objects.filter(user=ann).count() == 1


def test_in_app_off_writes_no_notification_but_the_email():
    ann, bob = UserFactory(), UserFactory()
    NotificationPreference.objects.create(user=ann, kind=Kind.TASK_ASSIGNED, email=True, in_app=False)

    tell(ann, bob)

    assert Notification.objects.count() == 0
    assert OutboxEmail.objects.filter(recipient=ann.email).count() == 1


def test_a_preference_for_one_kind_leaves_the_others_alone():
    ann, bob = UserFactory(), UserFactory()
    NotificationPreference.objects.create(user=ann, kind=Kind.TASK_ASSIGNED, email=False, in_app=False)

    tell(ann, bob, event="task:1:commented:7", kind=Kind.TASK_COMMENTED)

    assert OutboxEmail.objects.count() == 1
    assert Notification.objects.count() == 1


def test_nobody_is_notified_of_their_own_action():
    ann = UserFactory()

    tell(ann, ann)

    assert OutboxEmail.objects.count() == 0
    assert Notification.objects.count() == 0


def test_an_inactive_user_is_not_notified():
    ann, bob = UserFactory(is_active=False), UserFactory()

    tell(ann, bob)

    assert OutboxEmail.objects.count() == 0
    assert Notification.objects.count() == 0


def test_the_same_event_told_twice_makes_one_email_and_one_notification():
    ann, bob = UserFactory(), UserFactory()

    tell(ann, bob)
    tell(ann, bob)

    assert OutboxEmail.objects.count() == 1
    assert Notification.objects.count() == 1


def test_assigning_a_task_notifies_the_assignee_not_the_assigner():
    owner = MembershipFactory(role="owner").user
    team = owner.memberships.get().team
    member = MembershipFactory(team=team, role="member").user
    project = ProjectFactory(team=team)

    task, _ = task_services.task_create(actor=owner, project=project, title="Write the report", assignee=member)
    task_services.task_create(actor=owner, project=project, title="My own", assignee=owner)

    assert list(OutboxEmail.objects.values_list("recipient", "kind")) == [(member.email, Kind.TASK_ASSIGNED)]
    (note,) = Notification.objects.all()
    assert (note.user, note.actor, note.task) == (member, owner, task)


def test_a_comment_notifies_creator_and_assignee_but_not_the_commenter(settings):
    settings.EMAIL_BACKEND = "notifications.tests.backends.CountingBackend"
    CountingBackend.reset()
    creator, assignee = UserFactory(), UserFactory()
    task = TaskFactory(created_by=creator, assignee=assignee)
    MembershipFactory(team=task.project.team, user=creator, role="member")
    MembershipFactory(team=task.project.team, user=assignee, role="member")

    task_services.comment_create(actor=assignee, task=task, body="Done on my side")

    assert list(Notification.objects.values_list("user", flat=True)) == [creator.pk]
    assert list(OutboxEmail.objects.values_list("recipient", flat=True)) == [creator.email]
    assert OutboxEmail.objects.get().context["comment_body"] == "Done on my side"
    delivery.outbox_deliver()  # the worker renders the email from its kind and context
    (sent,) = CountingBackend.sent
    assert "Done on my side" in sent.body
    assert "Done on my side" in OutboxEmail.objects.get().body_text  # what was sent is kept


def test_preferences_update_stores_each_kind_once_and_refuses_unswitchable_kinds():
    ann = UserFactory()

    services.preferences_update(actor=ann, choices={Kind.TASK_ASSIGNED: (False, True)})
    services.preferences_update(
        actor=ann, choices={Kind.TASK_ASSIGNED: (True, False), Kind.TASK_DUE_SOON: (False, False)}
    )

    assert set(NotificationPreference.objects.values_list("kind", "email", "in_app")) == {
        (Kind.TASK_ASSIGNED, True, False),
        (Kind.TASK_DUE_SOON, False, False),
    }
    with pytest.raises(ValueError, match="password_reset"):
        services.preferences_update(actor=ann, choices={Kind.PASSWORD_RESET: (False, False)})
