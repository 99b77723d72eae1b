"""Invitations: sending, withdrawing and accepting them. The link is a credential, made only when the email is
sent (accounts/links.py); the row keeps its hash."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from aether.changes import record
from notifications.models import Kind
from notifications.services import email_enqueue

from ..audit import audit_record
from ..links import invitation_by_token, invitation_token, new_invitation_nonce, token_hash
from ..models import AccountEventKind, Invitation, Membership, Role, User
from ..permissions import Action, forget_roles, require, require_grant_role
from .users import user_create

INVITATION_LIFETIME = timedelta(days=7)
INVALID_LINK = "This invitation link is no longer valid. Ask for a new one."


@transaction.atomic
def invitation_create(*, actor: User, team, email: str, role: str = Role.MEMBER) -> Invitation:
    """Invite an email address to the team and queue the invitation email in the same transaction.

    Admins invite members and viewers; only owners invite admins and owners (accounts/permissions.py).
    Inviting an address that already has an open invitation to the team resends that same invitation: the
    same link (the one the person may already have keeps working, even one that had expired), a fresh
    expiry, and the role now asked for. The email's link is made when it is sent, not now.
    """
    require_grant_role(actor, team.pk, role, verb="invite")
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
    if not invitation.token_nonce:  # new, or made before links were derived (its old link stops working)
        invitation.token_nonce = new_invitation_nonce()
        invitation.token_hash = token_hash(invitation_token(invitation))
    invitation.expires_at = timezone.now() + INVITATION_LIFETIME
    invitation.save()
    existing = User.objects.filter(email=email).first()
    email_enqueue(
        kind=Kind.INVITATION,
        recipient=email,
        user=existing,
        # One email per sending: a resend has the same link but a new expiry. Nothing secret in the key.
        dedupe_key=f"invitation:{invitation.pk}:{invitation.expires_at.isoformat()}",
        context={
            "invitation_id": invitation.pk,  # the link is made from it at delivery (accounts/links.py)
            "recipient_name": existing.get_short_name() if existing else email,
            "actor_name": actor.get_full_name(),
            "team_name": team.name,
            "message": (
                f"{actor.get_full_name()} invited you to join {team.name} on Aether as {Role(role).label.lower()}. "
                f"The link works until {invitation.expires_at:%d %B %Y}."
            ),
        },
    )
    audit_record(AccountEventKind.INVITATION_SENT, actor=actor, team=team, email=email, data={"role": role})
    return invitation


@transaction.atomic
def invitation_revoke(*, actor: User, invitation: Invitation) -> None:
    """Withdraw an open invitation (its link answers "no longer valid" from now on; an email not sent yet is
    not sent)."""
    require(actor, Action.MANAGE, invitation.team_id)
    locked = Invitation.objects.select_for_update().filter(pk=invitation.pk).first()
    if locked is None:
        return
    if locked.accepted_at is not None:
        raise ValidationError({"invitation": ["This invitation was already accepted."]})
    locked.delete()
    audit_record(
        AccountEventKind.INVITATION_REVOKED,
        actor=actor,
        team=invitation.team,
        email=locked.email,
        data={"role": locked.role},
    )


@transaction.atomic
def invitation_accept(
    *, token: str, user: User | None = None, password: str | None = None, full_name: str = ""
) -> tuple[User, Membership]:
    """Accept an invitation: join its team with its role.

    A signed-in `user` joins as themselves (their address must be the invited one). Without a user, a new
    account is made for the invited address with `password` (checked by the password validators).
    """
    invitation = invitation_by_token(token, lock=True)
    if invitation is None or not invitation.is_usable:
        raise ValidationError({"token": [INVALID_LINK]})
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
    membership, joined = Membership.objects.get_or_create(
        team=invitation.team, user=user, defaults={"role": invitation.role}
    )
    if joined:
        record(members=[(user.pk, invitation.team_id)])
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    forget_roles(user)
    audit_record(
        AccountEventKind.INVITATION_ACCEPTED,
        actor=user,
        team=invitation.team,
        subject=user,
        email=invitation.email,
        data={"role": membership.role},
    )
    return user, membership
