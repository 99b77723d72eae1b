"""The task page's history: each Activity row in words (values are stored as ids, strings and RRULEs)."""

from __future__ import annotations

from datetime import date

from ..models import Activity, Priority, Status
from ..recurrence import RuleError, parse_rule


def day_words(iso: str | None) -> str:
    """ "2026-12-06" as the pages write a day: "6 Dec 2026" (the text itself if it is not a date)."""
    try:
        day = date.fromisoformat(iso or "")
    except ValueError:
        return iso or ""
    return f"{day.day} {day:%b %Y}"


def rule_words(values: dict) -> str:
    """A stored rule ({"rule", "starts_on"} of an Activity row) in words, lower-cased to follow a verb: "every
    week on Mon". The rule as stored if it no longer parses (a history row outlives the rules' subset)."""
    try:
        start = date.fromisoformat(values["starts_on"]) if values.get("starts_on") else None
        words = parse_rule(values.get("rule", "")).summary(start)
    except (RuleError, ValueError):
        return values.get("rule", "")
    return words[:1].lower() + words[1:]


def describe_activity(activity: Activity, people: dict) -> str:
    """One line of the history, in words. Values are stored as ids and strings; this names them."""
    verb, field, old, new = activity.verb, activity.field, activity.old_value, activity.new_value
    status_label = dict(Status.choices)
    if verb in (Activity.Verb.STATUS_CHANGED, Activity.Verb.COMPLETED, Activity.Verb.REOPENED):
        return f"moved the task from {status_label.get(old, old)} to {status_label.get(new, new)}"
    if verb == Activity.Verb.ASSIGNED:
        if new is None:
            return "unassigned the task"
        person = people.get(new)
        return f"assigned the task to {person.get_full_name() if person else 'a former member'}"
    if verb == Activity.Verb.UPDATED:
        if field == "priority":
            return f"changed the priority from {Priority(old).label} to {Priority(new).label}"
        if field == "due_date":
            if not new:
                return "removed the due date"
            return f"set the due date to {new}" if not old else f"moved the due date from {old} to {new}"
        if field == "title":
            return f"renamed the task from “{old}” to “{new}”"
        if field == "labels":
            return "changed the labels"
        return f"changed the {field.replace('_', ' ')}"
    if verb == Activity.Verb.STAGE_ADDED:
        return f"added the stage “{(new or {}).get('name', '')}”"
    if verb == Activity.Verb.STAGE_COMPLETED:
        return f"completed {field} “{new.get('name', '')}” in {new.get('actual_hours', '?')} h"
    if verb in (Activity.Verb.STAGE_STARTED, Activity.Verb.STAGE_REOPENED):
        return f"{'started' if verb == Activity.Verb.STAGE_STARTED else 'reopened'} {field} “{new}”"
    if verb == Activity.Verb.STAGE_DELETED:
        return f"deleted {field} “{old}”"
    if verb == Activity.Verb.COMMENT_DELETED:
        author = people.get((old or {}).get("author"))
        if author is None or author.pk == getattr(activity.actor, "pk", None):
            return "deleted a comment"
        return f"deleted a comment by {author.get_full_name()}"
    if verb == Activity.Verb.STAGE_UPDATED:
        return f"changed {field}"
    if verb == Activity.Verb.CREATED and isinstance(new, dict) and "series" in new:
        on = day_words(new.get("occurrence"))
        return f"created the task as the {on} occurrence of a task that repeats {rule_words(new)}"
    if verb == Activity.Verb.RECURRENCE_SET:
        summary = (new or {}).get("summary", "")
        return f"changed the repeats to: {summary}" if old else f"set the task to repeat: {summary}"
    if verb == Activity.Verb.RECURRENCE_STOPPED:
        return f"stopped the repeats ({rule_words(old or {})})"
    if verb == Activity.Verb.RECURRENCE_HELD:
        new = new or {}
        return (
            f"made {new.get('made')} occurrences at once ({new.get('first')} to {new.get('last')}), the most one run "
            f"makes; the rest, from {new.get('next_on')}, follow on the next runs"
        )
    return activity.get_verb_display()
