"""DeadlineNotice now belongs to tasks (tasks 0004 renamed its table and took over its state, rows and all):
remove it from notifications' state only; nothing changes in the database."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0002_outbox_and_notification_team_id"),
        ("tasks", "0006_deadline_notice_from_notifications"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[migrations.DeleteModel(name="DeadlineNotice")],
        ),
    ]
