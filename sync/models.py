"""The change log that delta sync reads (sync/selectors.py): one row per object a change touched, with who sees it.

A row names an object (a task, a comment, a notification, or a team someone joined or left), the team whose
members see it or the one person who does, and the transaction that wrote it (`xid`, PostgreSQL's
`pg_current_xact_id()`), by which the reader knows when the row became visible. The rows carry no content:
the reader sends each object as it is when read. Rows are written by sync/recorder.py, in the transaction of
the change they describe, and deleted after AETHER_SYNC_KEEP_DAYS by sync/services.py.
"""

from django.contrib.postgres.indexes import BrinIndex
from django.db import models
from django.db.models import Q


class ChangeKind(models.TextChoices):
    TASK = "t", "task"
    COMMENT = "c", "comment"
    NOTIFICATION = "n", "notification"
    MEMBERSHIP = "m", "joined or left a team"  # object_id is the team, user_id the person


class Change(models.Model):
    Kind = ChangeKind

    id = models.BigAutoField(primary_key=True)
    xid = models.BigIntegerField(help_text="The writing transaction's pg_current_xact_id().")
    kind = models.CharField(max_length=1, choices=ChangeKind.choices)
    object_id = models.BigIntegerField()
    # Ids, not foreign keys: a row outlives what it names (a deleted comment's row is its tombstone), and the
    # log must never lock or cascade with the rows it describes.
    team_id = models.BigIntegerField(null=True, blank=True, help_text="Seen by this team's members.")
    user_id = models.BigIntegerField(null=True, blank=True, help_text="Seen by this person only.")
    created_at = models.DateTimeField(db_default=models.functions.Now())

    class Meta:
        ordering = ["xid", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ChangeKind.values), name="sync_change_kind_valid"),
            models.CheckConstraint(
                condition=Q(team_id__isnull=False, user_id__isnull=True)
                | Q(team_id__isnull=True, user_id__isnull=False),
                name="sync_change_one_audience",
            ),
        ]
        indexes = [
            # A reader walks each of its teams' rows, and its own, in (xid, id) order within a range of xids.
            models.Index(fields=["team_id", "xid", "id"], condition=Q(team_id__isnull=False), name="sync_change_team"),
            models.Index(fields=["user_id", "xid", "id"], condition=Q(user_id__isnull=False), name="sync_change_user"),
            # The trim job finds the rows older than what is kept (rows arrive in time order: a BRIN suffices).
            BrinIndex(fields=["created_at"], name="sync_change_created"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.object_id} (xid {self.xid})"


class Trimmed(models.Model):
    """One row: change-log rows of transactions below `xid` may have been deleted (sync/services.py). A cursor
    whose snapshot may not have seen them answers 410: the client starts over."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    xid = models.BigIntegerField(default=0)
    at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="sync_trimmed_one_row")]

    def __str__(self):
        return f"trimmed up to xid {self.xid}"
