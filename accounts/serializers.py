"""JSON shapes of the auth and `me` endpoints."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.db import transaction
from rest_framework import exceptions, serializers
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import get_md5_hash_password

from . import signin
from .models import Role, User
from .second_factor import has_second_factor, verify_code
from .signin import Refusal, refusal_of
from .tokens import SESSION_CLAIM, pair_for


class InvalidRefreshToken(exceptions.AuthenticationFailed):
    default_detail = "This refresh token is not valid: expired, used, revoked or malformed."
    default_code = "token_not_valid"


class SignInPaused(exceptions.APIException):
    """429 with Retry-After (DRF's handler sets it from `wait`), in the API's error shape."""

    status_code = 429
    default_code = "locked_out"

    def __init__(self, refusal: Refusal):
        self.wait = refusal.retry_after
        super().__init__(
            f"Too many failed sign-ins to this account; sign-in is paused for {refusal.minutes} minute"
            f"{'s' if refusal.minutes != 1 else ''}.",
            code="locked_out",
        )


class SignInBusy(exceptions.APIException):
    """503 with Retry-After: no turn to check a password came in time (accounts/signin.py)."""

    status_code = 503
    default_code = "busy"

    def __init__(self, refusal: Refusal):
        self.wait = refusal.retry_after
        super().__init__("Too many sign-ins at this moment: try again in a few seconds.", code="busy")


class SecondFactorNeeded(exceptions.AuthenticationFailed):
    default_detail = "This account has a second factor: send the code of the authenticator app in `otp`."
    default_code = "otp_required"


class TokenObtainSerializer(serializers.Serializer):
    email = serializers.CharField(max_length=254, write_only=True)
    # Bounded so that nobody makes the server hash megabytes.
    password = serializers.CharField(max_length=1024, write_only=True, trim_whitespace=False)
    otp = serializers.CharField(
        max_length=32,
        required=False,
        write_only=True,
        help_text="For an account with a second factor: the 6 digits its authenticator app shows, or a recovery code.",
    )

    def validate(self, attrs):
        # The same authenticate() as the sign-in page and admin, so the one sign-in policy (accounts/signin.py)
        # counts and pauses this door too.
        request = self.context["request"]
        user = authenticate(request, username=attrs["email"], password=attrs["password"])
        refusal = refusal_of(request)
        if refusal is not None:
            raise SignInBusy(refusal) if refusal.scope == "busy" else SignInPaused(refusal)
        if user is None or not user.is_active:
            raise exceptions.AuthenticationFailed("No active account with this email and password.")
        if has_second_factor(user):
            # As the sign-in page's code step: a wrong code counts as a failed sign-in, a right one succeeds.
            account, address = signin.account_key(user.email), signin.client_address(request)
            if not attrs.get("otp"):
                raise SecondFactorNeeded()
            if verify_code(user, attrs["otp"]) is None:
                signin.record_failure(account, address)
                raise exceptions.AuthenticationFailed("The code is not right.", code="otp_invalid")
            signin.record_success(account, address)
        return {"user": user}


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField(help_text="Send as `Authorization: Bearer <access>`; lives 15 minutes.")
    refresh = serializers.CharField(help_text="Exchange at /api/v1/auth/token/refresh/; lives 7 days, used once.")


class RefreshSerializer(serializers.Serializer):
    refresh = serializers.CharField(max_length=4096)

    @staticmethod
    def decode(raw: str) -> RefreshToken:
        try:
            return RefreshToken(raw)  # signature, algorithm, issuer, audience, expiry, type, blacklist
        except TokenError:
            raise InvalidRefreshToken() from None


def rotate_refresh_token(raw: str) -> tuple[RefreshToken, User]:
    """Blacklist the presented refresh token and return a new one for its user.

    Unlike simplejwt's stock serializer this refuses a token whose user is gone, inactive or has changed
    password since, and holds the token's row lock so two concurrent refreshes of the same token cannot both
    succeed (a replayed token yields at most one successor).
    """
    token = RefreshSerializer.decode(raw)
    jti = token[jwt_settings.JTI_CLAIM]
    with transaction.atomic():
        outstanding = OutstandingToken.objects.select_for_update().filter(jti=jti).order_by().first()
        if outstanding is None or BlacklistedToken.objects.filter(token=outstanding).exists():
            raise InvalidRefreshToken()
        user = User.objects.filter(pk=token.get(jwt_settings.USER_ID_CLAIM)).first()
        if (
            user is None
            or not user.is_active
            or token.get(jwt_settings.REVOKE_TOKEN_CLAIM) != get_md5_hash_password(user.password)
        ):
            raise InvalidRefreshToken()
        BlacklistedToken.objects.create(token=outstanding)
    return pair_for(user, session_id=token.get(SESSION_CLAIM)), user  # the same sign-in, for sign-out


class TeamRoleSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="team_id")
    name = serializers.CharField(source="team.name")
    role = serializers.ChoiceField(choices=Role.choices)


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    full_name = serializers.CharField()
    teams = TeamRoleSerializer(source="memberships", many=True)
