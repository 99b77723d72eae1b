"""Comments on tasks."""

from __future__ import annotations

from django.db import transaction

from notifications.models import Kind
from notifications.services import notify

from ..models import Activity, Comment, Task
from ._common import _activity, _require_work, _task_url


@transaction.atomic
def comment_create(*, actor, task: Task, body: str) -> Comment:
    """Comment on a task; its creator and assignee hear of it (not the commenter)."""
    _require_work(actor, task)
    comment = Comment(task=task, author=actor, body=(body or "").strip())
    comment.full_clean(validate_unique=False, validate_constraints=False)
    comment.save()
    activity = _activity(task, actor, Activity.Verb.COMMENTED, "comment", None, comment.pk)
    for user in {u.pk: u for u in (task.created_by, task.assignee) if u is not None}.values():
        notify(
            kind=Kind.TASK_COMMENTED,
            user=user,
            actor=actor,
            task=task,
            event=f"task:{task.pk}:commented:{activity.pk}",
            message=f"{actor.get_full_name()} commented on “{task.title}”",
            url=_task_url(task) + f"#comment-{comment.pk}",
            context={"comment_body": comment.body},
        )
    return comment
