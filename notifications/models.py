"""The email outbox, in-app notifications and per-user preferences.

An email is a row here, written in the same transaction as the change that caused it; Celery delivers rows,
the row is the record. `dedupe_key` is unique, so one event can never make two emails.
"""

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q


class Kind(models.TextChoices):
    TASK_ASSIGNED = "task_assigned", "A task is assigned to me"
    TASK_COMPLETED = "task_completed", "A task I created is completed"
    TASK_COMMENTED = "task_commented", "Someone comments on my task"
    MENTIONED = "task_mentioned", "Someone mentions me (@name) in a comment or a task description"
    TASK_OVERDUE = "task_overdue", "My task is overdue"
    TASK_DUE_SOON = "task_due_soon", "My task is due soon"
    INVITATION = "invitation", "Team invitation"
    PASSWORD_RESET = "password_reset", "Password reset"
    # The two kinds of combined email (notifications/merging.py): never an event's own kind, never in-app.
    TASK_UPDATES = "task_updates", "Several updates on one task, in one email"
    DIGEST = "digest", "The daily digest"


# What happened, as the notifications list labels it (Kind's labels are the settings' sentences).
WHAT_HAPPENED = {
    Kind.TASK_ASSIGNED: "Assigned to you",
    Kind.TASK_COMPLETED: "Completed",
    Kind.TASK_COMMENTED: "New comment",
    Kind.MENTIONED: "You were mentioned",
    Kind.TASK_OVERDUE: "Overdue",
    Kind.TASK_DUE_SOON: "Due soon",
    Kind.INVITATION: "Invitation",
    Kind.PASSWORD_RESET: "Password reset",
    Kind.TASK_UPDATES: "Updates",
    Kind.DIGEST: "Digest",
}


# Kinds a user may switch off. Invitations and password resets are always emailed: the person asked for them.
SWITCHABLE_KINDS = [
    Kind.TASK_ASSIGNED,
    Kind.TASK_COMPLETED,
    Kind.TASK_COMMENTED,
    Kind.MENTIONED,
    Kind.TASK_OVERDUE,
    Kind.TASK_DUE_SOON,
]


# Kinds whose email carries a link that is a credential (an invitation's, a password reset's). Their outbox rows
# hold no link and no body: the delivery worker asks settings.NOTIFICATIONS_LINK_AT_DELIVERY for the link just
# before it sends, and stores what it sent without the body (notifications/delivery.py).
LINK_AT_DELIVERY_KINDS = [Kind.INVITATION, Kind.PASSWORD_RESET]


# Kinds "as it happens" batches per (person, task) within AETHER_EMAIL_BATCH_SECONDS: what people do, which comes
# in bursts. Overdue and due-soon reminders are sent at once (a job writes them once per due date, and a
# reminder that waits loses its point); the digest collects every switchable kind.
BATCHED_KINDS = [Kind.TASK_ASSIGNED, Kind.TASK_COMPLETED, Kind.TASK_COMMENTED, Kind.MENTIONED]


class OutboxState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed (will retry)"
    DEAD = "dead", "Dead (gave up)"
    # Held rows wait, until next_attempt_at, to be combined by notifications/merging.py; the worker never claims
    # them. Each ends merged (into the combined row named by merged_into) or pending (a batch of one).
    BATCHED = "batched", "Held for a batch of updates on one task"
    DIGEST = "digest", "Held for the daily digest"
    MERGED = "merged", "Merged into a combined email"


HELD_STATES = [OutboxState.BATCHED, OutboxState.DIGEST]


class OutboxEmail(models.Model):
    State = OutboxState

    recipient = models.EmailField(max_length=254)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # outbox_user_waiting: only rows still to go out are looked up by person
    )
    subject = models.CharField(max_length=255)
    body_text = models.TextField(
        blank=True,
        help_text="Empty until rendered; rendered from kind and context. Invitations and password resets stay "
        "empty: their link is a credential, made when they are sent and kept nowhere.",
    )
    body_html = models.TextField(blank=True)
    context = models.JSONField(default=dict, blank=True, help_text="What the templates of this kind are given.")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    task = models.ForeignKey("tasks.Task", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # The team the email is about (None for invitations and password resets): delivery sends it only while the
    # recipient is still a member. An id, not a foreign key: notifications never reads accounts' tables.
    team_id = models.BigIntegerField(null=True, blank=True, help_text="The team this email is about.")
    dedupe_key = models.CharField(max_length=200)  # unique: see Meta.constraints
    status = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(
        help_text="When a worker may next take this row (a held row: when its batch or digest is due)."
    )
    claimed_until = models.DateTimeField(null=True, blank=True, help_text="Lease of the worker sending it.")
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="parts",
        help_text="The combined email (batch or digest) this held row went out in.",
        db_index=False,  # outbox_merged_parts: only merged rows are indexed (every insert kept up a NULL entry)
    )
    last_error = models.TextField(blank=True)
    provider_message_id = models.CharField(max_length=255, blank=True)
    provider_event = models.CharField(max_length=40, blank=True, help_text="Last tracking event (bounced, ...).")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "outbox email"
        constraints = [
            models.CheckConstraint(condition=Q(status__in=OutboxState.values), name="outbox_status_valid"),
            models.CheckConstraint(condition=Q(kind__in=Kind.values), name="outbox_kind_valid"),
            models.CheckConstraint(condition=~Q(status="sent") | Q(sent_at__isnull=False), name="outbox_sent_has_time"),
            # A constraint, not unique=True: the field option also makes a varchar_pattern_ops index for LIKE,
            # which nothing here asks for and every insert would keep up (docs/performance.md, overdue job).
            models.UniqueConstraint(fields=["dedupe_key"], name="outbox_dedupe_key_unique"),
        ]
        indexes = [
            # The claim and the sweep read only rows still to deliver, oldest due first.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "failed", "sending"]),
                name="outbox_due",
            ),
            # The merge job reads only held rows: those due, and the rest of a due (person, task) batch.
            models.Index(fields=["next_attempt_at"], condition=Q(status__in=HELD_STATES), name="outbox_held_due"),
            models.Index(fields=["user", "task"], condition=Q(status__in=HELD_STATES), name="outbox_held_group"),
            models.Index(fields=["merged_into"], condition=Q(merged_into__isnull=False), name="outbox_merged_parts"),
            # Counts and filters by state (admin, the outbox page): sent rows, nearly all of them, are left out,
            # so that marking a row sent, once per email, takes it out of this index rather than adding to it.
            models.Index(fields=["status", "kind"], condition=~Q(status="sent"), name="outbox_status_kind_unsent"),
            # A leaver's emails still to go out (notifications_withdraw), a person's held digest rows.
            models.Index(
                fields=["user", "team_id"],
                condition=Q(status__in=["pending", "failed", *HELD_STATES]),
                name="outbox_user_waiting",
            ),
            # Tracking webhooks look rows up by the provider's id; rows not sent yet have none, so they are
            # left out of the index (and cost an insert nothing).
            models.Index(
                fields=["provider_message_id"], condition=~Q(provider_message_id=""), name="outbox_provider_id_set"
            ),
        ]

    def __str__(self):
        return f"{self.kind} to {self.recipient} ({self.status})"


class Notification(models.Model):
    """An in-app notification (the bell)."""

    # No index of its own: notification_user_recent (user, -created_at) serves every look-up by user.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", db_index=False
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    task = models.ForeignKey("tasks.Task", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    # The team it is about (see OutboxEmail.team_id); a member's rows of a team are deleted when they leave it.
    team_id = models.BigIntegerField(null=True, blank=True, help_text="The team this notification is about.")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    message = models.CharField(max_length=300)
    # A plain-text passage of what happened (a comment's first words), shown under the message.
    preview = models.CharField(max_length=200, blank=True, default="")
    url = models.CharField(max_length=300, blank=True)
    dedupe_key = models.CharField(max_length=200)  # unique: see Meta.constraints
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=Kind.values), name="notification_kind_valid"),
            models.UniqueConstraint(fields=["dedupe_key"], name="notification_dedupe_key_unique"),  # as OutboxEmail's
        ]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="notification_user_recent"),
            models.Index(fields=["user"], condition=Q(read_at__isnull=True), name="notification_user_unread"),
        ]

    def __str__(self):
        return self.message


class NotificationPreference(models.Model):
    """A user's choice for one kind. No row means the default: both channels on."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    email = models.BooleanField(default=True)
    in_app = models.BooleanField(default=True)

    class Meta:
        ordering = ["user", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="preference_one_per_user_kind"),
            models.CheckConstraint(condition=Q(kind__in=SWITCHABLE_KINDS), name="preference_kind_switchable"),
        ]

    def __str__(self):
        return f"{self.user}: {self.kind}"


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError("%(value)s is not a known time zone.", params={"value": value}, code="invalid")


class EmailCadence(models.TextChoices):
    IMMEDIATE = "immediate", "Each email as it happens"
    DIGEST = "digest", "One daily digest"
    OFF = "off", "No emails"


class EmailPreference(models.Model):
    """How a user's emails about tasks reach them: as it happens (quick updates on one task batched into one
    email), one daily digest at `digest_hour` in `time_zone`, or none. No row means as it happens. Invitations
    and password resets are always sent at once; in-app notifications never wait."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_preference")
    cadence = models.CharField(max_length=10, choices=EmailCadence.choices, default=EmailCadence.IMMEDIATE)
    digest_hour = models.PositiveSmallIntegerField(
        default=8,
        validators=[MaxValueValidator(23)],
        help_text="The hour (0-23), in the time zone below, at which the daily digest is sent.",
    )
    time_zone = models.CharField(
        max_length=64, default="UTC", validators=[validate_time_zone], help_text="The time zone of the digest hour."
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(cadence__in=EmailCadence.values), name="email_preference_cadence_valid"),
            models.CheckConstraint(condition=Q(digest_hour__lte=23), name="email_preference_hour_valid"),
        ]

    def __str__(self):
        return f"{self.user}: {self.cadence}"
