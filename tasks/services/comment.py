"""Comments on tasks: writing, editing and deleting them, and the @mentions in them.

A mention is `@` followed by the part of a team member's email address before its `@` (`@bob` for
bob@example.com), or by the whole address when two members share that part (`@bob@example.com`); case does
not matter. Only current members of the task's team are mentioned; nobody is notified of their own comment.

Who hears of a comment, once each: the people it mentions, under the "mentioned" kind; then the task's
creator and assignee, under "commented", unless the comment already mentions them (the mention is the more
specific news, so a mentioned assignee gets one notification, not two). An edit notifies only the people it
newly mentions.
"""

from __future__ import annotations

import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts.models import Membership
from accounts.permissions import Action, can
from notifications.models import Kind
from notifications.services import notify

from ..models import Activity, Comment, Task
from ._common import _activity, _require_work, _task_url

# "@" not preceded by a word character (so that the "@" inside an address does not start a mention),
# then an address's local part, optionally followed by its domain.
MENTION = re.compile(r"(?<![\w.+@-])@([\w.%+-]+(?:@[\w-]+(?:\.[\w-]+)+)?)")


def mentioned_members(task: Task, text: str) -> list:
    """The current, active members of the task's team that `text` mentions, in the order of their addresses.
    One query (the team's members), however many handles the text has."""
    handles = {handle.rstrip(".").lower() for handle in MENTION.findall(text or "")}
    if not handles:
        return []
    memberships = Membership.objects.filter(team_id=task.project.team_id, user__is_active=True).select_related("user")
    members = sorted((m.user for m in memberships), key=lambda u: u.email)
    local_parts: dict[str, list] = {}
    for user in members:
        local_parts.setdefault(user.email.lower().split("@", 1)[0], []).append(user)
    found = {}
    for user in members:
        email = user.email.lower()
        local = email.split("@", 1)[0]
        if email in handles or (local in handles and len(local_parts[local]) == 1):
            found[user.pk] = user
    return list(found.values())


def _clean_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": ["Write something."]})
    if len(body) > 10000:
        raise ValidationError({"body": ["A comment has at most 10000 characters."]})
    return body


def _notify_mentioned(task: Task, actor, comment: Comment, activity: Activity, people) -> set[int]:
    for user in people:
        notify(
            kind=Kind.MENTIONED,
            user=user,
            actor=actor,
            task=task,
            event=f"task:{task.pk}:mentioned:{activity.pk}",
            message=f"{actor.get_full_name()} mentioned you on “{task.title}”",
            url=_task_url(task) + f"#comment-{comment.pk}",
            context={"comment_body": comment.body},
        )
    return {user.pk for user in people}


@transaction.atomic
def comment_create(*, actor, task: Task, body: str) -> Comment:
    """Comment on a task; the people it mentions, and its creator and assignee, hear of it (see above)."""
    _require_work(actor, task)
    comment = Comment(task=task, author=actor, body=_clean_body(body))
    comment.full_clean(validate_unique=False, validate_constraints=False)
    comment.save()
    activity = _activity(task, actor, Activity.Verb.COMMENTED, "comment", None, comment.pk)
    told = _notify_mentioned(task, actor, comment, activity, mentioned_members(task, comment.body))
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
            context={"comment_body": comment.body},
        )
    return comment


def _lock_comment(comment: Comment) -> Comment:
    """The comment re-read under its row lock (a concurrent delete makes this a ValidationError)."""
    locked = Comment.objects.select_for_update().select_related("task__project", "author").filter(pk=comment.pk).first()
    if locked is None:
        raise ValidationError({"comment": ["This comment was deleted."]})
    return locked


@transaction.atomic
def comment_update(*, actor, comment: Comment, body: str) -> Comment:
    """Change the text of one's own comment (authors only, while they may work in the team). The people the new
    text mentions that the old one did not are notified. An unchanged text records nothing."""
    locked = _lock_comment(comment)
    task = locked.task
    _require_work(actor, task)
    if locked.author_id != actor.pk:
        raise PermissionDenied("Only its author can edit a comment.")
    new_body = _clean_body(body)
    if new_body == locked.body:
        return locked
    before = {user.pk for user in mentioned_members(task, locked.body)}
    locked.body = new_body
    locked.full_clean(validate_unique=False, validate_constraints=False)
    locked.save(update_fields=["body", "updated_at"])
    activity = _activity(task, actor, Activity.Verb.COMMENT_EDITED, "comment", None, locked.pk)
    newly = [user for user in mentioned_members(task, new_body) if user.pk not in before]
    _notify_mentioned(task, actor, locked, activity, newly)
    comment.body, comment.updated_at = locked.body, locked.updated_at
    return locked


def may_delete_comment(user, comment: Comment) -> bool:
    """Its author (while they may work in the team) or an admin or owner of the team."""
    team_id = comment.task.project.team_id
    return can(user, Action.MANAGE, team_id) or (comment.author_id == user.pk and can(user, Action.WORK, team_id))


@transaction.atomic
def comment_delete(*, actor, comment: Comment) -> None:
    """Delete a comment (its author, or an admin of the team). The history keeps who deleted whose comment, not
    its text: a deleted comment is gone."""
    locked = _lock_comment(comment)
    task = locked.task
    if not may_delete_comment(actor, locked):
        raise PermissionDenied("Only its author or a team admin can delete a comment.")
    if task.deleted_at is not None:
        raise ValidationError("This task is in the trash; restore it first.")
    old = {"id": locked.pk, "author": locked.author_id}
    locked.delete()
    _activity(task, actor, Activity.Verb.COMMENT_DELETED, "comment", old, None)
