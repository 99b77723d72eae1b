"""Comments on tasks: writing, editing and deleting them, and the @mentions in them.

What counts as a mention is tasks/services/mentions.py's rule, the same as for descriptions.

Who hears of a comment, once each: the people it mentions, under the "mentioned" kind; then the task's
creator and assignee, under "commented", unless the comment already mentions them (the mention is the more
specific news, so a mentioned assignee gets one notification, not two). An edit notifies only the people it
newly mentions.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts.permissions import may_delete_comment, may_edit_comment
from aether.changes import record
from aether.refusals import conflict
from notifications.models import Kind
from notifications.services import notify

from ..models import Activity, Comment, Task
from ._common import _activity, _require_work, _task_url
from .mentions import email_mentions, mentioned_anew, mentioned_members, notify_mentioned


def _preview(body: str) -> str:
    """The words of a comment as a reader sees them, for the in-app notification's preview."""
    from ..templatetags.task_text import plain_text

    text = plain_text(body)
    return text if len(text) <= 200 else text[:199].rsplit(" ", 1)[0] + "…"


def _clean_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": ["Write something."]})
    if len(body) > 10000:
        raise ValidationError({"body": ["A comment has at most 10000 characters."]})
    return body


def _email_context(task: Task, comment: Comment) -> dict:
    """What a comment's emails show: its text and the people it mentions (names and links, for the email)."""
    return {"comment_body": comment.body, "mentions": email_mentions(task.project.team_id, comment.body)}


def _notify_mentioned(
    task: Task, actor, comment: Comment, activity: Activity, people, context: dict | None = None
) -> set[int]:
    return notify_mentioned(
        task=task,
        actor=actor,
        activity=activity,
        people=people,
        message=f"{actor.get_full_name()} mentioned you on “{task.title}”",
        url=_task_url(task) + f"#comment-{comment.pk}",
        context=context if context is not None else _email_context(task, comment),
        preview=_preview(comment.body),
    )


@transaction.atomic
def comment_create(*, actor, task: Task, body: str) -> Comment:
    """Comment on a task; the people it mentions, and its creator and assignee, hear of it (see above)."""
    _require_work(actor, task)
    comment = Comment(task=task, author=actor, body=_clean_body(body))
    comment.full_clean(validate_unique=False, validate_constraints=False)
    comment.save()
    record(comments={comment.pk: (task.pk, task.project.team_id)})
    activity = _activity(task, actor, Activity.Verb.COMMENTED, "comment", None, comment.pk)
    context = _email_context(task, comment)
    told = _notify_mentioned(task, actor, comment, activity, mentioned_members(task, comment.body), context)
    for user in {u.pk: u for u in (task.created_by, task.assignee) if u is not None}.values():
        if user.pk in told:
            continue
        notify(
            kind=Kind.TASK_COMMENTED,
            user=user,
            actor=actor,
            task=task,
            event=f"task:{task.pk}:commented:{activity.pk}",
            message=f"{actor.get_full_name()} commented on “{task.title}”",
            url=_task_url(task) + f"#comment-{comment.pk}",
            context=context,
            preview=_preview(comment.body),
        )
    return comment


def _lock_comment(comment: Comment) -> Comment:
    """The comment re-read under its row lock (a concurrent delete makes this a ValidationError)."""
    locked = Comment.objects.select_for_update().select_related("task__project", "author").filter(pk=comment.pk).first()
    if locked is None:
        raise conflict("This comment was deleted.", "comment")
    return locked


@transaction.atomic
def comment_update(*, actor, comment: Comment, body: str) -> Comment:
    """Change the text of one's own comment (authors only, while they may work in the team). The people the new
    text mentions that the old one did not are notified. An unchanged text records nothing."""
    locked = _lock_comment(comment)
    task = locked.task
    _require_work(actor, task)
    if not may_edit_comment(actor, locked):
        raise PermissionDenied("Only its author can edit a comment.")
    new_body = _clean_body(body)
    if new_body == locked.body:
        return locked
    before = locked.body
    locked.body = new_body
    locked.full_clean(validate_unique=False, validate_constraints=False)
    locked.save(update_fields=["body", "updated_at"])
    record(comments={locked.pk: (task.pk, task.project.team_id)})
    activity = _activity(task, actor, Activity.Verb.COMMENT_EDITED, "comment", None, locked.pk)
    _notify_mentioned(task, actor, locked, activity, mentioned_anew(task, before, new_body))
    comment.body, comment.updated_at = locked.body, locked.updated_at
    return locked


@transaction.atomic
def comment_delete(*, actor, comment: Comment) -> None:
    """Delete a comment (its author, or an admin of the team). The history keeps who deleted whose comment, not
    its text: a deleted comment is gone."""
    locked = _lock_comment(comment)
    task = locked.task
    if not may_delete_comment(actor, locked):
        raise PermissionDenied("Only its author or a team admin can delete a comment.")
    if task.deleted_at is not None:
        raise conflict("This task is in the trash; restore it first.")
    old = {"id": locked.pk, "author": locked.author_id}
    comment_id = locked.pk
    locked.delete()
    record(comments={comment_id: (task.pk, task.project.team_id)})
    _activity(task, actor, Activity.Verb.COMMENT_DELETED, "comment", old, None)
