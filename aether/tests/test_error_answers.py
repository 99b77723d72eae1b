"""Errors answer the same with DEBUG on (`make run`) as in production (aether/errors.py): JSON in the error shape
under /api/, the site's 404 and 403 pages elsewhere. Every test runs with DEBUG off and on.

The module is also the URLconf of its tests: the site's URLs, plus plain (non-DRF) views that fail on purpose,
under /api/ and outside it."""

import logging

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpResponse
from django.test import Client
from django.urls import path
from django.views.decorators.http import require_GET

from accounts.tests.factories import UserFactory
from aether import urls as site_urls
from tasks.tests.api_helpers import access_token_for

INTERNAL = "internal words: row 42 (manage)"


def crash(request):
    raise RuntimeError(INTERNAL)


def refuse(request):
    raise PermissionDenied(INTERNAL)


def missing(request):
    raise Http404(INTERNAL)


def suspicious(request):
    raise SuspiciousOperation(INTERNAL)


@require_GET
def get_only(request):
    return HttpResponse("ok")


def form_post(request):  # not csrf_exempt: a post without a token is refused by CsrfViewMiddleware
    return HttpResponse("posted")


urlpatterns = [
    path("api/plain/crash/", crash),
    path("api/plain/refuse/", refuse),
    path("api/plain/missing/", missing),
    path("api/plain/suspicious/", suspicious),
    path("api/plain/get-only/", get_only),
    path("api/plain/form/", form_post),
    path("plain/crash/", crash),
    path("plain/refuse/", refuse),
    path("plain/missing/", missing),
    path("plain/get-only/", get_only),
    *site_urls.urlpatterns,
]
handler400, handler403 = site_urls.handler400, site_urls.handler403
handler404, handler500 = site_urls.handler404, site_urls.handler500

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


@pytest.fixture(params=[False, True], ids=["production", "debug"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


@pytest.fixture
def web(debug):
    return Client(raise_request_exception=False)


@pytest.fixture
def auth():
    return {"HTTP_AUTHORIZATION": "Bearer " + access_token_for(UserFactory())}


def shape(response, status, code):
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"code", "detail", "errors"}
    assert (body["code"], body["errors"]) == (code, [])
    assert INTERNAL not in body["detail"]
    return body


# --- under /api/ -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/nowhere/", "/api/v1/tasks/abc/", "/api/", "/api/v2/tasks/"])
def test_an_unknown_api_path_is_a_json_404(web, auth, path):
    body = shape(web.get(path, **auth), 404, "not_found")
    assert body["detail"] == "No such endpoint."


def test_a_plain_views_404_under_the_api_is_json(web):
    shape(web.get("/api/plain/missing/"), 404, "not_found")


def test_a_405_of_an_api_endpoint_is_json(web, auth):
    body = shape(web.put("/api/v1/me/", data="{}", content_type="application/json", **auth), 405, "method_not_allowed")
    assert body["detail"] == 'Method "PUT" not allowed.'  # DRF's own answer, as it was


def test_a_plain_views_405_under_the_api_is_json_and_keeps_its_allow_header(web):
    response = web.post("/api/plain/get-only/")
    assert shape(response, 405, "method_not_allowed")["detail"] == "Method not allowed."
    assert response["Allow"] == "GET"


def test_a_crash_under_the_api_is_a_json_500_and_its_traceback_is_logged_once(web, debug, caplog):
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = web.get("/api/plain/crash/")

    shape(response, 500, "server_error")
    logged = [r for r in caplog.records if r.name == "django.request"]
    assert [(r.levelno, r.getMessage()) for r in logged] == [
        (logging.ERROR, "Internal Server Error: /api/plain/crash/")
    ]
    assert logged[0].exc_info[0] is RuntimeError


def test_a_permission_denied_under_the_api_is_json(web):
    shape(web.get("/api/plain/refuse/"), 403, "permission_denied")


def test_a_csrf_failure_under_the_api_is_json(debug):
    shape(Client(enforce_csrf_checks=True).post("/api/plain/form/"), 403, "permission_denied")


def test_a_suspicious_request_under_the_api_is_a_json_400(web):
    shape(web.get("/api/plain/suspicious/"), 400, "bad_request")


def test_a_disallowed_host_under_the_api_is_a_json_400(web, auth):
    shape(web.get("/api/v1/me/", HTTP_HOST="evil.example", **auth), 400, "bad_request")


def test_drfs_own_errors_are_unchanged(web):
    response = web.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_an_oversized_body_is_still_413(web, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10
    shape(web.post("/api/plain/form/", data=b"x" * 11, content_type="application/json"), 413, "request_too_large")


# --- pages ---------------------------------------------------------------------------------------------------


def page(response, status):
    assert response.status_code == status
    assert response["Content-Type"] == "text/html; charset=utf-8"
    html = response.content.decode()
    assert 'class="topbar"' in html  # the site's base template
    assert "Using the URLconf" not in html  # not Django's debug page ...
    assert "DEBUG = True" not in html
    assert INTERNAL not in html
    return html


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
def test_an_unknown_page_is_the_sites_404(web, signed_in):
    if signed_in:
        web.force_login(UserFactory())

    html = page(web.get("/no-such-page/"), 404)

    assert "This page does not exist, or it belongs to a team you are not in." in html
    assert ("My work" if signed_in else "Sign in") in html


def test_a_views_404_is_the_sites_404(web):
    html = page(web.get("/plain/missing/"), 404)
    assert "This page does not exist" in html


def test_a_permission_denied_page_is_the_sites_403_without_the_exceptions_words(web):
    web.force_login(UserFactory())

    html = page(web.get("/plain/refuse/"), 403)

    assert "You cannot do that here" in html
    assert "row 42" not in html
    assert "(manage)" not in html


def test_a_missing_slash_still_redirects(web):
    response = web.get("/accounts/login")
    assert (response.status_code, response["Location"]) == (301, "/accounts/login/")


def test_outside_the_api_a_views_405_is_left_as_the_view_gave_it(web):
    response = web.post("/plain/get-only/")
    assert (response.status_code, response["Allow"], response.content) == (405, "GET", b"")


def test_a_crash_in_a_page_is_the_500_page_in_production_and_the_technical_page_with_debug(web, debug):
    response = web.get("/plain/crash/")

    assert response.status_code == 500
    html = response.content.decode()
    if debug:
        assert "DEBUG = True" in html  # the developer's page, kept on purpose
        assert INTERNAL in html
    else:
        assert "Something went wrong" in html
        assert INTERNAL not in html
