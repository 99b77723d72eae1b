"""Revoking access tokens before they expire.

simplejwt's access tokens are checked by signature alone, so a signed-out token used to work for up to 15
minutes. Sign-out now puts the presented access token's `jti` and the sign-in's `sid` (a claim every token of
one sign-in carries, across refresh rotations) on a denylist in the cache until the tokens it covers have
expired. Checking it is part of the one Redis round trip that reads the account (accounts/auth_projection.py);
its cost is in docs/performance.md. (A password change needs no denylist: the tokens carry a hash of the password, which
simplejwt compares on every request, so every token of the account stops at once.)
"""

from __future__ import annotations

import time
import uuid

from django.core.cache import cache
from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings as jwt_settings

SESSION_CLAIM = "sid"


def _jti_key(jti: str) -> str:
    return f"jwt:deny:jti:{jti}"


def _sid_key(sid: str) -> str:
    return f"jwt:deny:sid:{sid}"


def new_session_id() -> str:
    return uuid.uuid4().hex


def deny(*, access=None, session_id: str | None = None) -> None:
    """Refuse this access token (until it expires) and every access token of this sign-in (until the last one
    that could have been minted before now has expired)."""
    if access is not None:
        ttl = int(access["exp"] - time.time()) + 1
        if ttl > 0:
            cache.set(_jti_key(access[jwt_settings.JTI_CLAIM]), 1, timeout=ttl)
    if session_id:
        cache.set(_sid_key(session_id), 1, timeout=int(jwt_settings.ACCESS_TOKEN_LIFETIME.total_seconds()) + 60)


def pair_for(user, *, session_id: str | None = None):
    """A new refresh token (its access token at `.access_token`) for a sign-in, or for the same sign-in again."""
    from rest_framework_simplejwt.tokens import RefreshToken

    refresh = RefreshToken.for_user(user)
    refresh[SESSION_CLAIM] = session_id or new_session_id()
    return refresh


def denylist_keys(token) -> list[str]:
    """The cache keys whose presence revokes this token: its own `jti`, and its sign-in's `sid`."""
    keys = [_jti_key(token[jwt_settings.JTI_CLAIM])]
    if token.get(SESSION_CLAIM):
        keys.append(_sid_key(token[SESSION_CLAIM]))
    return keys


def is_denied(token) -> bool:
    return bool(cache.get_many(denylist_keys(token)))


class DenylistJWTAuthentication(JWTAuthentication):
    """simplejwt's authentication plus the denylist, with the account read from its projection in Redis
    (accounts/auth_projection.py) and checked as simplejwt checks it: it exists, it is active, and the token
    carries the digest of its current password. The denylist keys are read in the same round trip as the
    projection."""

    def get_user(self, validated_token):
        from .auth_projection import authenticate
        from .models import User

        try:
            user_id = int(validated_token[jwt_settings.USER_ID_CLAIM])
        except KeyError as e:
            raise InvalidToken(_("Token contained no recognizable user identification")) from e
        except (ValueError, TypeError) as e:
            raise AuthenticationFailed(_("User not found"), code="user_not_found") from e
        try:
            user, denied = authenticate(user_id, denylist_keys(validated_token))
        except User.DoesNotExist as e:
            raise AuthenticationFailed(_("User not found"), code="user_not_found") from e
        if denied:
            raise InvalidToken({"detail": "This token was revoked by signing out.", "code": "token_not_valid"})
        projection = user._aether_projection
        if jwt_settings.CHECK_USER_IS_ACTIVE and not projection.is_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
        if (
            jwt_settings.CHECK_REVOKE_TOKEN
            and validated_token.get(jwt_settings.REVOKE_TOKEN_CLAIM) != projection.password_digest
        ):
            raise AuthenticationFailed(_("The user's password has been changed."), code="password_changed")
        return user
