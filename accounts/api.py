"""JWT sign-in, refresh, sign-out, and who am I. Tokens are simplejwt's; the rules are in settings.SIMPLE_JWT
(15-minute access, 7-day refresh, one algorithm, issuer and audience set and checked, the password hash
claim so that a password change revokes every token)."""

from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken

from aether import generations
from aether.api import ERROR_DESCRIPTIONS, ErrorSerializer
from aether.conditional import ConditionalGetMixin
from aether.throttling import TokenAddressThrottle

from . import tokens
from .models import Membership, User
from .serializers import (
    MeSerializer,
    RefreshSerializer,
    TokenObtainSerializer,
    TokenPairSerializer,
    rotate_refresh_token,
)
from .tokens import pair_for

BAD_TOKEN = OpenApiResponse(ErrorSerializer, description="The refresh token is expired, used, revoked or malformed.")


def _errors(*codes: str) -> dict:
    return {int(code): OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[code]) for code in codes}


class _PublicAuthView(APIView):
    """Reached without an access token (the credentials are in the body), yet answering 401, not 403, when
    they are wrong: DRF answers 401 only for views that name an authentication scheme."""

    permission_classes = [AllowAny]
    authentication_classes = []

    def get_authenticate_header(self, request):
        return 'Bearer realm="api"'


class TokenObtainView(_PublicAuthView):
    throttle_classes = [TokenAddressThrottle]

    @extend_schema(
        tags=["auth"],
        summary="Sign in: exchange email and password for an access and a refresh token",
        description="Failed attempts pause sign-in per account and address, and per account from new addresses "
        "(429 with `code` `locked_out` and Retry-After); attempts are also limited per client address.",
        request=TokenObtainSerializer,
        responses={
            200: TokenPairSerializer,
            401: OpenApiResponse(ErrorSerializer, description="Wrong email or password, or an inactive account."),
            429: OpenApiResponse(
                ErrorSerializer, description="Too many attempts: sign-in paused, retry after Retry-After seconds."
            ),
            **_errors("400"),
        },
    )
    def post(self, request):
        serializer = TokenObtainSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        refresh = pair_for(serializer.validated_data["user"])
        return Response({"access": str(refresh.access_token), "refresh": str(refresh)})


class TokenRefreshView(_PublicAuthView):
    @extend_schema(
        tags=["auth"],
        summary="Exchange a refresh token for a new pair; the presented one is spent",
        description="Presenting a spent, signed-out or revoked refresh token (after a password change or a "
        "deactivation) is a 401.",
        request=RefreshSerializer,
        responses={200: TokenPairSerializer, 401: BAD_TOKEN, **_errors("400", "429")},
    )
    def post(self, request):
        serializer = RefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        refresh, _user = rotate_refresh_token(serializer.validated_data["refresh"])
        return Response({"access": str(refresh.access_token), "refresh": str(refresh)})


class LogoutView(_PublicAuthView):
    """The refresh token is the credential here, so a client whose access token has expired can still sign out.
    The access tokens of the same sign-in stop working too (and the one in the Authorization header, if any)."""

    @extend_schema(
        tags=["auth"],
        summary="Sign out: the refresh token and the access tokens of this sign-in are refused from now on",
        description="Needs no access token: the refresh token is the credential. An access token sent in the "
        "Authorization header is revoked too.",
        request=RefreshSerializer,
        responses={204: OpenApiResponse(description="Signed out."), 401: BAD_TOKEN, **_errors("400", "429")},
    )
    def post(self, request):
        serializer = RefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        refresh = RefreshSerializer.decode(serializer.validated_data["refresh"])
        refresh.blacklist()
        tokens.deny(access=_presented_access(request), session_id=refresh.get(tokens.SESSION_CLAIM))
        return Response(status=status.HTTP_204_NO_CONTENT)


def _presented_access(request) -> AccessToken | None:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    try:
        return AccessToken(header.removeprefix("Bearer ").strip())
    except TokenError:
        return None  # expired or not ours: nothing to revoke


class MeView(ConditionalGetMixin, APIView):
    def etag_scopes(self, request) -> list[str]:
        return [generations.team(t) for t in self.team_ids(request)]  # the teams' names and the person's roles

    @extend_schema(tags=["me"], summary="The signed-in user and their teams", responses=MeSerializer)
    def get(self, request):
        # The row itself: authentication loaded only what it checks (accounts/auth_projection.py).
        memberships = Prefetch("memberships", queryset=Membership.objects.select_related("team"))
        user = User.objects.prefetch_related(memberships).get(pk=request.user.pk)
        return Response(MeSerializer(user).data)
