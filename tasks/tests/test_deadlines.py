"""Overdue notices and due-soon reminders: who is told, when, by which channel, and never twice.

Every test stands at a fixed instant passed to the service (`now=`), so "today" per time zone is exact
without freezing the clock for anything else.
"""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core import mail

from accounts.models import Membership
from accounts.tests.factories import TeamFactory, UserFactory
from notifications.delivery import outbox_deliver
from notifications.models import Kind, Notification, NotificationPreference, OutboxEmail
from tasks.models import DeadlineNotice, Status, Task
from tasks.services import deadline_notices as deadlines
from tasks.tests.factories import ProjectFactory, TaskFactory

pytestmark = pytest.mark.django_db

# 11:30 UTC on Monday 10 March 2025: already Tuesday 11 March 00:30 in Auckland (UTC+13, summer time),
# still Monday 10 March 04:30 in Los Angeles (UTC-7, summer time since 9 March).
NOW = datetime(2025, 3, 10, 11, 30, tzinfo=UTC)
TODAY = date(2025, 3, 10)
YESTERDAY = TODAY - timedelta(days=1)


def task_in(tz="UTC", **fields):
    """A task in a new team of time zone `tz`, whose assignee and creator are members of that team."""
    project = ProjectFactory(team=TeamFactory(time_zone=tz))
    task = TaskFactory(project=project, **fields)
    for user in {task.assignee, task.created_by} - {None}:
        Membership.objects.get_or_create(team=project.team, user=user)
    return task


def counts():
    return DeadlineNotice.objects.count(), OutboxEmail.objects.count(), Notification.objects.count()


def test_an_overdue_task_notifies_its_assignee_once_by_email_and_in_app():
    assignee = UserFactory(email="ann@example.test", full_name="Ann Smith")
    task = task_in(title="Ship it", due_date=YESTERDAY, assignee=assignee)

    run = deadlines.overdue_notify(now=NOW)

    assert (run.claimed, run.emails, run.in_app, run.skipped) == (1, 1, 1, False)
    notice = DeadlineNotice.objects.get()
    assert (notice.task_id, notice.kind, notice.due_date) == (task.pk, "overdue", YESTERDAY)
    email = OutboxEmail.objects.get()
    assert email.recipient == "ann@example.test"
    assert email.user_id == assignee.pk
    assert email.task_id == task.pk
    assert email.kind == Kind.TASK_OVERDUE
    assert email.status == OutboxEmail.State.PENDING
    assert email.body_text == ""  # rendered by the delivery worker
    # A placeholder until the worker renders the email ("Overdue: Ship it", see the delivery test below).
    assert email.subject == "“Ship it” was due on 9 Mar 2025 and is overdue."
    assert email.dedupe_key == f"task:{task.pk}:overdue:2025-03-09:{assignee.pk}"
    assert email.context == {
        "recipient_name": "Ann",
        "actor_name": "Aether",
        "message": "“Ship it” was due on 9 Mar 2025 and is overdue.",
        "url": f"/tasks/{task.pk}/",
        "task_title": "Ship it",
        "due_date": "2025-03-09",
    }
    bell = Notification.objects.get()
    assert (bell.user_id, bell.kind, bell.task_id, bell.actor_id) == (assignee.pk, Kind.TASK_OVERDUE, task.pk, None)
    assert bell.message == "“Ship it” was due on 9 Mar 2025 and is overdue."
    assert bell.url == f"/tasks/{task.pk}/"
    assert bell.dedupe_key == email.dedupe_key

    again = deadlines.overdue_notify(now=NOW + timedelta(hours=5))
    assert (again.claimed, again.emails, again.in_app) == (0, 0, 0)
    assert counts() == (1, 1, 1)


def test_without_an_assignee_the_creator_is_told():
    creator = UserFactory()
    task = task_in(due_date=YESTERDAY, assignee=None, created_by=creator)

    deadlines.overdue_notify(now=NOW)

    assert OutboxEmail.objects.get().user_id == creator.pk
    assert Notification.objects.get().user_id == creator.pk
    assert DeadlineNotice.objects.get().task_id == task.pk


def test_recipient_name_falls_back_to_the_email_address():
    task_in(due_date=YESTERDAY, assignee=UserFactory(email="nameless@example.test", full_name=""))

    deadlines.overdue_notify(now=NOW)

    assert OutboxEmail.objects.get().context["recipient_name"] == "nameless@example.test"


def test_completed_deleted_archived_undated_and_not_yet_due_tasks_are_not_overdue():
    task_in(due_date=YESTERDAY, status=Status.COMPLETED, completed_at=NOW - timedelta(days=2))
    task_in(due_date=YESTERDAY, deleted_at=NOW - timedelta(days=1))
    task_in(due_date=YESTERDAY, status=Status.COMPLETED, completed_at=NOW, archived_at=NOW)
    task_in(due_date=YESTERDAY, archived_at=NOW)  # archived by hand while open: out of sight, out of mind
    task_in(due_date=None)
    task_in(due_date=TODAY)  # due today: not overdue until the day is over
    task_in(due_date=TODAY + timedelta(days=3))

    run = deadlines.overdue_notify(now=NOW)

    assert (run.claimed, run.emails, run.in_app) == (0, 0, 0)
    assert counts() == (0, 0, 0)


def test_in_progress_tasks_are_overdue_too():
    task = task_in(due_date=YESTERDAY, status=Status.IN_PROGRESS)

    assert deadlines.overdue_notify(now=NOW).claimed == 1
    assert DeadlineNotice.objects.get().task_id == task.pk


def test_today_is_judged_in_each_teams_time_zone():
    # 10 March is over in Auckland but still running in Los Angeles.
    auckland = task_in("Pacific/Auckland", due_date=date(2025, 3, 10))
    los_angeles = task_in("America/Los_Angeles", due_date=date(2025, 3, 10))
    los_angeles_earlier = task_in("America/Los_Angeles", due_date=date(2025, 3, 9))
    utc = task_in("UTC", due_date=date(2025, 3, 10))

    deadlines.overdue_notify(now=NOW)

    assert set(DeadlineNotice.objects.values_list("task_id", flat=True)) == {auckland.pk, los_angeles_earlier.pk}

    # One minute before midnight in Auckland, 10 March is not yet over there either.
    DeadlineNotice.objects.all().delete()
    OutboxEmail.objects.all().delete()
    Notification.objects.all().delete()
    deadlines.overdue_notify(now=datetime(2025, 3, 10, 10, 59, tzinfo=UTC))
    assert set(DeadlineNotice.objects.values_list("task_id", flat=True)) == {los_angeles_earlier.pk}

    # The moment 10 March ends in Los Angeles (07:00 UTC on the 11th), its task is overdue; UTC's was already.
    deadlines.overdue_notify(now=datetime(2025, 3, 11, 7, 0, tzinfo=UTC))
    assert set(DeadlineNotice.objects.values_list("task_id", flat=True)) == {
        auckland.pk,
        los_angeles.pk,
        los_angeles_earlier.pk,
        utc.pk,
    }


def test_an_unknown_team_time_zone_is_judged_in_the_sites(settings):
    settings.TIME_ZONE = "UTC"
    task = task_in("Mars/Olympus_Mons", due_date=YESTERDAY)  # bypasses the form's validation

    assert deadlines.overdue_notify(now=NOW).claimed == 1
    assert DeadlineNotice.objects.get().task_id == task.pk


def test_a_moved_due_date_that_passes_again_is_a_new_event():
    task = task_in(due_date=date(2025, 3, 1), assignee=UserFactory())
    deadlines.overdue_notify(now=NOW)

    Task.objects.filter(pk=task.pk).update(due_date=date(2025, 3, 12))  # moved into the future
    assert deadlines.overdue_notify(now=NOW).claimed == 0
    later = datetime(2025, 3, 13, 9, 0, tzinfo=UTC)
    assert deadlines.overdue_notify(now=later).claimed == 1  # and it passed again

    assert sorted(DeadlineNotice.objects.values_list("due_date", flat=True)) == [date(2025, 3, 1), date(2025, 3, 12)]
    assert OutboxEmail.objects.count() == 2
    assert Notification.objects.count() == 2

    # Moved back to a due date already notified: that event was told already.
    Task.objects.filter(pk=task.pk).update(due_date=date(2025, 3, 1))
    assert deadlines.overdue_notify(now=later).claimed == 0
    assert counts() == (2, 2, 2)


@pytest.mark.parametrize(
    ("email_on", "in_app_on", "expected"),
    [(False, True, (1, 0, 1)), (True, False, (1, 1, 0)), (False, False, (1, 0, 0)), (True, True, (1, 1, 1))],
)
def test_preferences_choose_the_channels(email_on, in_app_on, expected):
    user = UserFactory()
    NotificationPreference.objects.create(user=user, kind=Kind.TASK_OVERDUE, email=email_on, in_app=in_app_on)
    # A preference for another kind changes nothing here.
    NotificationPreference.objects.create(user=user, kind=Kind.TASK_DUE_SOON, email=False, in_app=False)
    task_in(due_date=YESTERDAY, assignee=user)

    run = deadlines.overdue_notify(now=NOW)

    assert (run.claimed, run.emails, run.in_app) == expected
    assert counts() == expected


def test_an_inactive_recipient_is_not_told_but_the_event_is_claimed():
    task_in(due_date=YESTERDAY, assignee=UserFactory(is_active=False))

    run = deadlines.overdue_notify(now=NOW)

    assert (run.claimed, run.emails, run.in_app) == (1, 0, 0)
    assert counts() == (1, 0, 0)


def test_a_recipient_no_longer_in_the_team_is_not_told_but_the_event_is_claimed():
    left = UserFactory()
    task = task_in(due_date=YESTERDAY, assignee=left)
    Membership.objects.filter(team=task.project.team, user=left).delete()
    stayed = task_in(due_date=YESTERDAY, assignee=None)  # its creator is still a member

    run = deadlines.overdue_notify(now=NOW)

    assert (run.claimed, run.emails, run.in_app) == (2, 1, 1)
    assert set(DeadlineNotice.objects.values_list("task_id", flat=True)) == {task.pk, stayed.pk}
    assert OutboxEmail.objects.get().user_id == Notification.objects.get().user_id == stayed.created_by_id


def test_many_tasks_in_many_zones_are_each_notified_once():
    users = UserFactory.create_batch(3)
    zones = ["UTC", "Pacific/Auckland", "America/Los_Angeles", "Asia/Kolkata"]
    projects = [ProjectFactory(team=TeamFactory(time_zone=tz)) for tz in zones]
    Membership.objects.bulk_create(Membership(team=p.team, user=u) for p in projects for u in users)
    Task.objects.bulk_create(
        Task(project=projects[i % 4], title=f"T{i}", created_by=users[i % 3], assignee=users[(i + 1) % 3],
             due_date=YESTERDAY - timedelta(days=i % 7))
        for i in range(60)
    )  # fmt: skip

    assert deadlines.overdue_notify(now=NOW).claimed == 60
    assert counts() == (60, 60, 60)
    assert OutboxEmail.objects.values("dedupe_key").distinct().count() == 60


def test_the_delivery_worker_renders_and_sends_the_overdue_email(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    task = task_in(title="Quarterly report", due_date=YESTERDAY, assignee=UserFactory(email="bo@example.test"))
    deadlines.overdue_notify(now=NOW)

    assert outbox_deliver().sent == 1

    sent = mail.outbox[0]
    assert sent.to == ["bo@example.test"]
    assert sent.subject == "Quarterly report"  # the task's thread; the body says what happened
    assert "“Quarterly report” was due on 9 Mar 2025 and is overdue." in sent.body
    assert f"/tasks/{task.pk}/" in sent.body
    row = OutboxEmail.objects.get()
    assert row.status == OutboxEmail.State.SENT
    assert "Quarterly report" in row.body_text


def test_delivery_is_kicked_after_commit_only_when_emails_were_written(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        deadlines.overdue_notify(now=NOW)
    assert callbacks == []

    task_in(due_date=YESTERDAY)
    with django_capture_on_commit_callbacks() as callbacks:
        deadlines.overdue_notify(now=NOW)
    # One kick of the delivery (beside the committed change's observers, aether/changes.py).
    kicks = [c for c in callbacks if getattr(c, "__name__", "") == "flush"]
    assert len(kicks) == 1


# --- due soon -----------------------------------------------------------------------------------------------


def test_tasks_due_today_or_tomorrow_get_one_reminder_each():
    user = UserFactory()
    today = task_in(due_date=TODAY, assignee=user, title="Today")
    tomorrow = task_in(due_date=TODAY + timedelta(days=1), assignee=user)
    task_in(due_date=TODAY + timedelta(days=2), assignee=user)  # not within the next day
    task_in(due_date=YESTERDAY, assignee=user)  # overdue: the overdue job speaks for it
    task_in(due_date=TODAY, status=Status.COMPLETED, completed_at=NOW)
    task_in(due_date=TODAY, deleted_at=NOW)

    run = deadlines.due_soon_notify(now=NOW)

    assert (run.claimed, run.emails, run.in_app) == (2, 2, 2)
    assert set(DeadlineNotice.objects.values_list("task_id", "kind")) == {
        (today.pk, "due_soon"),
        (tomorrow.pk, "due_soon"),
    }
    email = OutboxEmail.objects.get(task=today)
    assert email.kind == Kind.TASK_DUE_SOON
    assert email.subject == "“Today” is due on 10 Mar 2025."  # a placeholder until rendered
    assert email.context["message"] == "“Today” is due on 10 Mar 2025."
    assert email.dedupe_key == f"task:{today.pk}:due_soon:2025-03-10:{user.pk}"

    assert deadlines.due_soon_notify(now=NOW + timedelta(hours=1)).claimed == 0
    assert counts() == (2, 2, 2)


def test_due_soon_window_is_configurable(settings):
    settings.AETHER_DUE_SOON_HOURS = 72
    far = task_in(due_date=TODAY + timedelta(days=3))
    task_in(due_date=TODAY + timedelta(days=4))

    assert deadlines.due_soon_notify(now=NOW).claimed == 1
    assert DeadlineNotice.objects.get().task_id == far.pk
    assert deadlines.due_soon_notify(now=NOW, hours=0).claimed == 0


def test_due_soon_follows_the_team_time_zone():
    # 12 March begins within 24 hours in Auckland (it is already the 11th there), not in Los Angeles.
    auckland = task_in("Pacific/Auckland", due_date=date(2025, 3, 12))
    task_in("America/Los_Angeles", due_date=date(2025, 3, 12))

    deadlines.due_soon_notify(now=NOW)

    assert DeadlineNotice.objects.get().task_id == auckland.pk


def test_due_soon_respects_its_own_preference():
    user = UserFactory()
    NotificationPreference.objects.create(user=user, kind=Kind.TASK_DUE_SOON, email=False, in_app=True)
    task_in(due_date=TODAY, assignee=user)

    assert counts() == (0, 0, 0)
    deadlines.due_soon_notify(now=NOW)
    assert counts() == (1, 0, 1)


def test_a_task_can_be_reminded_and_later_reported_overdue():
    task = task_in(due_date=TODAY)
    deadlines.due_soon_notify(now=NOW)
    deadlines.overdue_notify(now=NOW + timedelta(days=1))

    assert sorted(DeadlineNotice.objects.filter(task=task).values_list("kind", flat=True)) == ["due_soon", "overdue"]
    assert sorted(OutboxEmail.objects.values_list("kind", flat=True)) == [Kind.TASK_DUE_SOON, Kind.TASK_OVERDUE]


def test_a_second_path_writing_the_same_event_cannot_duplicate_the_email():
    """The dedupe keys are deterministic: even if the claim row were lost, the same event makes no new row."""
    task = task_in(due_date=YESTERDAY)
    deadlines.overdue_notify(now=NOW)
    DeadlineNotice.objects.filter(task=task).delete()

    run = deadlines.overdue_notify(now=NOW)

    assert (run.claimed, run.emails, run.in_app) == (1, 0, 0)
    assert OutboxEmail.objects.count() == 1
    assert Notification.objects.count() == 1
