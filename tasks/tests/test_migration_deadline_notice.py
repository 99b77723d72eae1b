"""The DeadlineNotice claims move from notifications to tasks with their rows: migrating a database that has
claims keeps every one of them (and their uniqueness), and migrating back returns them."""

from datetime import date

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("tasks", "0005_comment_activity_verbs"), ("notifications", "0002_outbox_and_notification_team_id")]
AFTER = [("tasks", "0006_deadline_notice_from_notifications"), ("notifications", "0003_deadlinenotice_moves_to_tasks")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def migrate_to_latest():
    """Back to every app's last migration: the tests after this one need the whole schema."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.fixture
def schema_restored():
    yield
    migrate_to_latest()


def claims(model):
    return sorted(model.objects.values_list("id", "task_id", "kind", "due_date"))


@pytest.mark.django_db(transaction=True)
def test_the_claims_move_to_tasks_with_their_rows_and_back(schema_restored):
    old = migrate(BEFORE)
    user = old.get_model("accounts", "User").objects.create(email="m@example.test", password="!")
    team = old.get_model("accounts", "Team").objects.create(name="T", slug="t")
    project = old.get_model("tasks", "Project").objects.create(team=team, name="P")
    task = old.get_model("tasks", "Task").objects.create(project=project, title="Late", created_by=user)
    Notice = old.get_model("notifications", "DeadlineNotice")
    for kind, due in (("overdue", date(2025, 3, 1)), ("due_soon", date(2025, 3, 1)), ("overdue", date(2025, 3, 9))):
        Notice.objects.create(task_id=task.pk, kind=kind, due_date=due)
    before = claims(Notice)

    new = migrate(AFTER)
    Moved = new.get_model("tasks", "DeadlineNotice")
    assert claims(Moved) == before
    assert "notifications_deadlinenotice" not in connection.introspection.table_names()
    with pytest.raises(IntegrityError), transaction.atomic():  # still claimed once
        Moved.objects.create(task_id=task.pk, kind="overdue", due_date=date(2025, 3, 1))
    added = Moved.objects.create(task_id=task.pk, kind="overdue", due_date=date(2025, 3, 20))  # the ids go on
    assert added.pk > max(row[0] for row in before)

    back = migrate(BEFORE)
    assert claims(back.get_model("notifications", "DeadlineNotice")) == sorted(
        [*before, (added.pk, task.pk, "overdue", date(2025, 3, 20))]
    )
