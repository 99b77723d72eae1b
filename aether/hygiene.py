"""Requests no view should have to think about.

A NUL character cannot be stored in or compared with a PostgreSQL text value: a NUL anywhere in a URL's path or
query string reached the database as a lookup (an invitation token, a search, a filter) and came back a 500.
Forms and the API's serializers already refuse a NUL in a field they read (Django's and DRF's validators);
this refuses one in the URL, before any view runs: 400 ("Bad request"), in the API's error shape under /api/.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from django.http import HttpResponseBadRequest

from .api import error_response, is_api_request

MESSAGE = "The address contains a NUL character."


def has_nul(request) -> bool:
    query = request.META.get("QUERY_STRING", "")
    return "\x00" in request.path or b"\x00" in unquote_to_bytes(query.replace("+", " "))


class NulBytesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if has_nul(request):
            if is_api_request(request):
                return error_response(400, "bad_request", MESSAGE)
            return HttpResponseBadRequest(MESSAGE, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
