"""Pieces every API view shares: the one error shape (pagination is aether/pagination.py, conditional GETs
aether/conditional.py; the throttles are in aether/throttling.py,
which DRF's settings import with its views). (The schema generator and the
docs page are in aether/api_schema.py: drf-spectacular imports DRF's generic views, which import this module
through settings.)

Every error answer of /api/v1/ has one JSON shape (`ErrorSerializer`):

    {"code": "invalid", "detail": "Some fields are not valid.",
     "errors": [{"field": "title", "code": "max_length", "message": "Ensure this field has no more than 200 ..."}]}

`code` is machine-readable (invalid, parse_error, not_authenticated, authentication_failed, token_not_valid,
permission_denied, not_found, method_not_allowed, unsupported_media_type, throttled, ...). `errors` lists
field errors for a 400 (empty otherwise); `field` is a dotted path into the request (`stages.0.name`, a
query parameter such as `due_before`, or the `Idempotency-Key` header as `idempotency_key`), or null when
the error concerns the request as a whole.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, serializers
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from .refusals import CONFLICT, UNPROCESSABLE

# --- the error shape ------------------------------------------------------------------------------------


class FieldErrorSerializer(serializers.Serializer):
    field = serializers.CharField(allow_null=True, help_text="Dotted path of the offending input, or null.")
    code = serializers.CharField()
    message = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable error code.")
    detail = serializers.CharField(help_text="A sentence for humans.")
    errors = FieldErrorSerializer(many=True, help_text="Field errors of a 400; empty for other errors.")


VALIDATION_SUMMARY = "Some fields are not valid."
# A service's refusal marked by aether/refusals.py: (status, code, summary).
REFUSALS = {
    CONFLICT: (409, "conflict", "The present state of what you named does not allow this: see `errors`."),
    UNPROCESSABLE: (422, "unprocessable", "These values are well-formed but do not fit together: see `errors`."),
}


def error_body(code: str, detail: str, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The one error shape (`ErrorSerializer`), for DRF's answers and Django's alike."""
    return {"code": code, "detail": detail, "errors": errors or []}


def _flatten(detail, path: str | None) -> list[dict[str, Any]]:
    """DRF's nested error detail (dicts of lists of ErrorDetail, lists of dicts for many=True) as a flat list."""
    if isinstance(detail, dict):
        out = []
        for key, value in detail.items():
            if key in (api_settings.NON_FIELD_ERRORS_KEY, NON_FIELD_ERRORS):
                out += _flatten(value, path)
            else:
                out += _flatten(value, f"{path}.{key}" if path else str(key))
        return out
    if isinstance(detail, list):
        out = []
        for i, item in enumerate(detail):
            if isinstance(item, (dict, list)):
                out += _flatten(item, f"{path}.{i}" if path else str(i))
            else:
                out += _flatten(item, path)
        return out
    return [{"field": path, "code": getattr(detail, "code", None) or "invalid", "message": str(detail)}]


def _django_to_drf(exc: DjangoValidationError) -> exceptions.ValidationError:
    """A service's ValidationError (a field dict, or a message about the whole request) as DRF's."""
    if hasattr(exc, "error_dict"):
        detail = {
            field: [exceptions.ErrorDetail(m, code=e.code or "invalid") for e in errors for m in e.messages]
            for field, errors in exc.error_dict.items()
        }
    else:
        detail = [exceptions.ErrorDetail(m, code=e.code or "invalid") for e in exc.error_list for m in e.messages]
    return exceptions.ValidationError(detail)


def api_exception_handler(exc, context):
    """DRF's handler (status, WWW-Authenticate, Retry-After, rollback), answering in the one error shape."""
    if isinstance(exc, DjangoValidationError):
        exc = _django_to_drf(exc)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: let Django's 500 handling log it
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail, None)
        codes = {error["code"] for error in errors}
        refusal = next((REFUSALS[c] for c in (CONFLICT, UNPROCESSABLE) if c in codes), None)
        status, code, summary = refusal or (400, "invalid", VALIDATION_SUMMARY)
        response.status_code = status
        response.data = error_body(code, summary, errors)
        return response
    detail = getattr(exc, "detail", "")
    code = getattr(exc, "default_code", "error")
    if isinstance(detail, dict):  # simplejwt's InvalidToken: {"detail", "code", "messages"}
        code = str(detail.get("code") or code)
        detail = detail.get("detail", "")
    elif isinstance(detail, exceptions.ErrorDetail):
        code = detail.code or code
    response.data = error_body(str(code), str(detail))
    return response


# --- errors that never reach a DRF view --------------------------------------------------------------------

API_PREFIX = "/api/"


def is_api_request(request) -> bool:
    """Whether the request is the API's: its errors answer in the error shape, whoever answers them."""
    return request.path_info.startswith(API_PREFIX)


def error_response(status: int, code: str, detail: str):
    """The error shape as a plain Django response, for answers given outside DRF's views."""
    from django.http import JsonResponse

    return JsonResponse(error_body(code, detail), status=status)


# Django's own answers under /api/ (no such URL, a refused request, a crash), by status; any other status is
# named after its HTTP phrase (405 method_not_allowed, 415 unsupported_media_type).
_DJANGO_ERRORS = {
    400: ("bad_request", "The request could not be understood."),
    403: ("permission_denied", "You do not have permission to perform this action."),
    404: ("not_found", "No such endpoint."),
    500: ("server_error", "Something went wrong on our side; it has been logged."),
}


def error_response_for_status(status: int):
    """Django's own error answer of this status, in the error shape (it says nothing of the cause: no internals)."""
    if status == 413:
        return too_large()
    if status in _DJANGO_ERRORS:
        code, detail = _DJANGO_ERRORS[status]
    else:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        code, detail = phrase.lower().replace(" ", "_").replace("-", "_"), f"{phrase.capitalize()}."
    return error_response(status, code, detail)


class ApiBodySizeMiddleware:
    """Under /api/, a body larger than DATA_UPLOAD_MAX_MEMORY_SIZE is refused with 413 in the error shape, from its
    Content-Length, before anything reads it (Django would answer an HTML 400 once a view touched the body)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings

        if is_api_request(request):
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                return error_response(400, "parse_error", "The Content-Length header is not a number.")
            if limit is not None and length > limit:
                return too_large()
        return self.get_response(request)


DOCUMENTATION_PATHS = ("/api/v1/schema/", "/api/v1/docs/")


class ApiQueryMiddleware:
    """Under /api/, a query parameter given with an empty value (`?status=`) is refused with a 400 naming it,
    before any view: the API reads an empty value as nothing, which a client who sent one did not mean (an
    empty filter that silently filters nothing). Leave the parameter out instead."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # The API's operations; its schema and documentation pages are not operations (the docs page asks for its
        # own script as `?script=`).
        if is_api_request(request) and not request.path_info.startswith(DOCUMENTATION_PATHS):
            empty = sorted({name for name, value in request.GET.items() if value == ""})
            if empty:
                errors = [
                    {"field": name, "code": "blank", "message": "Give a value, or leave it out."} for name in empty
                ]
                return JsonResponse(error_body("invalid", VALIDATION_SUMMARY, errors), status=400)
        return self.get_response(request)


def too_large():
    from django.conf import settings

    return error_response(
        413, "request_too_large", f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
    )


# --- what each error answer means (for the schema) -----------------------------------------------------

ERROR_DESCRIPTIONS = {
    "400": "Invalid input: `errors` names each field (body field, query parameter or header).",
    "401": "No valid access token (missing, malformed, expired, revoked, or the account is inactive).",
    "403": "Your role in the team does not allow this.",
    "404": "No such object among those you may see.",
    "409": "The present state of what you named does not allow this (`errors` says what).",
    "410": "The cursor is older than what is kept: start over without one.",
    "422": "The values are well-formed but do not fit together (`errors` says which).",
    "413": "The request body is too large.",
    "415": "The request body is not JSON (send `Content-Type: application/json`).",
    "429": "Too many requests; retry after the number of seconds in the Retry-After header.",
}
