"""Projects, tasks and their stages. Rows are written only by tasks/services.py.

Rules live in the schema as well as in the services: allowed values, positive estimates, non-negative
actual hours, one stage per position, "completed" exactly when a completion time is set.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from accounts.models import Team

HOURS = {"max_digits": 7, "decimal_places": 2}


class Project(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="projects")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True, max_length=5000)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint("team", Lower("name"), name="project_name_unique_in_team")]

    def __str__(self):
        return self.name


class Label(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(max_length=40)
    color = models.CharField(max_length=7, default="#6b7280", help_text="A CSS hex colour such as #3b82f6.")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("team", Lower("name"), name="label_name_unique_in_team"),
            models.CheckConstraint(condition=Q(color__regex=r"^#[0-9a-fA-F]{6}$"), name="label_color_hex"),
        ]

    def __str__(self):
        return self.name


class Template(models.Model):
    """A named list of stages that new tasks can be stamped from."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="templates")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True, max_length=5000)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint("team", Lower("name"), name="template_name_unique_in_team")]

    def __str__(self):
        return self.name


class TemplateStage(models.Model):
    template = models.ForeignKey(Template, on_delete=models.CASCADE, related_name="stages")
    order = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=120)
    estimated_hours = models.DecimalField(**HOURS, validators=[MinValueValidator(Decimal("0.01"))])

    class Meta:
        ordering = ["template", "order"]
        constraints = [
            models.UniqueConstraint(fields=["template", "order"], name="template_stage_order_unique"),
            models.CheckConstraint(condition=Q(estimated_hours__gt=0), name="template_stage_estimate_positive"),
        ]

    def __str__(self):
        return f"{self.order}. {self.name}"


class Status(models.TextChoices):
    PENDING = "pending", "Pending"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"


class Priority(models.IntegerChoices):
    """Stored as a rank so that ordering by priority is an index-friendly integer sort."""

    LOW = 1, "Low"
    MEDIUM = 2, "Medium"
    HIGH = 3, "High"
    URGENT = 4, "Urgent"

    @classmethod
    def from_name(cls, name: str) -> "Priority":
        return cls[name.upper()]


class TaskQuerySet(models.QuerySet):
    def alive(self):
        """Not in the trash."""
        return self.filter(deleted_at__isnull=True)

    def active(self):
        """What default lists show: not in the trash and not archived."""
        return self.filter(deleted_at__isnull=True, archived_at__isnull=True)

    def open(self):
        return self.exclude(status=Status.COMPLETED)

    def overdue(self, today):
        """Open tasks whose due date is before `today` (a date in the viewer's or team's time zone)."""
        return self.open().filter(due_date__lt=today)


class Task(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=20000)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.MEDIUM)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="assigned_tasks"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="created_tasks")
    due_date = models.DateField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    labels = models.ManyToManyField(Label, blank=True, related_name="tasks")
    template = models.ForeignKey(Template, on_delete=models.SET_NULL, null=True, blank=True, related_name="tasks")
    # NULL, not "", when absent: the unique (created_by, idempotency_key) constraint applies only to given keys.
    idempotency_key = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    deleted_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TaskQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=Status.values), name="task_status_valid"),
            models.CheckConstraint(condition=Q(priority__in=Priority.values), name="task_priority_valid"),
            # "completed" exactly when completed_at is set: the two can never disagree.
            models.CheckConstraint(
                condition=(Q(status=Status.COMPLETED) & Q(completed_at__isnull=False))
                | (~Q(status=Status.COMPLETED) & Q(completed_at__isnull=True)),
                name="task_completed_iff_completed_at",
            ),
            models.CheckConstraint(condition=~Q(title=""), name="task_title_not_empty"),
            models.UniqueConstraint(
                fields=["created_by", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="task_idempotency_key_unique_per_creator",
            ),
        ]
        indexes = [
            models.Index(fields=["project", "status"], name="task_project_status"),
            models.Index(fields=["assignee", "status"], name="task_assignee_status"),
            # Overdue and due-soon scans look only at open, live tasks with a due date.
            models.Index(
                fields=["due_date"],
                condition=Q(deleted_at__isnull=True, archived_at__isnull=True, due_date__isnull=False)
                & ~Q(status=Status.COMPLETED),
                name="task_open_due_date",
            ),
            # The archive job looks only at completed, not yet archived tasks.
            models.Index(
                fields=["completed_at"],
                condition=Q(archived_at__isnull=True, completed_at__isnull=False),
                name="task_unarchived_completed",
            ),
            models.Index(fields=["project", "-created_at", "-id"], name="task_project_recent"),
            # API/list ordering by priority or due date (the id breaks ties in the same direction): a page of
            # 50 of a million live tasks reads 51 index entries instead of sorting them all (300 ms -> 20 ms).
            models.Index(
                fields=["priority", "id"],
                condition=Q(deleted_at__isnull=True, archived_at__isnull=True),
                name="task_active_priority",
            ),
            models.Index(
                fields=["due_date", "id"],
                condition=Q(deleted_at__isnull=True, archived_at__isnull=True),
                name="task_active_due_date",
            ),
            # My work: my open, live tasks by due date then priority, one range per group (overdue, soon, later).
            models.Index(
                fields=["assignee", "due_date", "-priority", "id"],
                condition=Q(deleted_at__isnull=True, archived_at__isnull=True) & ~Q(status=Status.COMPLETED),
                name="task_assignee_open_due",
            ),
            # The board: a project's live tasks of one status, most urgent first, read a column at a time.
            models.Index(
                fields=["project", "status", "-priority", "due_date", "-created_at", "-id"],
                condition=Q(deleted_at__isnull=True, archived_at__isnull=True),
                name="task_board_order",
            ),
            # The list page's sorts (tasks/views/projects.py LIST_SORTS), each read in index order from the first
            # row of the project instead of sorting its half a million rows: open first (the default, and with a
            # status filter, newest first within it) and most urgent first. (By due date, task_active_due_date
            # serves; a per-project copy of it lured My work's due-soon range away from task_assignee_open_due.)
            models.Index(
                fields=["project", "-status", "-created_at", "-id"],
                condition=Q(deleted_at__isnull=True, archived_at__isnull=True),
                name="task_list_open_first",
            ),
            models.Index(
                fields=["project", "-priority", "due_date", "-created_at", "-id"],
                condition=Q(deleted_at__isnull=True, archived_at__isnull=True),
                name="task_list_urgent_first",
            ),
            # The trash and the archive pages: the latest first, from small indexes of only those rows.
            models.Index(
                fields=["-deleted_at", "-id"], condition=Q(deleted_at__isnull=False), name="task_trashed_latest"
            ),
            models.Index(
                fields=["-archived_at", "-id"], condition=Q(archived_at__isnull=False), name="task_archived_latest"
            ),
        ]

    def __str__(self):
        return self.title

    @property
    def priority_name(self) -> str:
        return Priority(self.priority).name.lower()

    def is_overdue_on(self, today) -> bool:
        return self.status != Status.COMPLETED and self.due_date is not None and self.due_date < today


class Stage(models.Model):
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="stages")
    order = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=120)
    estimated_hours = models.DecimalField(**HOURS, validators=[MinValueValidator(Decimal("0.01"))])
    actual_hours = models.DecimalField(**HOURS, null=True, blank=True, validators=[MinValueValidator(Decimal("0"))])
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["task", "order"]
        constraints = [
            models.UniqueConstraint(fields=["task", "order"], name="stage_order_unique_in_task"),
            models.CheckConstraint(condition=Q(estimated_hours__gt=0), name="stage_estimate_positive"),
            models.CheckConstraint(
                condition=Q(actual_hours__isnull=True) | Q(actual_hours__gte=0), name="stage_actual_non_negative"
            ),
            models.CheckConstraint(condition=Q(status__in=Status.values), name="stage_status_valid"),
            # A completed stage always has its actual hours and completion time.
            models.CheckConstraint(
                condition=~Q(status=Status.COMPLETED) | Q(actual_hours__isnull=False, completed_at__isnull=False),
                name="stage_completed_has_actuals",
            ),
        ]

    def __str__(self):
        return f"{self.order}. {self.name}"


class Comment(models.Model):
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="comments")
    body = models.TextField(max_length=10000)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["task", "created_at"], name="comment_task_created")]
        constraints = [models.CheckConstraint(condition=~Q(body=""), name="comment_body_not_empty")]

    def __str__(self):
        return f"Comment by {self.author} on {self.task}"


class ActivityVerb(models.TextChoices):
    CREATED = "created", "created the task"
    UPDATED = "updated", "changed"
    STATUS_CHANGED = "status_changed", "changed the status"
    ASSIGNED = "assigned", "assigned"
    COMMENTED = "commented", "commented"
    STAGE_ADDED = "stage_added", "added a stage"
    STAGE_UPDATED = "stage_updated", "changed a stage"
    STAGE_STARTED = "stage_started", "started a stage"
    STAGE_COMPLETED = "stage_completed", "completed a stage"
    STAGE_REOPENED = "stage_reopened", "reopened a stage"
    STAGE_DELETED = "stage_deleted", "deleted a stage"
    STAGES_REORDERED = "stages_reordered", "reordered the stages"
    COMPLETED = "completed", "completed the task"
    REOPENED = "reopened", "reopened the task"
    DELETED = "deleted", "moved the task to the trash"
    RESTORED = "restored", "restored the task"
    ARCHIVED = "archived", "archived the task"


class Activity(models.Model):
    """The audit trail of a task, written by the service that made the change, in its transaction."""

    Verb = ActivityVerb

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="activities")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )  # None for the system (scheduled jobs)
    verb = models.CharField(max_length=20, choices=Verb.choices)
    field = models.CharField(max_length=40, blank=True)
    old_value = models.JSONField(null=True, blank=True)
    new_value = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "activities"
        indexes = [models.Index(fields=["task", "created_at"], name="activity_task_created")]
        constraints = [models.CheckConstraint(condition=Q(verb__in=ActivityVerb.values), name="activity_verb_valid")]

    def __str__(self):
        return f"{self.actor or 'system'} {self.get_verb_display()} {self.field}".strip()
