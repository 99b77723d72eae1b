"""Links that are credentials (an invitation's, a password reset's): made only when their email is sent.

Nothing that opens such a link is kept where a reader of the database, its backups or Django admin could use
it: the outbox row of the email holds a reference that is not a secret (the invitation's id, the account's
id), and the delivery worker asks `link_at_delivery` for the link just before it renders and sends the email
(settings.NOTIFICATIONS_LINK_AT_DELIVERY; notifications never reads accounts' tables), then stores the email
without its body (notifications/delivery.py).

- An invitation's token is an HMAC, under SECRET_KEY, of the invitation's random `token_nonce`; the row keeps
  only the token's SHA-256, which the accept page looks the link up by. So the same invitation sent twice
  carries the same link, and the database alone cannot make it.
- A reset link is Django's: its token is an HMAC, under SECRET_KEY, of the account's password hash, last
  sign-in and the time it is made; it stops working once used (the password changes), after
  PASSWORD_RESET_TIMEOUT, and when the account is deactivated. It is made at delivery, from the account's id.

Rotating SECRET_KEY therefore voids open invitation links, as it voids reset links and sessions.
"""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from notifications.models import Kind

from .models import Invitation, User

MAX_TOKEN_LENGTH = 128


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_invitation_nonce() -> str:
    return secrets.token_hex(16)


def invitation_token(invitation: Invitation) -> str:
    """The secret of the invitation's link (never stored; see the module docstring)."""
    return salted_hmac("aether.invitation", invitation.token_nonce, algorithm="sha256").hexdigest()


def invitation_url(invitation: Invitation) -> str:
    return reverse("accounts:invitation_accept", args=[invitation_token(invitation)])


def invitation_by_token(token: str, *, lock: bool = False) -> Invitation | None:
    """The invitation whose link carries `token` (found by the token's hash), or None."""
    if not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii() or not token.isprintable():
        return None
    invitations = Invitation.objects.select_related("team", "invited_by")
    if lock:
        invitations = invitations.select_for_update(of=("self",))
    return invitations.filter(token_hash=token_hash(token)).first()


def password_reset_url(user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return reverse("accounts:password_reset_confirm", kwargs={"uidb64": uid, "token": token})


def link_at_delivery(kind: str, context: dict, user_id: int | None) -> str | None:
    """The link of an invitation or password-reset email, made now (the delivery worker calls this just
    before sending); None when it no longer applies (the invitation was accepted, withdrawn or expired; the
    account is deactivated or has no password), and the email is then not sent."""
    if kind == Kind.INVITATION:
        invitation = Invitation.objects.filter(pk=context.get("invitation_id")).first()
        if invitation is None or not invitation.is_usable or not invitation.token_nonce:
            return None
        return invitation_url(invitation)
    if kind == Kind.PASSWORD_RESET:
        user = User.objects.filter(pk=user_id, is_active=True).first() if user_id else None
        if user is None or not user.has_usable_password():
            return None
        return password_reset_url(user)
    raise ValueError(f"{kind} emails carry no link made at delivery")
