"""JWT sign-in, refresh, sign-out and the rules tokens live by."""

from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.tests.factories import MembershipFactory, UserFactory
from aether.throttling import TokenAddressThrottle, UserRateThrottle
from tasks.tests.api_helpers import api_client, error_fields

PASSWORD = "pw-for-tests-1"  # accounts.tests.factories.UserFactory's
TOKEN, REFRESH, LOGOUT, ME = "/api/v1/auth/token/", "/api/v1/auth/token/refresh/", "/api/v1/auth/logout/", "/api/v1/me/"


@pytest.fixture
def user(db):
    return UserFactory(email="kim@example.test", full_name="Kim Lee")


def sign_in(email="kim@example.test", password=PASSWORD, **extra):
    return api_client().post(TOKEN, {"email": email, "password": password}, format="json", **extra)


def me_with(access: str):
    client = api_client()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client.get(ME)


def _claims(raw: str) -> dict:
    return jwt.decode(raw, options={"verify_signature": False})


def _forge(claims: dict, *, key=None, algorithm="HS256") -> str:
    return jwt.encode(claims, key or settings.SIMPLE_JWT["SIGNING_KEY"], algorithm=algorithm)


# --- sign-in --------------------------------------------------------------------------------------------


def test_sign_in_gives_an_access_and_a_refresh_token_that_work(user):
    team = MembershipFactory(user=user, role="member").team

    response = sign_in(email="KIM@example.test ")

    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}
    me = me_with(response.json()["access"])
    assert me.status_code == 200
    assert me.json() == {
        "id": user.pk,
        "email": "kim@example.test",
        "full_name": "Kim Lee",
        "teams": [{"id": team.pk, "name": team.name, "role": "member"}],
    }


@pytest.mark.parametrize(("email", "password"), [("kim@example.test", "wrong"), ("nobody@example.test", PASSWORD)])
def test_wrong_credentials_give_401_in_the_error_shape(user, email, password):
    response = sign_in(email=email, password=password)

    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_an_inactive_account_cannot_sign_in(user):
    user.is_active = False
    user.save()

    assert sign_in().status_code == 401


def test_sign_in_without_fields_names_them(db):
    response = api_client().post(TOKEN, {}, format="json")

    assert response.status_code == 400
    assert sorted(error_fields(response)) == ["email", "password"]


def test_tokens_live_15_minutes_and_7_days_with_issuer_and_audience(user):
    body = sign_in().json()
    access, refresh = _claims(body["access"]), _claims(body["refresh"])

    assert access["exp"] - access["iat"] == 15 * 60
    assert refresh["exp"] - refresh["iat"] == 7 * 24 * 60 * 60
    assert (access["iss"], access["aud"]) == ("aether", "aether-api")
    assert jwt.get_unverified_header(body["access"])["alg"] == "HS256"


# --- refresh and sign-out -------------------------------------------------------------------------------


def test_refresh_rotates_and_the_used_token_is_refused_afterwards(user):
    first = sign_in().json()["refresh"]

    response = api_client().post(REFRESH, {"refresh": first}, format="json")

    assert response.status_code == 200
    second = response.json()
    assert set(second) == {"access", "refresh"}
    assert second["refresh"] != first
    assert me_with(second["access"]).status_code == 200
    replay = api_client().post(REFRESH, {"refresh": first}, format="json")
    assert replay.status_code == 401
    assert replay.json()["code"] == "token_not_valid"
    assert api_client().post(REFRESH, {"refresh": second["refresh"]}, format="json").status_code == 200


def test_logout_blacklists_the_refresh_token(user):
    refresh = sign_in().json()["refresh"]

    response = api_client().post(LOGOUT, {"refresh": refresh}, format="json")

    assert response.status_code == 204
    assert BlacklistedToken.objects.filter(token__jti=_claims(refresh)["jti"]).exists()
    assert api_client().post(REFRESH, {"refresh": refresh}, format="json").status_code == 401


@pytest.mark.parametrize("path", [REFRESH, LOGOUT])
def test_a_garbage_refresh_token_is_401_and_a_missing_one_400(db, path):
    assert api_client().post(path, {"refresh": "not-a-token"}, format="json").status_code == 401
    response = api_client().post(path, {}, format="json")
    assert response.status_code == 400
    assert error_fields(response) == ["refresh"]


def test_an_access_token_is_not_a_refresh_token(user):
    access = sign_in().json()["access"]

    assert api_client().post(REFRESH, {"refresh": access}, format="json").status_code == 401


# --- what makes tokens stop working ---------------------------------------------------------------------


def test_endpoints_need_a_bearer_token(db):
    response = api_client().get(ME)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_an_expired_access_token_is_refused(user):
    token = AccessToken.for_user(user)
    token.set_exp(from_time=timezone.now() - timedelta(minutes=16))

    response = me_with(str(token))

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_an_expired_refresh_token_is_refused(user):
    token = RefreshToken.for_user(user)
    token.set_exp(from_time=timezone.now() - timedelta(days=8))

    assert api_client().post(REFRESH, {"refresh": str(token)}, format="json").status_code == 401


@pytest.mark.parametrize(
    ("change", "algorithm"),
    [
        ({"iss": "someone-else"}, "HS256"),
        ({"aud": "another-api"}, "HS256"),
        ({"iss": None}, "HS256"),
        ({"aud": None}, "HS256"),
        ({}, "HS512"),  # one algorithm only, even with the right key
    ],
    ids=["wrong issuer", "wrong audience", "no issuer", "no audience", "other algorithm"],
)
def test_a_token_with_the_wrong_issuer_audience_or_algorithm_is_refused(user, change, algorithm):
    claims = {**_claims(sign_in().json()["access"]), **change}
    claims = {k: v for k, v in claims.items() if v is not None}

    assert me_with(_forge(claims, algorithm=algorithm)).status_code == 401


def test_the_same_claims_signed_the_same_way_are_accepted(user):
    """The control for the forgeries around it: only the changed part makes them fail."""
    assert me_with(_forge(_claims(sign_in().json()["access"]))).status_code == 200


def test_an_unsigned_or_wrongly_signed_token_is_refused(user):
    claims = _claims(sign_in().json()["access"])

    assert me_with(jwt.encode(claims, key=None, algorithm="none")).status_code == 401
    assert me_with(_forge(claims, key="not-the-signing-key-but-long-enough-0123456789")).status_code == 401


def test_a_password_change_revokes_access_and_refresh_tokens(user):
    tokens = sign_in().json()

    user.set_password("a-brand-new-password-9")
    user.save()

    assert me_with(tokens["access"]).status_code == 401
    assert api_client().post(REFRESH, {"refresh": tokens["refresh"]}, format="json").status_code == 401
    assert sign_in(password="a-brand-new-password-9").status_code == 200


def test_a_deactivated_account_loses_its_tokens(user):
    tokens = sign_in().json()

    user.is_active = False
    user.save()

    assert me_with(tokens["access"]).status_code == 401
    assert api_client().post(REFRESH, {"refresh": tokens["refresh"]}, format="json").status_code == 401


def test_a_refresh_token_of_a_deleted_user_is_refused_not_a_500(user):
    refresh = sign_in().json()["refresh"]
    OutstandingToken.objects.filter(user=user).update(user=None)
    user.delete()

    assert api_client().post(REFRESH, {"refresh": refresh}, format="json").status_code == 401


# --- throttling -----------------------------------------------------------------------------------------


def test_sign_in_is_throttled_per_address_across_accounts(user, monkeypatch):
    monkeypatch.setattr(TokenAddressThrottle, "THROTTLE_RATES", {"token_address": "3/min"})

    codes = [sign_in(email=f"guess{i}@example.test", REMOTE_ADDR="10.0.0.9").status_code for i in range(4)]

    assert codes == [401, 401, 401, 429]
    assert sign_in(REMOTE_ADDR="10.0.0.10").status_code == 200


def test_the_address_throttle_ignores_a_forged_forwarded_for(user, monkeypatch):
    monkeypatch.setattr(TokenAddressThrottle, "THROTTLE_RATES", {"token_address": "2/min"})

    codes = [
        sign_in(email=f"guess{i}@example.test", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR=f"1.2.3.{i}").status_code
        for i in range(3)
    ]

    assert codes == [401, 401, 429]


def test_other_endpoints_are_throttled_per_user(user, monkeypatch):
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {**UserRateThrottle.THROTTLE_RATES, "user": "2/min"})
    client, other = api_client(user), api_client(UserFactory())

    assert [client.get(ME).status_code for _ in range(3)] == [200, 200, 429]
    assert other.get(ME).status_code == 200


# --- revocation before expiry (finding 5) ---------------------------------------------------------------


def test_logout_revokes_the_access_token_at_once(user):
    tokens = sign_in().json()
    assert me_with(tokens["access"]).status_code == 200

    client = api_client()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert client.post(LOGOUT, {"refresh": tokens["refresh"]}, format="json").status_code == 204

    response = me_with(tokens["access"])
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_logout_with_the_refresh_token_alone_revokes_the_access_tokens_of_that_sign_in(user):
    first = sign_in().json()
    rotated = api_client().post(REFRESH, {"refresh": first["refresh"]}, format="json").json()
    other_sign_in = sign_in().json()

    assert api_client().post(LOGOUT, {"refresh": rotated["refresh"]}, format="json").status_code == 204

    assert me_with(first["access"]).status_code == 401  # minted before the rotation, same sign-in
    assert me_with(rotated["access"]).status_code == 401
    assert me_with(other_sign_in["access"]).status_code == 200  # another device stays signed in


def test_the_denylist_lives_as_long_as_the_access_token(user):
    from django.core.cache import cache

    tokens = sign_in().json()
    client = api_client()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    client.post(LOGOUT, {"refresh": tokens["refresh"]}, format="json")

    redis = cache._cache.get_client()
    ttls = [redis.ttl(k) for k in redis.keys(f"{cache.key_prefix}:1:jwt:deny:*")]
    assert len(ttls) == 2
    assert all(0 < t <= 16 * 60 for t in ttls)


def test_a_password_change_on_the_site_revokes_the_access_token(user, client):
    tokens = sign_in().json()
    client.force_login(user)

    client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": "a-Better-pass-42", "new_password2": "a-Better-pass-42"},
    )

    assert me_with(tokens["access"]).status_code == 401
    assert api_client().post(REFRESH, {"refresh": tokens["refresh"]}, format="json").status_code == 401


def test_the_denylist_is_read_with_the_account_in_one_round_trip(user, monkeypatch):
    from django.core.cache import cache

    access = sign_in().json()["access"]
    calls = []
    real = cache.get_or_set_and_get
    monkeypatch.setattr(
        cache,
        "get_or_set_and_get",
        lambda keys, cand, plain, **k: calls.append([*keys, *plain]) or real(keys, cand, plain, **k),
    )

    assert me_with(access).status_code == 200
    (authentication, *_etag) = calls
    assert any("jwt:deny:jti" in k for k in authentication)
    assert any("auth:" in k for k in authentication)
    assert not any("jwt:deny" in k for call in _etag for k in call)
