"""Setting up and removing a second factor (accounts/second_factor.py says what it is and where it is asked)."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from ..audit import audit_record
from ..models import AccountEventKind, User
from ..permissions import is_operator
from ..second_factor import has_second_factor, verify_code

RECOVERY_CODES = 10
WRONG_CODE = "This code is not right. Type the 6 digits your app shows now, or a recovery code."


def second_factor_begin(*, actor: User) -> TOTPDevice:
    """A new, unconfirmed authenticator key for the actor to scan (an earlier unconfirmed one is dropped). It
    counts for nothing until second_factor_confirm gets a code from it."""
    if has_second_factor(actor):
        raise ValidationError({"code": ["A second factor is already set up: remove it first to set up another."]})
    with transaction.atomic():
        TOTPDevice.objects.filter(user=actor, confirmed=False).delete()
        return TOTPDevice.objects.create(user=actor, name="Authenticator app", confirmed=False)


def second_factor_confirm(*, actor: User, device_id: int, code: str) -> list[str]:
    """Confirm the key begun above with a first code from the app: from now on signing in asks for a code.
    Returns ten new recovery codes (each works once), to be shown once; they are kept as django-otp keeps
    them, and a new set replaces the old."""
    device = TOTPDevice.objects.filter(pk=device_id, user=actor, confirmed=False).first()
    if device is None:
        raise ValidationError({"code": ["This set-up has expired or was finished elsewhere: start again."]})
    # Checked before the transaction: a wrong code's throttling must not be rolled back with the refusal.
    if not device.verify_token("".join((code or "").split())):
        raise ValidationError({"code": [WRONG_CODE]})
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(pk=device.pk, confirmed=False).first()
        if device is None:
            raise ValidationError({"code": ["This set-up was finished elsewhere."]})
        TOTPDevice.objects.filter(user=actor, confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _recovery_codes_replace(actor)
        audit_record(AccountEventKind.SECOND_FACTOR_ENROLLED, actor=actor, subject=actor)
    return codes


def _recovery_codes_replace(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def second_factor_remove(*, actor: User, password: str, code: str) -> None:
    """Remove the actor's second factor: it takes their password (checked by the sign-in policy, so guesses
    are counted) and a code from the app or a recovery code. Signing in asks for the password only again."""
    if not has_second_factor(actor):
        raise ValidationError({"code": ["No second factor is set up."]})
    if authenticate(None, username=actor.email, password=password or "") is None:
        raise ValidationError({"password": ["This is not your password (or sign-in is paused: try later)."]})
    if verify_code(actor, code) is None:
        raise ValidationError({"code": [WRONG_CODE]})
    with transaction.atomic():
        TOTPDevice.objects.filter(user=actor).delete()
        StaticDevice.objects.filter(user=actor).delete()
        audit_record(AccountEventKind.SECOND_FACTOR_REMOVED, actor=actor, subject=actor)


def second_factor_reset(*, actor: User, user: User) -> bool:
    """The operator removes a person's second factor (they lost their phone and their recovery codes; the
    operator checked who they are). Returns whether there was one."""
    if not is_operator(actor):
        raise PermissionDenied("Only the site's operator can remove another person's second factor.")
    with transaction.atomic():
        removed, _ = TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        if removed:
            audit_record(AccountEventKind.SECOND_FACTOR_REMOVED, actor=actor, subject=user)
    return bool(removed)
