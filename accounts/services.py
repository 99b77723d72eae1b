"""Writes to users, teams and memberships. Team changes, memberships and invitations take the acting user."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.text import slugify

from notifications.models import Kind
from notifications.services import email_enqueue, notifications_withdraw

from .hooks import member_leaving_run
from .models import CalendarFeed, Invitation, Membership, Role, Team, User
from .permissions import ROLE_RANK, Action, require, role_in

EMAIL_TAKEN = "A user with this email address already exists."
SLUG_TAKEN = "A team with this slug already exists."


def _insert(obj) -> bool:
    """Insert `obj` in a savepoint. False when a unique constraint refused it (a concurrent transaction wrote
    the same key first: the check before the insert cannot see a row that is not committed yet), so that the
    caller can answer with a field error instead of an IntegrityError."""
    try:
        with transaction.atomic():
            obj.save(force_insert=True)
    except IntegrityError:
        return False
    return True


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
    if not _insert(user):
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
        if _insert(team):
            break
        if not Team.objects.filter(slug=team.slug).exists():
            raise IntegrityError(f"team {team.slug} was refused by a constraint other than the unique slug")
        if wanted:
            raise ValidationError({"slug": [SLUG_TAKEN]})
    else:  # twenty concurrent teams of one name took every slug this one tried
        raise ValidationError({"name": ["Many teams of this name are being created at once; try again."]})
    Membership.objects.create(team=team, user=owner, role=Role.OWNER)
    owner.__dict__.pop("_aether_roles", None)
    return team


def _free_slug(base: str) -> str:
    slug, n = base, 1
    while Team.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def team_update(*, actor: User, team: Team, data: dict) -> Team:
    """Change a team's name, slug or time zone (its owners only). A slug already taken is an error on `slug`."""
    require(actor, Action.OWN, team.pk)
    unknown = set(data) - {"name", "slug", "time_zone"}
    if unknown:
        raise ValidationError({name: ["This field cannot be changed here."] for name in sorted(unknown)})
    team = Team.objects.select_for_update().get(pk=team.pk)
    changed = [k for k, v in data.items() if getattr(team, k) != (v.strip() if isinstance(v, str) else v)]
    for field in changed:
        setattr(team, field, data[field].strip() if isinstance(data[field], str) else data[field])
    team.full_clean(validate_unique=False, validate_constraints=False)
    if "slug" in changed and Team.objects.filter(slug=team.slug).exclude(pk=team.pk).exists():
        raise ValidationError({"slug": [SLUG_TAKEN]})
    if changed:
        try:
            with transaction.atomic():
                team.save(update_fields=changed)
        except IntegrityError:
            raise ValidationError({"slug": [SLUG_TAKEN]}) from None
    return team


@transaction.atomic
def membership_add(*, actor: User, team: Team, user: User, role: str = Role.MEMBER) -> Membership:
    """Add an existing user to the team directly (Django admin; the web UI invites instead).

    The rules of invitations: admins add members and viewers, only owners add admins and owners. A person
    who is already a member is an error on `user`, also when two requests add them at the same moment.
    """
    require(actor, Action.MANAGE, team.pk)
    if role not in Role.values:
        raise ValidationError({"role": [f"Choose one of: {', '.join(Role.values)}."]})
    if ROLE_RANK[Role(role)] >= ROLE_RANK[Role.ADMIN] and role_in(actor, team.pk) != Role.OWNER:
        raise ValidationError({"role": ["Only an owner can add an admin or an owner."]})
    if not user.is_active:
        raise ValidationError({"user": ["This account is deactivated."]})
    already = ValidationError({"user": ["This person is already a member of the team."]})
    if Membership.objects.filter(team=team, user=user).exists():
        raise already
    membership = Membership(team=team, user=user, role=role)
    if not _insert(membership):
        raise already
    user.__dict__.pop("_aether_roles", None)
    return membership


@transaction.atomic
def membership_set_role(*, actor: User, team: Team, user: User, role: str) -> Membership:
    """Change a member's role. Admins manage members and viewers; only owners make or unmake admins and owners,
    and a team always keeps at least one owner.

    The team's row is locked first, as membership_remove does, so role changes and removals of one team run
    one after the other and the owners counted are the owners there are."""
    if role not in Role.values:
        raise ValidationError({"role": [f"Choose one of: {', '.join(Role.values)}."]})
    Team.objects.select_for_update().filter(pk=team.pk).values_list("pk", flat=True).first()
    actor.__dict__.pop("_aether_roles", None)  # the actor's own role, read again under the lock
    require(actor, Action.MANAGE, team.pk)
    membership = Membership.objects.select_for_update(of=("self",)).filter(team=team, user=user).order_by().first()
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
    """Remove `user` from `team`. Admins remove members and viewers; only owners remove admins and owners, and
    a team always keeps an owner. Removing someone who is not a member does nothing.

    In the same transaction, nothing about the team reaches the leaver any more: the apps above accounts act
    first (accounts/hooks.py; tasks unassigns the leaver's open tasks in the team, an Activity row each), then
    their emails about the team still waiting are withheld and their in-app notifications about it deleted.

    The team's row is locked first, so removals from one team run one after the other: the owners counted are
    the owners that remain, and two owners removing each other at once leave one. The actor's role is read
    again under the lock (the actor may have been removed by the removal that held it)."""
    require(actor, Action.MANAGE, team.pk)
    Team.objects.select_for_update().filter(pk=team.pk).values_list("pk", flat=True).first()
    actor.__dict__.get("_aether_roles", {}).pop(team.pk, None)
    require(actor, Action.MANAGE, team.pk)
    # Lock the row itself only: the default ordering would join (and so lock) the team and user rows too.
    membership = Membership.objects.select_for_update(of=("self",)).filter(team=team, user=user).order_by().first()
    if membership is None:
        return
    if ROLE_RANK[Role(membership.role)] >= ROLE_RANK[Role.ADMIN] and role_in(actor, team.pk) != Role.OWNER:
        raise ValidationError({"user": ["Only an owner can remove an admin or an owner."]})
    if membership.role == Role.OWNER and Membership.objects.filter(team=team, role=Role.OWNER).count() <= 1:
        raise ValidationError({"user": ["A team needs at least one owner."]})
    member_leaving_run(actor=actor, team=team, user=user)
    notifications_withdraw(user_id=user.pk, team_id=team.pk)
    membership.delete()
    user.__dict__.get("_aether_roles", {}).pop(team.pk, None)


# --- invitations ----------------------------------------------------------------------------------------

INVITATION_LIFETIME = timedelta(days=7)


def _invitation_url(invitation: Invitation) -> str:
    return reverse("accounts:invitation_accept", args=[invitation.token])


@transaction.atomic
def invitation_create(*, actor: User, team: Team, email: str, role: str = Role.MEMBER) -> Invitation:
    """Invite an email address to the team and queue the invitation email in the same transaction.

    Admins invite members and viewers; only owners invite admins and owners. Inviting an address that already
    has an open invitation to the team resends that same invitation: the same token (the link the person may
    already have keeps working, even one that had expired), a fresh expiry, and the role now asked for.
    """
    require(actor, Action.MANAGE, team.pk)
    if role not in Role.values:
        raise ValidationError({"role": [f"Choose one of: {', '.join(Role.values)}."]})
    if ROLE_RANK[Role(role)] >= ROLE_RANK[Role.ADMIN] and role_in(actor, team.pk) != Role.OWNER:
        raise ValidationError({"role": ["Only an owner can invite an admin or an owner."]})
    email = User.objects.normalize_email((email or "").strip()).lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": ["Enter a valid email address."]}) from None
    if Membership.objects.filter(team=team, user__email=email).exists():
        raise ValidationError({"email": ["This person is already a member of the team."]})
    invitation = Invitation.objects.select_for_update().filter(team=team, email=email, accepted_at__isnull=True).first()
    if invitation is None:
        invitation = Invitation(team=team, email=email)
    invitation.role = role
    invitation.invited_by = actor
    if not invitation.token:
        invitation.token = secrets.token_urlsafe(32)
    invitation.expires_at = timezone.now() + INVITATION_LIFETIME
    invitation.save()
    existing = User.objects.filter(email=email).first()
    email_enqueue(
        kind=Kind.INVITATION,
        recipient=email,
        user=existing,
        # One email per sending: a resend has the same token but a new expiry.
        dedupe_key=f"invitation:{invitation.pk}:{invitation.token[:16]}:{invitation.expires_at.isoformat()}",
        context={
            "recipient_name": existing.get_short_name() if existing else email,
            "actor_name": actor.get_full_name(),
            "team_name": team.name,
            "message": (
                f"{actor.get_full_name()} invited you to join {team.name} on Aether as {Role(role).label.lower()}. "
                f"The link works until {invitation.expires_at:%d %B %Y}."
            ),
            "url": _invitation_url(invitation),
        },
    )
    return invitation


@transaction.atomic
def invitation_revoke(*, actor: User, invitation: Invitation) -> None:
    require(actor, Action.MANAGE, invitation.team_id)
    if invitation.accepted_at is not None:
        raise ValidationError({"invitation": ["This invitation was already accepted."]})
    invitation.delete()


@transaction.atomic
def invitation_accept(
    *, token: str, user: User | None = None, password: str | None = None, full_name: str = ""
) -> tuple[User, Membership]:
    """Accept an invitation: join its team with its role.

    A signed-in `user` joins as themselves (their address must be the invited one). Without a user, a new
    account is made for the invited address with `password` (checked by the password validators).
    """
    invitation = Invitation.objects.select_for_update().select_related("team").filter(token=token).first()
    if invitation is None or not invitation.is_usable:
        raise ValidationError({"token": ["This invitation link is no longer valid. Ask for a new one."]})
    if user is None:
        if User.objects.filter(email=invitation.email).exists():
            raise ValidationError({"email": ["An account with this address exists: sign in to accept."]})
        candidate = User(email=invitation.email, full_name=(full_name or "").strip())
        try:
            validate_password(password or "", user=candidate)
        except ValidationError as exc:
            raise ValidationError({"password": exc.messages}) from None
        try:
            user = user_create(email=invitation.email, password=password, full_name=full_name)
        except ValidationError as exc:
            if "email" not in exc.message_dict:
                raise
            # The same address signed up (or accepted another invitation) a moment ago.
            raise ValidationError({"email": ["An account with this address exists: sign in to accept."]}) from None
    elif user.email.lower() != invitation.email:
        raise ValidationError({"email": [f"This invitation is for {invitation.email}; sign in with that address."]})
    membership, _ = Membership.objects.get_or_create(
        team=invitation.team, user=user, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    user.__dict__.pop("_aether_roles", None)
    return user, membership


# --- password reset -------------------------------------------------------------------------------------


@transaction.atomic
def password_reset_request(*, email: str, address: str = "-") -> int:
    """Queue a reset link to each active account with this address. Returns how many were queued.

    The caller tells the person the same thing whether or not an account exists, so that the form does not
    reveal who has one. Requests are limited per account (AETHER_RESET_PER_ACCOUNT an hour, 3) and per client
    `address` (AETHER_RESET_PER_ADDRESS, 10): past either, nothing is queued, and the answer is the same.
    """
    from django.conf import settings

    from .signin import account_key, within_limit

    key = account_key(email)
    hour = 60 * 60
    # Both counted on every request, so the limits say nothing about which addresses have an account.
    per_address = within_limit("reset-address", address, limit=settings.AETHER_RESET_PER_ADDRESS, window_seconds=hour)
    per_account = within_limit("reset-account", key, limit=settings.AETHER_RESET_PER_ACCOUNT, window_seconds=hour)
    if not (per_address and per_account):
        return 0
    email = (email or "").strip().lower()
    queued = 0
    for user in User.objects.filter(email=email, is_active=True):
        if not user.has_usable_password():
            continue
        uid = urlsafe_base64_encode(force_bytes(user.pk))
        token = default_token_generator.make_token(user)
        queued += email_enqueue(
            kind=Kind.PASSWORD_RESET,
            recipient=user.email,
            user=user,
            dedupe_key=f"password_reset:{user.pk}:{token}",
            context={
                "recipient_name": user.get_short_name(),
                "message": (
                    "Someone (hopefully you) asked to reset your Aether password. Follow the link to choose a new "
                    "one; it works once, for a day. If you did not ask, ignore this email."
                ),
                "url": reverse("accounts:password_reset_confirm", kwargs={"uidb64": uid, "token": token}),
            },
        )
    return queued
