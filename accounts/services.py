"""Writes to users, teams and memberships. Invitations and role changes take the acting user."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from .models import Membership, Role, Team, User
from .permissions import ROLE_RANK, Action, require, role_in


@transaction.atomic
def user_create(*, email: str, password: str | None, full_name: str = "") -> User:
    email = User.objects.normalize_email((email or "").strip()).lower()
    if User.objects.filter(email=email).exists():
        raise ValidationError({"email": ["A user with this email address already exists."]})
    user = User(email=email, full_name=(full_name or "").strip())
    user.full_clean(exclude=["password"], validate_unique=False, validate_constraints=False)
    user.set_password(password)
    user.save()
    return user


@transaction.atomic
def team_create(*, owner: User, name: str, time_zone: str = "UTC") -> Team:
    """Create a team with `owner` as its first owner."""
    base = slugify(name)[:90] or "team"
    slug, n = base, 1
    while Team.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    team = Team(name=(name or "").strip(), slug=slug, time_zone=time_zone)
    team.full_clean(validate_unique=False, validate_constraints=False)
    team.save()
    Membership.objects.create(team=team, user=owner, role=Role.OWNER)
    return team


@transaction.atomic
def membership_set_role(*, actor: User, team: Team, user: User, role: str) -> Membership:
    """Change a member's role. Admins manage members and viewers; only owners make or unmake admins and owners,
    and a team always keeps at least one owner."""
    if role not in Role.values:
        raise ValidationError({"role": [f"Choose one of: {', '.join(Role.values)}."]})
    require(actor, Action.MANAGE, team.pk)
    membership = Membership.objects.select_for_update().filter(team=team, user=user).first()
    if membership is None:
        raise ValidationError({"user": ["This person is not a member of the team."]})
    high = ROLE_RANK[Role.ADMIN]
    if max(ROLE_RANK[Role(membership.role)], ROLE_RANK[Role(role)]) >= high:
        require(actor, Action.OWN, team.pk)
    if membership.role == Role.OWNER and role != Role.OWNER:
        owners = Membership.objects.select_for_update().filter(team=team, role=Role.OWNER).count()
        if owners <= 1:
            raise ValidationError({"role": ["A team needs at least one owner."]})
    membership.role = role
    membership.save(update_fields=["role"])
    user.__dict__.pop("_aether_roles", None)
    return membership


@transaction.atomic
def membership_remove(*, actor: User, team: Team, user: User) -> None:
    require(actor, Action.MANAGE, team.pk)
    membership = Membership.objects.select_for_update().filter(team=team, user=user).first()
    if membership is None:
        return
    if ROLE_RANK[Role(membership.role)] >= ROLE_RANK[Role.ADMIN] and role_in(actor, team.pk) != Role.OWNER:
        raise ValidationError({"user": ["Only an owner can remove an admin or an owner."]})
    if membership.role == Role.OWNER and Membership.objects.filter(team=team, role=Role.OWNER).count() <= 1:
        raise ValidationError({"user": ["A team needs at least one owner."]})
    membership.delete()
