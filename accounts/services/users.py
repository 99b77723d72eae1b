"""Accounts: creating them, their own fields, their calendar link, deactivating and reactivating them."""

from __future__ import annotations

import secrets

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from aether.refusals import only_fields

from ..audit import audit_record
from ..models import AccountEventKind, CalendarFeed, Membership, Role, Team, User
from ..permissions import forget_roles, is_operator
from ._common import insert

EMAIL_TAKEN = "A user with this email address already exists."
OPERATOR_ONLY = "Only the site's operator (a superuser) can change accounts."


@transaction.atomic
def user_create(*, email: str, password: str | None, full_name: str = "") -> User:
    """Create a user. An address already taken, in any case, is an error on `email`, even when another
    request creates the same address at the same moment."""
    email = User.objects.normalize_email((email or "").strip()).lower()
    if User.objects.filter(email=email).exists():
        raise ValidationError({"email": [EMAIL_TAKEN]})
    user = User(email=email, full_name=(full_name or "").strip())
    user.full_clean(exclude=["password"], validate_unique=False, validate_constraints=False)
    user.set_password(password)
    if not insert(user):
        if User.objects.filter(email=email).exists():
            raise ValidationError({"email": [EMAIL_TAKEN]})
        raise IntegrityError(f"user {email} was refused by a constraint other than the unique email")
    return user


@transaction.atomic
def profile_update(*, actor: User, full_name: str) -> User:
    """Change one's own name (the profile page)."""
    full_name = (full_name or "").strip()
    if not full_name:
        raise ValidationError({"full_name": ["Enter your name."]})
    actor.full_name = full_name
    actor.full_clean(exclude=["password"], validate_unique=False, validate_constraints=False)
    actor.save(update_fields=["full_name"])
    return actor


ACCOUNT_FIELDS = ("email", "full_name", "is_staff", "is_superuser")


@transaction.atomic
def user_update(*, actor: User, user: User, data: dict) -> User:
    """The operator changes an account's own fields (Django admin): address, name, staff and superuser flags.
    Activation has its own services (user_deactivate, user_reactivate); the password too (password_set)."""
    if not is_operator(actor):
        raise PermissionDenied(OPERATOR_ONLY)
    only_fields(data, ACCOUNT_FIELDS)
    locked = User.objects.select_for_update().get(pk=user.pk)
    if "email" in data:
        data = {**data, "email": User.objects.normalize_email((data["email"] or "").strip()).lower()}
        if User.objects.filter(email=data["email"]).exclude(pk=user.pk).exists():
            raise ValidationError({"email": [EMAIL_TAKEN]})
    changed = [field for field, value in data.items() if getattr(locked, field) != value]
    for field in changed:
        setattr(locked, field, data[field])
    locked.full_clean(exclude=["password"], validate_unique=False, validate_constraints=False)
    if changed:
        try:
            with transaction.atomic():
                locked.save(update_fields=changed)
        except IntegrityError:
            raise ValidationError({"email": [EMAIL_TAKEN]}) from None
    return locked


def calendar_feed_reset(*, actor: User) -> CalendarFeed:
    """Give the user's private iCal feed a new secret token (creating the feed the first time): the link
    with the old token answers 404 from now on. Its one write is an update or an insert behind the unique
    user (update_or_create locks the row first), so two resets at once leave one feed with one new token."""
    feed, _ = CalendarFeed.objects.update_or_create(
        user=actor,
        defaults={"token": secrets.token_urlsafe(32), "created_at": timezone.now()},
    )
    return feed


@transaction.atomic
def user_deactivate(*, actor: User, user: User) -> User:
    """Deactivate an account (the operator only). It does, in every team of the person, what leaving it does
    (accounts/services/teams.py `member_leaves`: their open tasks unassigned with an Activity row each, their
    emails still waiting withheld, their in-app notifications deleted), and revokes what they signed in with:
    sessions end (Django refuses an inactive account's), API refresh tokens are blacklisted (access tokens are
    refused at once: the account is checked on every request), the calendar link is deleted. Memberships stay,
    for a reactivation. Refused for the only owner of a team (make someone else owner first) and for oneself.
    """
    from .teams import _lock_team, member_leaves

    if not is_operator(actor):
        raise PermissionDenied(OPERATOR_ONLY)
    if actor.pk == user.pk:
        raise ValidationError({"is_active": ["You cannot deactivate your own account."]})
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.is_active:
        return user
    memberships = list(Membership.objects.filter(user=user).select_related("team").order_by("team_id"))
    for membership in memberships:  # in team order, as every membership change takes them: no deadlock
        _lock_team(membership.team)
    sole = [team.name for team in _teams_owned_alone(user)]
    if sole:
        raise ValidationError(
            {"is_active": [f"{user} is the only owner of {', '.join(sorted(sole))}: make someone else owner first."]}
        )
    for membership in memberships:
        member_leaves(actor=actor, team=membership.team, user=user)
    user.is_active = False
    user.save(update_fields=["is_active"])
    forget_roles(user)
    _tokens_revoke(user)
    CalendarFeed.objects.filter(user=user).delete()
    audit_record(
        AccountEventKind.USER_DEACTIVATED,
        actor=actor,
        subject=user,
        data={"teams": [m.team_id for m in memberships]},
    )
    return user


def _tokens_revoke(user: User) -> int:
    """Blacklist every refresh token of the user that has not expired yet. Returns how many."""
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

    live = OutstandingToken.objects.filter(user=user, expires_at__gt=timezone.now()).exclude(
        pk__in=BlacklistedToken.objects.values("token_id")
    )
    return len(BlacklistedToken.objects.bulk_create([BlacklistedToken(token=t) for t in live], ignore_conflicts=True))


@transaction.atomic
def user_reactivate(*, actor: User, user: User) -> User:
    """Let a deactivated account sign in again (the operator only). Their memberships are as they were; the
    tasks unassigned at deactivation stay unassigned."""
    if not is_operator(actor):
        raise PermissionDenied(OPERATOR_ONLY)
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_active:
        return user
    user.is_active = True
    user.save(update_fields=["is_active"])
    forget_roles(user)
    audit_record(AccountEventKind.USER_REACTIVATED, actor=actor, subject=user)
    return user


def _teams_owned_alone(user: User) -> list[Team]:
    """The teams whose only active owner is `user` (what a deactivation would leave without an owner)."""
    return [
        m.team
        for m in Membership.objects.filter(user=user, role=Role.OWNER).select_related("team")
        if not Membership.objects.filter(team=m.team, role=Role.OWNER, user__is_active=True).exclude(user=user).exists()
    ]
