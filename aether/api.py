"""Pieces every API view shares: the one error shape and pagination (the throttles are in aether/throttling.py,
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

from collections import OrderedDict
from http import HTTPStatus
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, serializers
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import exception_handler as drf_exception_handler

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
        response.data = error_body("invalid", VALIDATION_SUMMARY, _flatten(exc.detail, None))
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


def too_large():
    from django.conf import settings

    return error_response(
        413, "request_too_large", f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
    )


# --- pagination -----------------------------------------------------------------------------------------


class PagePagination(BasePagination):
    """`?page=N&page_size=M` (at most 100), answered as {"next", "previous", "results"}.

    No total count: counting a million rows costs more than the page itself, and a mobile list only needs
    "is there more". One row past the page tells that, so every page costs the same number of queries.
    """

    page_query_param = "page"
    page_size_query_param = "page_size"
    default_page_size = 25
    max_page_size = 100
    max_page = 100_000

    def _int_param(self, request, name: str, default: int, maximum: int) -> int:
        raw = request.query_params.get(name)
        if raw in (None, ""):
            return default
        try:
            value = int(raw)
        except (TypeError, ValueError):
            value = 0
        if not 1 <= value <= maximum:
            raise exceptions.ValidationError({name: [f"Give a whole number from 1 to {maximum}."]})
        return value

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.page = self._int_param(request, self.page_query_param, 1, self.max_page)
        self.page_size = self._int_param(
            request, self.page_size_query_param, self.default_page_size, self.max_page_size
        )
        offset = (self.page - 1) * self.page_size
        rows = list(queryset[offset : offset + self.page_size + 1])
        self.has_next = len(rows) > self.page_size
        return rows[: self.page_size]

    def get_next_link(self) -> str | None:
        if not self.has_next:
            return None
        return replace_query_param(self.request.build_absolute_uri(), self.page_query_param, self.page + 1)

    def get_previous_link(self) -> str | None:
        if self.page <= 1:
            return None
        url = self.request.build_absolute_uri()
        if self.page == 2:
            return remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.page_query_param, self.page - 1)

    def get_paginated_response(self, data):
        return Response(
            OrderedDict([("next", self.get_next_link()), ("previous", self.get_previous_link()), ("results", data)])
        )

    def get_paginated_response_schema(self, schema):
        link = {"type": "string", "format": "uri", "nullable": True}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {"next": link, "previous": link, "results": schema},
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.page_query_param,
                "in": "query",
                "required": False,
                "description": "Page number, from 1.",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page},
            },
            {
                "name": self.page_size_query_param,
                "in": "query",
                "required": False,
                "description": f"Rows per page (default {self.default_page_size}, at most {self.max_page_size}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]


# --- what each error answer means (for the schema) -----------------------------------------------------

ERROR_DESCRIPTIONS = {
    "400": "Invalid input: `errors` names each field (body field, query parameter or header).",
    "401": "No valid access token (missing, malformed, expired, revoked, or the account is inactive).",
    "403": "Your role in the team does not allow this.",
    "404": "No such object among those you may see.",
    "413": "The request body is too large.",
    "415": "The request body is not JSON (send `Content-Type: application/json`).",
    "429": "Too many requests; retry after the number of seconds in the Retry-After header.",
}
