"""Every write to projects, tasks, stages, comments and templates goes through here.

Each service takes the acting user (keyword-only), checks what that user may do, runs in one transaction,
records Activity rows for what changed and queues notifications in the same transaction. A ValidationError
names the field that was wrong, and the transaction rolls back: nothing half-written, no Activity for a
change that did not happen. Stage changes hold the task's row lock, so two concurrent stage updates roll
the task status up one after the other.
"""

from ._common import MAX_STAGES, TASK_EDITABLE_FIELDS
from .comment import comment_create, comment_delete, comment_update
from .mentions import mentioned_members
from .project import (
    label_create,
    label_delete,
    label_update,
    project_create,
    project_delete,
    project_update,
    template_delete,
    template_save,
)
from .recurrence import recurrence_occurrences_create, recurrence_set, recurrence_stop
from .stage import (
    actual_hours_field,
    stage_add,
    stage_complete,
    stage_delete,
    stage_reopen,
    stage_set_status,
    stage_start,
    stage_update,
    stages_reorder,
    task_complete_with_stages,
)
from .task import (
    task_assign,
    task_complete,
    task_create,
    task_delete,
    task_label_create,
    task_reopen,
    task_restore,
    task_set_status,
    task_update,
)

__all__ = [
    "MAX_STAGES",
    "TASK_EDITABLE_FIELDS",
    "actual_hours_field",
    "comment_create",
    "comment_delete",
    "comment_update",
    "label_create",
    "label_delete",
    "label_update",
    "mentioned_members",
    "project_create",
    "project_delete",
    "project_update",
    "recurrence_occurrences_create",
    "recurrence_set",
    "recurrence_stop",
    "stage_add",
    "stage_complete",
    "stage_delete",
    "stage_reopen",
    "stage_set_status",
    "stage_start",
    "stage_update",
    "stages_reorder",
    "task_assign",
    "task_complete",
    "task_complete_with_stages",
    "task_create",
    "task_delete",
    "task_label_create",
    "task_reopen",
    "task_restore",
    "task_set_status",
    "task_update",
    "template_delete",
    "template_save",
]
