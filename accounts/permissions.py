"""The one place that answers "may this user do this in that team?".

Roles are ranked: a viewer reads; a member also creates and edits tasks, stages and comments; an admin also
manages projects, templates and members; the owner also manages admins and the team itself. Views, API
views and services all ask here, so a rule changes in one place.

Django admin acts through the same services, so an admin's authority is decided here too:

- An active superuser is the site's operator and counts as the owner of every team, member or not
  (`role_in` answers OWNER), so the services let them do in any team what an owner may do; the rules that
  are not about roles (a team keeps an owner, a completed stage has its hours, ...) still hold.
- A staff user who is not a superuser gets no authority from being staff: in admin they act only where
  their membership role allows, exactly as in the web UI (and admin lists show them their own teams only).
- What a person can see in the web UI and the API does not change for superusers: selectors scope reads by
  membership (`team_ids_visible_to`), so the operator's acting power stays in admin, where it is logged.
"""

from enum import StrEnum

from django.core.exceptions import PermissionDenied

from .models import Membership, Role

ROLE_RANK = {Role.VIEWER: 1, Role.MEMBER: 2, Role.ADMIN: 3, Role.OWNER: 4}


class Action(StrEnum):
    VIEW = "view"  # read the team's projects, tasks, comments, dashboards
    WORK = "work"  # create and edit tasks, stages, comments
    MANAGE = "manage"  # projects, templates, invitations, member roles
    OWN = "own"  # the team itself; making or removing admins and owners


REQUIRED_ROLE = {Action.VIEW: Role.VIEWER, Action.WORK: Role.MEMBER, Action.MANAGE: Role.ADMIN, Action.OWN: Role.OWNER}


def role_in(user, team_id: int) -> Role | None:
    """The role the user acts with in the team: their membership's, OWNER for an active superuser (see the
    module docstring), or None for an outsider (or an anonymous or inactive user)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.is_superuser:
        return Role.OWNER
    cache = user.__dict__.setdefault("_aether_roles", {})
    if team_id not in cache:
        role = Membership.objects.filter(user=user, team_id=team_id).values_list("role", flat=True).first()
        cache[team_id] = Role(role) if role else None
    return cache[team_id]


def can(user, action: Action, team_id: int) -> bool:
    role = role_in(user, team_id)
    return role is not None and ROLE_RANK[role] >= ROLE_RANK[REQUIRED_ROLE[action]]


def require(user, action: Action, team_id: int) -> None:
    """Raise PermissionDenied unless the user may take the action in the team.

    Callers first fetch the object through a selector scoped to the user, so an outsider never gets this far
    (they get a 404); this answers only members whose role is too low (403).
    """
    if not can(user, action, team_id):
        raise PermissionDenied(f"Your role in this team does not allow this ({action}).")


def team_ids_visible_to(user):
    """A subquery of the ids of the teams the user belongs to."""
    memberships = Membership.objects.filter(user=user) if user.is_authenticated else Membership.objects.none()
    return memberships.values("team_id")


def admin_scope(user, queryset, team_path: str):
    """The rows of `queryset` that Django admin shows `user`: all of them for an active superuser (the site's
    operator), else those of the user's own teams (`team_path` leads from the rows to their team)."""
    if user.is_active and user.is_superuser:
        return queryset
    return queryset.filter(**{f"{team_path}__in": team_ids_visible_to(user)})
