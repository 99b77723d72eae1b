"""Errors answer the same with DEBUG on (`make run`) as in production.

With DEBUG on, Django answers a 404 (the URL resolver's or a view's Http404), a suspicious or bad request and a
crash with its technical pages instead of calling the project's handlers (aether/urls.py). This middleware puts
the product's answers back:

- under /api/, every error answer that is not JSON (Django's technical pages, the CSRF failure page, a plain
  view's 405) becomes the API's error shape, same status and headers, DEBUG or not;
- elsewhere a 404 is the site's 404 page. A 403 already is (Django calls handler403 whatever DEBUG is). A crash
  keeps Django's technical 500 page under DEBUG: the developer needs it.

It is first in MIDDLEWARE, so it also sees the answers other middleware give (CommonMiddleware's 400 for a
disallowed host). It rewrites only bodies: Django has already logged the answer (a crash with its traceback)
and the log is not repeated.
"""

from django.conf import settings
from django.http import Http404
from django.urls import get_resolver, get_urlconf

from .api import error_response_for_status, is_api_request


def _error_handler(status: int):
    """The project's handler404/handler403/... as Django finds it."""
    return get_resolver(get_urlconf()).resolve_error_handler(status)


def _is_json(response) -> bool:
    return response.get("Content-Type", "").split(";")[0].strip() == "application/json"


def _take_body(response, replacement):
    """`response` with `replacement`'s body and type; its status, headers, cookies and Django's note that it
    was logged stay."""
    response.content = replacement.content
    response["Content-Type"] = replacement["Content-Type"]
    if response.has_header("Content-Length"):
        response["Content-Length"] = str(len(response.content))
    return response


class ProductionErrorsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code < 400 or response.streaming:
            return response
        if is_api_request(request):
            if not _is_json(response):
                _take_body(response, error_response_for_status(response.status_code))
        elif settings.DEBUG and response.status_code == 404 and request.resolver_match is None:
            # The URL resolver's 404 (no view was found), answered with Django's technical page. Rendered after the
            # other middleware returned: in a debug run a pending flash message shows here and again on the next page.
            _take_body(response, _error_handler(404)(request, Http404()))
        return response

    def process_exception(self, request, exception):
        """A view's Http404 goes to handler404, as in production (with DEBUG on Django shows its technical page).
        Anything else is left to Django, which logs it."""
        if isinstance(exception, Http404):
            return _error_handler(404)(request, exception)
        return None
