"""Teams and their memberships. Every write takes the acting user, asks accounts/permissions.py, runs in one
transaction and records its AccountEvent in it (accounts/audit.py)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from aether.changes import record
from aether.refusals import only_fields
from notifications.services import notifications_withdraw

from ..audit import audit_record
from ..hooks import member_leaving_run
from ..models import AccountEventKind, Membership, Role, Team, User
from ..permissions import Action, forget_roles, require, require_grant_role, require_manage_member
from ._common import insert

SLUG_TAKEN = "A team with this slug already exists."


@transaction.atomic
def team_create(*, owner: User, name: str, time_zone: str = "UTC", slug: str | None = None) -> Team:
    """Create a team with `owner` as its first owner.

    Without a `slug`, one is made from the name, with a number added when it is taken ("design-team-2"); two
    teams of the same name created at the same moment get two slugs. A `slug` given and already taken is an
    error on `slug`, whoever took it first.
    """
    name = (name or "").strip()
    wanted = (slug or "").strip()
    base = wanted or slugify(name)[:90] or "team"
    team = Team(name=name, slug=base, time_zone=time_zone)
    team.full_clean(validate_unique=False, validate_constraints=False)
    if wanted and Team.objects.filter(slug=wanted).exists():
        raise ValidationError({"slug": [SLUG_TAKEN]})
    for _ in range(20):
        if not wanted:
            team.slug = _free_slug(base)
        if insert(team):
            break
        if not Team.objects.filter(slug=team.slug).exists():
            raise IntegrityError(f"team {team.slug} was refused by a constraint other than the unique slug")
        if wanted:
            raise ValidationError({"slug": [SLUG_TAKEN]})
    else:  # twenty concurrent teams of one name took every slug this one tried
        raise ValidationError({"name": ["Many teams of this name are being created at once; try again."]})
    Membership.objects.create(team=team, user=owner, role=Role.OWNER)
    forget_roles(owner)
    audit_record(AccountEventKind.MEMBER_ADDED, actor=owner, team=team, subject=owner, data={"role": Role.OWNER})
    record(members=[(owner.pk, team.pk)], teams=[team.pk])
    return team


def _free_slug(base: str) -> str:
    slug, n = base, 1
    while Team.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def _clean_value(value):
    return value.strip() if isinstance(value, str) else value


@transaction.atomic
def team_update(*, actor: User, team: Team, data: dict) -> Team:
    """Change a team's name, slug or time zone (its owners only). A slug already taken is an error on `slug`.
    A new name or slug is recorded as "renamed", a new time zone as such, each with its old and new value."""
    require(actor, Action.OWN, team.pk)
    only_fields(data, {"name", "slug", "time_zone"})
    team = Team.objects.select_for_update().get(pk=team.pk)
    old = {field: getattr(team, field) for field in data}
    changed = [k for k, v in data.items() if getattr(team, k) != _clean_value(v)]
    for field in changed:
        setattr(team, field, _clean_value(data[field]))
    team.full_clean(validate_unique=False, validate_constraints=False)
    if "slug" in changed and Team.objects.filter(slug=team.slug).exclude(pk=team.pk).exists():
        raise ValidationError({"slug": [SLUG_TAKEN]})
    if changed:
        try:
            with transaction.atomic():
                team.save(update_fields=changed)
        except IntegrityError:
            raise ValidationError({"slug": [SLUG_TAKEN]}) from None
    renamed = {f: {"old": old[f], "new": getattr(team, f)} for f in ("name", "slug") if f in changed}
    if renamed:
        audit_record(AccountEventKind.TEAM_RENAMED, actor=actor, team=team, data=renamed)
    if "time_zone" in changed:
        audit_record(
            AccountEventKind.TEAM_TIME_ZONE_CHANGED,
            actor=actor,
            team=team,
            data={"old": old["time_zone"], "new": team.time_zone},
        )
    if changed:
        # Its members' accounts carry its time zone (accounts/auth_projection.py).
        members = (
            Membership.objects.filter(team=team).values_list("user_id", flat=True) if "time_zone" in changed else []
        )
        record(teams=[team.pk], accounts=list(members))
    return team


def _lock_team(team: Team) -> None:
    """Take the team's row lock: membership changes of one team run one after the other, so the owners counted
    are the owners there are."""
    Team.objects.select_for_update().filter(pk=team.pk).values_list("pk", flat=True).first()


def _lock_membership(team: Team, user: User) -> Membership | None:
    # Lock the row itself only: the default ordering would join (and so lock) the team and user rows too.
    return Membership.objects.select_for_update(of=("self",)).filter(team=team, user=user).order_by().first()


@transaction.atomic
def membership_add(*, actor: User, team: Team, user: User, role: str = Role.MEMBER) -> Membership:
    """Add an existing user to the team directly (Django admin; the web UI invites instead).

    The rules of invitations (accounts/permissions.py `may_grant_role`). A person who is already a member is an
    error on `user`, also when two requests add them at the same moment; so is a deactivated account.
    """
    require_grant_role(actor, team.pk, role, verb="add")
    if not user.is_active:
        raise ValidationError({"user": ["This account is deactivated."]})
    already = ValidationError({"user": ["This person is already a member of the team."]})
    if Membership.objects.filter(team=team, user=user).exists():
        raise already
    membership = Membership(team=team, user=user, role=role)
    if not insert(membership):
        raise already
    forget_roles(user)
    audit_record(AccountEventKind.MEMBER_ADDED, actor=actor, team=team, subject=user, data={"role": role})
    record(members=[(user.pk, team.pk)])
    return membership


@transaction.atomic
def membership_set_role(*, actor: User, team: Team, user: User, role: str) -> Membership:
    """Change a member's role: the actor must be allowed to manage the member as they are and to grant the
    new role (admins manage members and viewers; only owners make or unmake admins and owners), and a team
    always keeps at least one owner. Runs under the team's row lock (the actor's role is read again under it)."""
    if role not in Role.values:
        raise ValidationError({"role": [f"Choose one of: {', '.join(Role.values)}."]})
    _lock_team(team)
    forget_roles(actor)
    require(actor, Action.MANAGE, team.pk)
    membership = _lock_membership(team, user)
    if membership is None:
        raise ValidationError({"user": ["This person is not a member of the team."]})
    require_manage_member(actor, team.pk, membership.role, field="role", verb="make or unmake")
    require_grant_role(actor, team.pk, role, verb="make or unmake")
    if membership.role == Role.OWNER and role != Role.OWNER:
        owners = Membership.objects.select_for_update().filter(team=team, role=Role.OWNER).count()
        if owners <= 1:
            raise ValidationError({"role": ["A team needs at least one owner."]})
    old = membership.role
    if old == role:
        return membership
    membership.role = role
    membership.save(update_fields=["role"])
    forget_roles(user)
    audit_record(AccountEventKind.ROLE_CHANGED, actor=actor, team=team, subject=user, data={"old": old, "new": role})
    record(accounts=[user.pk], teams=[team.pk])
    return membership


@transaction.atomic
def membership_remove(*, actor: User, team: Team, user: User) -> None:
    """Remove `user` from `team`. Admins remove members and viewers; only owners remove admins and owners, and
    a team always keeps an owner. Removing someone who is not a member does nothing.

    In the same transaction, nothing about the team reaches the leaver any more (`_member_leaves`).

    The team's row is locked first, so removals from one team run one after the other: the owners counted are
    the owners that remain, and two owners removing each other at once leave one. The actor's role is read
    again under the lock (the actor may have been removed by the removal that held it)."""
    require(actor, Action.MANAGE, team.pk)
    _lock_team(team)
    forget_roles(actor)
    require(actor, Action.MANAGE, team.pk)
    membership = _lock_membership(team, user)
    if membership is None:
        return
    require_manage_member(actor, team.pk, membership.role, verb="remove")
    if membership.role == Role.OWNER and Membership.objects.filter(team=team, role=Role.OWNER).count() <= 1:
        raise ValidationError({"user": ["A team needs at least one owner."]})
    member_leaves(actor=actor, team=team, user=user)
    membership.delete()
    forget_roles(user)
    audit_record(AccountEventKind.MEMBER_REMOVED, actor=actor, team=team, subject=user, data={"role": membership.role})
    record(members=[(user.pk, team.pk)])


def member_leaves(*, actor, team: Team, user: User) -> None:
    """What leaving a team does, in the caller's transaction (a removal, a deactivation): the apps above accounts
    act first (accounts/hooks.py; tasks unassigns the leaver's open tasks in the team, an Activity row each),
    then their emails about the team still waiting are withheld and their in-app notifications about it
    deleted."""
    member_leaving_run(actor=actor, team=team, user=user)
    notifications_withdraw(user_id=user.pk, team_id=team.pk)
