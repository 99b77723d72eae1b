"""What the API tests share: a client signed in with a real JWT, and throttles that start each test at zero."""

from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken


def access_token_for(user) -> str:
    return str(RefreshToken.for_user(user).access_token)


def api_client(user=None) -> APIClient:
    """An API client; with a user, it sends `Authorization: Bearer <access>` minted for that user."""
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token_for(user)}")
    return client


def error_fields(response) -> list:
    """The fields a 400 names, in the one error shape."""
    body = response.json()
    assert set(body) == {"code", "detail", "errors"}, body
    return [e["field"] for e in body["errors"]]
