"""Every rule the schema enforces: a violating write is refused by the database itself, even one that
bypasses the services, and nothing else changes."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Invitation, Membership, User
from accounts.tests.factories import MembershipFactory, TeamFactory, UserFactory
from notifications.models import NotificationPreference, OutboxEmail
from tasks.models import DeadlineNotice, Label, Project, Stage, Status, Task, TemplateStage
from tasks.tests.factories import (
    LabelFactory,
    ProjectFactory,
    StageFactory,
    TaskFactory,
    TemplateFactory,
    TemplateStageFactory,
)

pytestmark = pytest.mark.django_db


def refused(write):
    with pytest.raises(IntegrityError), transaction.atomic():
        write()


def test_user_email_is_unique_and_lower_case():
    UserFactory(email="ann@example.test")
    refused(lambda: User.objects.bulk_create([User(email="ann@example.test")]))
    refused(lambda: User.objects.bulk_create([User(email="Ann@Example.test")]))
    assert User.objects.count() == 1


def test_sign_in_lookup_ignores_case():
    user = User.objects.create_user(email="Bea@Example.TEST", password="x-long-password")
    assert user.email == "bea@example.test"
    assert User.objects.get_by_natural_key("  BEA@example.test ") == user


def test_one_membership_per_team_and_user_and_a_known_role():
    m = MembershipFactory()
    refused(lambda: Membership.objects.create(team=m.team, user=m.user, role="member"))
    refused(lambda: Membership.objects.create(team=m.team, user=UserFactory(), role="superhero"))
    assert Membership.objects.count() == 1


def test_one_open_invitation_per_email_and_team():
    team = TeamFactory()
    later = timezone.now() + timedelta(days=7)
    Invitation.objects.create(team=team, email="new@example.test", expires_at=later)
    refused(lambda: Invitation.objects.create(team=team, email="new@example.test", expires_at=later))
    refused(lambda: Invitation.objects.create(team=team, email="UPPER@example.test", expires_at=later))
    Invitation.objects.filter(team=team).update(accepted_at=timezone.now())
    Invitation.objects.create(team=team, email="new@example.test", expires_at=later)  # after acceptance: allowed
    assert Invitation.objects.count() == 2


def test_project_label_and_template_names_unique_per_team_ignoring_case():
    team = TeamFactory()
    ProjectFactory(team=team, name="Web")
    LabelFactory(team=team, name="bug")
    TemplateFactory(team=team, name="Flow")
    refused(lambda: Project.objects.create(team=team, name="WEB"))
    refused(lambda: Label.objects.create(team=team, name="Bug"))
    refused(lambda: TemplateFactory(team=team, name="flow"))
    refused(lambda: Label.objects.create(team=team, name="red", color="red"))
    ProjectFactory(team=TeamFactory(), name="Web")  # another team may
    assert Project.objects.count() == 2


@pytest.mark.parametrize(
    "change",
    [
        {"status": "overdue"},
        {"priority": 7},
        {"title": ""},
        {"status": Status.COMPLETED},  # completed without completed_at
        {"completed_at": timezone.now()},  # completed_at on a pending task
    ],
)
def test_task_rows_must_be_coherent(change):
    task = TaskFactory()
    refused(lambda: Task.objects.filter(pk=task.pk).update(**change))
    fresh = Task.objects.get(pk=task.pk)
    assert (fresh.status, fresh.priority, fresh.title, fresh.completed_at) == (
        task.status,
        task.priority,
        task.title,
        None,
    )


def test_idempotency_key_unique_per_creator_only_when_given():
    user = UserFactory()
    TaskFactory(created_by=user, idempotency_key="k")
    refused(lambda: TaskFactory(created_by=user, idempotency_key="k"))
    TaskFactory(created_by=user, idempotency_key=None)
    TaskFactory(created_by=user, idempotency_key=None)
    TaskFactory(idempotency_key="k")  # another creator
    assert Task.objects.count() == 4


@pytest.mark.parametrize(
    "change",
    [
        {"estimated_hours": Decimal("0")},
        {"estimated_hours": Decimal("-1")},
        {"actual_hours": Decimal("-0.5")},
        {"status": "done"},
        {"status": Status.COMPLETED},  # completed without actual hours
    ],
)
def test_stage_rows_must_be_coherent(change):
    stage = StageFactory()
    refused(lambda: Stage.objects.filter(pk=stage.pk).update(**change))
    fresh = Stage.objects.get(pk=stage.pk)
    assert (fresh.status, fresh.estimated_hours, fresh.actual_hours) == (Status.PENDING, Decimal("4.00"), None)


def test_stage_order_unique_within_a_task():
    stage = StageFactory(order=1)
    refused(lambda: StageFactory(task=stage.task, order=1))
    StageFactory(order=1)  # another task
    assert Stage.objects.count() == 2


def test_template_stage_rules():
    ts = TemplateStageFactory(order=1)
    refused(lambda: TemplateStageFactory(template=ts.template, order=1))
    refused(lambda: TemplateStage.objects.filter(pk=ts.pk).update(estimated_hours=0))
    assert TemplateStage.objects.get(pk=ts.pk).estimated_hours == Decimal("2.00")


def test_outbox_rules():
    now = timezone.now()
    OutboxEmail.objects.create(
        recipient="a@example.test", subject="s", kind="task_assigned", dedupe_key="e1", next_attempt_at=now
    )
    refused(
        lambda: OutboxEmail.objects.create(
            recipient="b@example.test", subject="s", kind="task_assigned", dedupe_key="e1", next_attempt_at=now
        )
    )
    refused(lambda: OutboxEmail.objects.filter(dedupe_key="e1").update(status="sent"))  # sent without sent_at
    refused(lambda: OutboxEmail.objects.filter(dedupe_key="e1").update(kind="spam"))
    assert OutboxEmail.objects.get().status == "pending"


def test_deadline_notice_once_per_task_kind_and_due_date():
    task = TaskFactory()
    day = timezone.localdate()
    DeadlineNotice.objects.create(task=task, kind="overdue", due_date=day)
    refused(lambda: DeadlineNotice.objects.create(task=task, kind="overdue", due_date=day))
    DeadlineNotice.objects.create(task=task, kind="overdue", due_date=day - timedelta(days=1))  # a moved date
    DeadlineNotice.objects.create(task=task, kind="due_soon", due_date=day)
    assert DeadlineNotice.objects.count() == 3


def test_preferences_one_per_user_and_switchable_kind():
    user = UserFactory()
    NotificationPreference.objects.create(user=user, kind="task_assigned", email=False)
    refused(lambda: NotificationPreference.objects.create(user=user, kind="task_assigned"))
    refused(lambda: NotificationPreference.objects.create(user=user, kind="password_reset", email=False))
    assert NotificationPreference.objects.count() == 1
