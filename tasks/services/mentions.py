"""@mentions in what people write on a task (its description, its comments): who a text mentions, and telling them.

A mention is `@` followed by the part of a team member's email address before its `@` (`@bob` for
bob@example.com), or by the whole address when two members share that part (`@bob@example.com`); case does
not matter. Only current, active members of the task's team are mentioned; nobody is told of their own text.
A handle inside code (a `code span`, a fenced or indented block) is quoted text, not a mention: the text is
read as the Markdown renderer reads it (tasks/templatetags/task_text.py), so what shows as code never notifies.
The same rule serves descriptions and comments: the services of both call these functions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from accounts.selectors import active_members_of
from notifications.models import Kind
from notifications.services import notify

from ..models import Activity, Task

# "@" not preceded by a word character (so that the "@" inside an address does not start a mention),
# then an address's local part, optionally followed by its domain.
MENTION = re.compile(r"(?<![\w.+@-])@([\w.%+-]+(?:@[\w-]+(?:\.[\w-]+)+)?)")


def _prose(text: str) -> str:
    """The text of `text` outside code, as the Markdown renderer parses it: each paragraph's words (links'
    texts included), a code span as a space, code blocks left out."""
    from ..templatetags.task_text import markdown_parser

    pieces = []
    for token in markdown_parser().parse(text):
        if token.type != "inline":
            continue
        for child in token.children or ():
            if child.type == "text":
                pieces.append(child.content)
            elif child.type in ("code_inline", "softbreak", "hardbreak"):
                pieces.append(" " if child.type == "code_inline" else "\n")
        pieces.append("\n")
    return "".join(pieces)


def _handles(text: str | None) -> set[str]:
    if not text or "@" not in text:
        return set()
    return {handle.rstrip(".").lower() for handle in MENTION.findall(_prose(text))}


def _active_members(team_id: int) -> list:
    """The team's active members (accounts' rule), in the order of their addresses."""
    return sorted(active_members_of(team_id), key=lambda u: u.email)


def handles_of(members) -> dict:
    """Each member's handle, by user: the part of the address before its `@`, or the whole address when two
    members share that part (the rule of the module docstring, as the @ picker offers it)."""
    local_parts: dict[str, list] = {}
    for user in members:
        local_parts.setdefault(user.email.lower().split("@", 1)[0], []).append(user)
    return {
        user: local if len(local_parts[local]) == 1 else user.email.lower()
        for local, users in local_parts.items()
        for user in users
    }


def _members_by_handles(task: Task, *handle_sets: set[str]) -> list[list]:
    """For each set of handles, the members of the task's team they name, in the order of their addresses.
    One query (the team's members) for all the sets, none when no set has a handle."""
    if not any(handle_sets):
        return [[] for _ in handle_sets]
    members = _active_members(task.project.team_id)
    local_parts: dict[str, list] = {}
    for user in members:
        local_parts.setdefault(user.email.lower().split("@", 1)[0], []).append(user)
    found = []
    for handles in handle_sets:
        named = []
        for user in members:
            email = user.email.lower()
            local = email.split("@", 1)[0]
            if email in handles or (local in handles and len(local_parts[local]) == 1):
                named.append(user)
        found.append(named)
    return found


def mentioned_members(task: Task, text: str | None) -> list:
    """The current, active members of the task's team that `text` mentions, in the order of their addresses.
    One query (the team's members), however many handles the text has; none for a text without a handle."""
    return _members_by_handles(task, _handles(text))[0]


def mentioned_anew(task: Task, before: str | None, after: str | None) -> list:
    """The members `after` mentions that `before` did not (an edit that fixes a typo mentions nobody anew).
    Both texts are read against today's members, so someone who joined since is not "new" to an unchanged
    mention. One query at most."""
    old, new = _members_by_handles(task, _handles(before), _handles(after))
    old_ids = {user.pk for user in old}
    return [user for user in new if user.pk not in old_ids]


def notify_mentioned(
    *,
    task: Task,
    actor,
    activity: Activity,
    people: Iterable,
    message: str,
    url: str,
    context: Mapping[str, Any],
    preview: str = "",
) -> set[int]:
    """Tell each of `people` that `actor` mentioned them (kind "mentioned", under its preference), in the
    caller's transaction; returns their ids. The event is named by the Activity row of the write that
    mentioned them, so telling it again (a retried call, a second notify) never writes a second row."""
    told = set()
    for user in people:
        notify(
            kind=Kind.MENTIONED,
            user=user,
            actor=actor,
            task=task,
            event=f"task:{task.pk}:mentioned:{activity.pk}",
            message=message,
            url=url,
            context=dict(context),
            preview=preview,
        )
        told.add(user.pk)
    return told


# --- showing mentions: pages, previews and (for notifications/ to reuse) emails ----------------------------


def mention_choices(team_id: int) -> list[dict]:
    """The @ picker's list: the team's active members, each {"name", "handle", "email"}, by name. One query."""
    members = _active_members(team_id)
    handles = handles_of(members)
    rows = [{"name": u.get_full_name(), "handle": handles[u], "email": u.email} for u in members]
    return sorted(rows, key=lambda r: (r["name"].lower(), r["handle"]))


def mention_links(team_id: int, *texts: str | None, base_url: str = "") -> dict[str, tuple[str, str]]:
    """The handles `texts` mention that name a current, active member of the team, each to (the member's name,
    the link to them: their row on the team page, absolute with `base_url`, as an email needs). What
    tasks.templatetags.task_text.render_markdown(text, mentions=...) turns into links; one query at most.
    Pages and emails render mentions through this pair, so they agree with who is notified."""
    wanted = set().union(*(_handles(t) for t in texts)) if texts else set()
    if not wanted:
        return {}
    from django.urls import reverse

    members = _active_members(team_id)
    page = base_url.rstrip("/") + reverse("accounts:team_detail", args=[team_id])
    links = {}
    for user, handle in handles_of(members).items():
        for name in (handle, user.email.lower()):
            if name in wanted:
                links[name] = (user.get_full_name(), f"{page}#member-{user.pk}")
    return links


def mentions_as_names(text: str | None, links: dict[str, tuple[str, str]]) -> str:
    """`text` with each mention of `links` written as "@Full Name" (a plain-text email's part)."""

    def name(match: re.Match) -> str:
        handle = match.group(1).rstrip(".")
        found = links.get(handle.lower())
        return f"@{found[0]}{match.group(1)[len(handle) :]}" if found else match.group(0)

    return MENTION.sub(name, text or "")


def email_mentions(team_id: int, *texts: str | None) -> dict[str, list[str]]:
    """mention_links with absolute links (SITE_URL), as JSON an outbox row's context can keep: what an email's
    HTML part makes links of and its plain-text part writes as names."""
    from django.conf import settings

    links = mention_links(team_id, *texts, base_url=settings.SITE_URL)
    return {handle: [name, url] for handle, (name, url) in links.items()}
