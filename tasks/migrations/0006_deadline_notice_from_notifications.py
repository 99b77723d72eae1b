"""DeadlineNotice moves from notifications to tasks (the app that owns the deadline rules runs the jobs).

The table and its rows stay: the table is renamed (notifications_deadlinenotice -> tasks_deadlinenotice),
the model is created in tasks' state only, and notifications 0003 deletes it from notifications' state only.
The constraints keep their names (deadline_notice_once, deadline_notice_kind_valid)."""

import django.db.models.deletion
from django.db import migrations, models

OLD, NEW = "notifications_deadlinenotice", "tasks_deadlinenotice"


def _rename(old: str, new: str):
    def run(apps, schema_editor):
        model = apps.get_model("notifications", "DeadlineNotice")
        schema_editor.alter_db_table(model, old, new)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("tasks", "0005_comment_activity_verbs"),
        ("notifications", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(_rename(OLD, NEW), _rename(NEW, OLD))],
            state_operations=[
                migrations.CreateModel(
                    name="DeadlineNotice",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "kind",
                            models.CharField(choices=[("overdue", "Overdue"), ("due_soon", "Due soon")], max_length=10),
                        ),
                        ("due_date", models.DateField()),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "task",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="deadline_notices",
                                to="tasks.task",
                            ),
                        ),
                    ],
                    options={
                        "ordering": ["-created_at"],
                        "constraints": [
                            models.UniqueConstraint(fields=("task", "kind", "due_date"), name="deadline_notice_once"),
                            models.CheckConstraint(
                                condition=models.Q(("kind__in", ["overdue", "due_soon"])),
                                name="deadline_notice_kind_valid",
                            ),
                        ],
                    },
                ),
            ],
        ),
    ]
