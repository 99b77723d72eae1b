"""Outbox and in-app rows say which team they are about (an id, not a foreign key: notifications never reads
accounts' tables), so that nothing about a team reaches someone who has left it.

Rows written before this migration learn their team from their task, once, here (historical models of the
tasks app; the running code never joins those tables)."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def rows_learn_their_team(apps, schema_editor):
    Task = apps.get_model("tasks", "Task")
    team_of_task = Subquery(Task.objects.filter(pk=OuterRef("task_id")).values("project__team_id")[:1])
    for name in ("OutboxEmail", "Notification"):
        apps.get_model("notifications", name).objects.filter(task__isnull=False, team_id__isnull=True).update(
            team_id=team_of_task
        )


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="team_id",
            field=models.BigIntegerField(blank=True, help_text="The team this notification is about.", null=True),
        ),
        migrations.AddField(
            model_name="outboxemail",
            name="team_id",
            field=models.BigIntegerField(blank=True, help_text="The team this email is about.", null=True),
        ),
        migrations.RunPython(rows_learn_their_team, migrations.RunPython.noop, elidable=True),
    ]
