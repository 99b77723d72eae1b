"""The second factor: time-based one-time codes (RFC 6238) from an authenticator app, and recovery codes,
through django-otp's TOTP and static devices.

- Any member may set one up on their profile page (enrolment shows a QR code, rendered here as SVG, and asks
  for a first code; then ten recovery codes are shown once). Removing it takes the password and a code.
- Once set up, signing in asks for a code after the password, on the sign-in page (the session is not signed
  in until the code is right), and the API's token endpoint wants it in `otp`. Wrong codes count as failed
  sign-ins for the sign-in policy (accounts/signin.py), and django-otp slows a device down after each wrong
  code, so six digits cannot be guessed.
- Django admin needs it from staff when AETHER_STAFF_SECOND_FACTOR is on (the default with DEBUG off, so in
  every deployment; `make run` turns DEBUG on, which leaves the demo admin exempt, and its sign-in page says
  so): a staff session that did not pass a code is sent to give one, or to set one up first.

The writes (enrol, confirm, remove) are services (accounts/services/second_factor.py); this module answers
questions about a user or a request, and keeps the half-done sign-in in the session.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.db import transaction
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

PENDING_KEY = "aether_second_factor_pending"
PENDING_SECONDS = 5 * 60
TOTP_DIGITS = 6


def has_second_factor(user) -> bool:
    """Whether the account has a confirmed authenticator app (recovery codes alone do not count)."""
    return bool(getattr(user, "pk", None) and TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).exists())


def required_for_admin(user) -> bool:
    """Whether Django admin asks this user for a second factor."""
    return bool(settings.AETHER_STAFF_SECOND_FACTOR and getattr(user, "is_staff", False))


def admin_needs_second_factor(request) -> bool:
    """A signed-in staff user whose session has not passed a code, while admin asks for one."""
    user = request.user
    if not (user.is_authenticated and required_for_admin(user)):
        return False
    is_verified = getattr(user, "is_verified", None)
    return not (is_verified() if is_verified is not None else bool(request.session.get(DEVICE_ID_SESSION_KEY)))


def normalise(code: str | None) -> str:
    return "".join((code or "").split()).replace("-", "").lower()[:32]


def verify_code(user, code: str | None):
    """The device (the app, or the recovery codes) that accepts `code` for `user`, or None. A recovery code is
    used up. A wrong code slows that device down (django-otp's throttling): call this outside any transaction
    that a refusal rolls back, or the slowing down is rolled back with it."""
    code = normalise(code)
    if not code or not getattr(user, "pk", None):
        return None
    model = TOTPDevice if code.isdigit() and len(code) == TOTP_DIGITS else StaticDevice
    for device in model.objects.filter(user_id=user.pk, confirmed=True):
        with transaction.atomic():
            if device.verify_token(code):
                return device
    return None


def qr_svg(data: str) -> str:
    """`data` (an otpauth:// URL) as an inline SVG QR code: dark on white with its quiet zone, in both of the
    site's themes (a scanner needs the contrast)."""
    import segno

    return segno.make(data, error="m").svg_inline(scale=5, dark="#000000", light="#ffffff", border=4)


# --- the sign-in that waits for its code --------------------------------------------------------------------


def pending_start(request, user, *, backend: str, next_url: str) -> None:
    """The password was right and the account has a second factor: remember who, for a few minutes, in the
    session (not signed in yet), until the code page gets the code."""
    request.session.cycle_key()
    request.session[PENDING_KEY] = {
        "user": user.pk,
        "backend": backend,
        "next": next_url,
        "until": time.time() + PENDING_SECONDS,
    }


def pending_of(request) -> dict | None:
    pending = request.session.get(PENDING_KEY)
    if not pending or pending.get("until", 0) < time.time():
        return None
    return pending


def pending_clear(request) -> None:
    request.session.pop(PENDING_KEY, None)


def session_verified(request, device) -> None:
    """Mark the signed-in session as having passed the second factor with `device` (django-otp's marker, which
    its middleware reads on every request as `request.user.is_verified()`)."""
    otp_login(request, device)
