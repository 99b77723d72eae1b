"""Under /api/ every error is in the API's JSON shape, including the ones Django answers itself (finding 5:
a 10 MB body got an HTML 400)."""

import pytest
from django.test import Client

from accounts import api as accounts_api
from accounts.tests.factories import UserFactory
from tasks.tests.api_helpers import access_token_for

pytestmark = pytest.mark.django_db
TEN_MB = b'{"title": "' + b"x" * (10 * 1024 * 1024) + b'"}'


@pytest.fixture
def auth():
    return {"HTTP_AUTHORIZATION": "Bearer " + access_token_for(UserFactory())}


@pytest.fixture
def client():
    return Client(raise_request_exception=False)


def shape(response, status, code):
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"code", "detail", "errors"}
    assert body["code"] == code
    assert body["errors"] == []
    return body


@pytest.mark.parametrize("path", ["/api/v1/tasks/", "/api/v1/auth/token/", "/api/v1/nowhere/"])
def test_an_oversized_body_is_413(client, auth, path):
    shape(client.post(path, data=TEN_MB, content_type="application/json", **auth), 413, "request_too_large")


def test_a_body_under_the_limit_is_read_as_usual(client, auth):
    response = client.post("/api/v1/tasks/", data=b'{"title": "x"}', content_type="application/json", **auth)
    assert response.status_code == 400  # the project is missing: a field error, not a size error
    assert [e["field"] for e in response.json()["errors"]] == ["project"]


def test_an_unsupported_media_type_is_415(client):
    shape(client.post("/api/v1/auth/token/", data="email=a", content_type="text/plain"), 415, "unsupported_media_type")


def test_a_method_not_allowed_is_405(client, auth):
    shape(client.put("/api/v1/me/", data="{}", content_type="application/json", **auth), 405, "method_not_allowed")


@pytest.mark.parametrize("path", ["/api/v1/nowhere/", "/api/v1/tasks/abc/", "/api/", "/api/v2/tasks/"])
def test_no_such_endpoint_is_404(client, auth, path):
    shape(client.get(path, **auth), 404, "not_found")


def test_a_crash_is_500_in_the_error_shape(client, auth, monkeypatch):
    def crash(self, request):
        raise RuntimeError("boom")

    monkeypatch.setattr(accounts_api.MeView, "get", crash)

    body = shape(client.get("/api/v1/me/", **auth), 500, "server_error")
    assert "boom" not in body["detail"]


def test_outside_the_api_errors_stay_pages(client):
    response = client.get("/nowhere/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
