"""The one place that answers "may this user do this?", and "whose team is this?".

Roles are ranked: a viewer reads; a member also creates and edits tasks, stages and comments; an admin also
manages projects, templates and members; the owner also manages admins and the team itself. Forms, views, API
views, admin, analytics and services all ask here, so a rule changes in one place; nothing outside accounts/
ranks roles or looks memberships up by user (accounts/tests/test_rules_once.py fails when something does).

The questions, each answered once:

- what a role allows in a team: `role_in`, `can`, `require` (and the `Action`s);
- who may hand out or change a role: `may_grant_role`, and who may manage a member: `may_manage_member`
  (admins manage members and viewers; only owners make, unmake or remove admins and owners);
- who may edit or delete a comment: `may_edit_comment`, `may_delete_comment`;
- who may be assigned a task in a team: active members only (`check_assignable`, and
  `accounts.selectors.assignable_members` for a form's choices);
- the teams of a user: `team_ids_visible_to` (and the selectors built on it), and in Django admin the teams a staff
  user administers: `admin_team_ids`, `admin_scope`.

Django admin acts through the same services, so an admin's authority is decided here too:

- An active superuser is the site's operator and counts as the owner of every team, member or not
  (`role_in` answers OWNER), so the services let them do in any team what an owner may do; the rules that
  are not about roles (a team keeps an owner, a completed stage has its hours, ...) still hold.
- A staff user who is not a superuser gets no authority from being staff: in admin they see and change only
  the data of the teams they are an admin or owner of (`admin_scope`), and there they act only where their
  role allows, exactly as in the web UI. What is not team data is for the operator alone (aether/admin_site.py).
- What a person can see in the web UI and the API does not change for superusers: selectors scope reads by
  membership (`team_ids_visible_to`), so the operator's acting power stays in admin, where it is logged.
"""

from __future__ import annotations

from enum import StrEnum

from django.core.exceptions import PermissionDenied, ValidationError

from aether.refusals import unprocessable

from .models import Membership, Role

ROLE_RANK = {Role.VIEWER: 1, Role.MEMBER: 2, Role.ADMIN: 3, Role.OWNER: 4}
# Roles only an owner may hand out, change or remove.
HIGH_ROLES = frozenset(role for role, rank in ROLE_RANK.items() if rank >= ROLE_RANK[Role.ADMIN])


class Action(StrEnum):
    VIEW = "view"  # read the team's projects, tasks, comments, dashboards
    WORK = "work"  # create and edit tasks, stages, comments
    MANAGE = "manage"  # projects, templates, invitations, member roles, the account audit trail
    OWN = "own"  # the team itself; making or removing admins and owners


REQUIRED_ROLE = {Action.VIEW: Role.VIEWER, Action.WORK: Role.MEMBER, Action.MANAGE: Role.ADMIN, Action.OWN: Role.OWNER}


def is_operator(user) -> bool:
    """An active superuser: the site's operator (every team's owner in admin, and the only one to see what is
    not team data there)."""
    return bool(getattr(user, "is_authenticated", False) and user.is_active and user.is_superuser)


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


def forget_roles(*users) -> None:
    """Drop the roles `role_in` remembered on these user objects (after a change of their memberships)."""
    for user in users:
        if user is not None:
            user.__dict__.pop("_aether_roles", None)


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


# --- roles and members ------------------------------------------------------------------------------------


def grantable_roles(actor, team_id: int) -> list[Role]:
    """The roles the actor may hand out in the team, highest first: owners (and the operator) any, admins
    members and viewers, everyone else none."""
    return [role for role in reversed(Role) if may_grant_role(actor, team_id, role)]


def may_grant_role(actor, team_id: int, role: str) -> bool:
    """May the actor give someone `role` in the team (invite, add, or change a member to it)?"""
    if role not in Role.values or not can(actor, Action.MANAGE, team_id):
        return False
    return Role(role) not in HIGH_ROLES or can(actor, Action.OWN, team_id)


def may_manage_member(actor, team_id: int, member_role: str) -> bool:
    """May the actor change the role of, or remove, a member who has `member_role` in the team?"""
    return may_grant_role(actor, team_id, member_role)


def require_grant_role(actor, team_id: int, role: str, *, field: str = "role", verb: str = "give") -> None:
    """The refusals of may_grant_role, each with its one message: PermissionDenied below the admin role, a
    ValidationError on `field` for an unknown role or an admin handing out admin or owner."""
    if role not in Role.values:
        raise ValidationError({field: [f"Choose one of: {', '.join(Role.values)}."]})
    require(actor, Action.MANAGE, team_id)
    if not may_grant_role(actor, team_id, role):
        raise ValidationError({field: [f"Only an owner can {verb} an admin or an owner."]})


def require_manage_member(actor, team_id: int, member_role: str, *, field: str = "user", verb: str) -> None:
    """The refusals of may_manage_member (`verb`: "remove", "change the role of", ...)."""
    require(actor, Action.MANAGE, team_id)
    if not may_manage_member(actor, team_id, member_role):
        raise ValidationError({field: [f"Only an owner can {verb} an admin or an owner."]})


# --- comments ---------------------------------------------------------------------------------------------


def may_edit_comment(user, comment) -> bool:
    """Its author, while they may work in the team. (`comment.task.project` is read.)"""
    return comment.author_id == getattr(user, "pk", None) and can(user, Action.WORK, comment.task.project.team_id)


def may_delete_comment(user, comment) -> bool:
    """Its author (while they may work in the team) or an admin or owner of the team."""
    return can(user, Action.MANAGE, comment.task.project.team_id) or may_edit_comment(user, comment)


# --- who may be assigned a task -------------------------------------------------------------------------


def is_assignable(team_id: int, user) -> bool:
    """Only an active member of the team may be assigned its tasks. One query."""
    return bool(user.is_active and Membership.objects.filter(team_id=team_id, user=user).exists())


def check_assignable(team_id: int, user, field: str = "assignee") -> None:
    """A ValidationError on `field` unless `user` (None: nobody) may be assigned a task of the team."""
    if user is not None and not is_assignable(team_id, user):
        raise unprocessable("Choose an active member of this team.", field)  # 422 in the API (aether/refusals.py)


# --- the teams of a user --------------------------------------------------------------------------------


def team_ids_visible_to(user):
    """A subquery of the ids of the teams the user belongs to (none for an anonymous user): what the
    selectors of every app scope their reads by."""
    memberships = Membership.objects.filter(user=user) if user.is_authenticated else Membership.objects.none()
    return memberships.values("team_id")


def admin_team_ids(user):
    """A subquery of the ids of the teams whose data Django admin shows a staff user: those they are an admin
    or owner of (a member or viewer of a team administers nothing of it)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Membership.objects.none().values("team_id")
    return Membership.objects.filter(user=user, role__in=HIGH_ROLES).values("team_id")


def admin_scope(user, queryset, team_path: str):
    """The rows of `queryset` that Django admin shows `user`: all of them for the operator, else those of the
    teams the user administers (`team_path` leads from the rows to their team, e.g. "project__team")."""
    if is_operator(user):
        return queryset
    return queryset.filter(**{f"{team_path}__in": admin_team_ids(user)})


def members_of_admin_teams(user, queryset):
    """The users of `queryset` that admin shows a staff user: the members of the teams they administer."""
    if is_operator(user):
        return queryset
    members = Membership.objects.filter(team__in=admin_team_ids(user)).values("user_id")
    return queryset.filter(pk__in=members)
