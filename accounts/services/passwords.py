"""Passwords: changing one, setting one by a reset link, and asking for that link."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from notifications.models import Kind
from notifications.services import email_enqueue

from ..audit import audit_record
from ..models import AccountEventKind, User
from ..permissions import is_operator
from ..signin import account_key, within_limit


@transaction.atomic
def password_set(*, actor: User, user: User, password: str, by_reset: bool = False) -> User:
    """Give `user` a new password: their own change (the profile page: the form checked the old one), the
    operator's (Django admin), or a reset link's (`by_reset`; the link's token was checked by the view). The
    validators check it (a ValidationError on `password`). Every session and API token of the account signed
    in with the old password stops working (the caller keeps the current session with
    update_session_auth_hash)."""
    if actor.pk != user.pk and not is_operator(actor):
        raise PermissionDenied("Only the site's operator can set another person's password.")
    try:
        validate_password(password or "", user=user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from None
    user = User.objects.select_for_update().get(pk=user.pk)
    user.set_password(password)
    user.save(update_fields=["password"])
    kind = AccountEventKind.PASSWORD_RESET if by_reset else AccountEventKind.PASSWORD_CHANGED
    audit_record(kind, actor=actor, subject=user)
    return user


@transaction.atomic
def password_reset_request(*, email: str, address: str = "-") -> int:
    """Queue a reset email to each active account with this address. Returns how many were queued.

    The email's link is made when it is sent (accounts/links.py), not now: the outbox row names the account,
    never a token. The caller tells the person the same thing whether or not an account exists, so that the
    form does not reveal who has one. Requests are limited per account (AETHER_RESET_PER_ACCOUNT an hour, 3)
    and per client `address` (AETHER_RESET_PER_ADDRESS, 10): past either, nothing is queued, same answer.
    """
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
        queued += email_enqueue(
            kind=Kind.PASSWORD_RESET,
            recipient=user.email,
            user=user,
            dedupe_key=f"password_reset:{user.pk}:{uuid.uuid4().hex}",  # one email per request; not a secret
            context={
                "recipient_name": user.get_short_name(),
                "message": (
                    "Someone (hopefully you) asked to reset your Aether password. Follow the link to choose a new "
                    "one; it works once, for a day. If you did not ask, ignore this email."
                ),
            },
        )
    return queued
