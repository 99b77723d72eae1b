"""While PostgreSQL or Redis cannot be reached, a request is answered 503 with Retry-After, not a crash's 500.

An outage (the database restarting, Redis gone) is not a bug: the client should wait a few seconds and try again,
and nothing needs a developer's attention beyond the log line. So the exceptions that mean "a service we depend on
does not answer" become:

- under /api/, 503 in the API's error shape (`{"code": "service_unavailable", ...}`) with `Retry-After`;
- elsewhere, the site's own 503 page (templates/503.html, which needs no database: no user, no session) with
  `Retry-After`.

Two doors, one answer (`outage_response`):

- `OutageMiddleware.process_exception`: a view (a DRF view too: the API's exception handler leaves what it does
  not know to Django) raised one. With DEBUG on as well, where Django would show its technical page.
- `aether.urls.handler500` asks `outage_response` about the exception being handled: a middleware (the session
  saved after the view, the user loaded for the sign-in check) raised one outside any view.

Recovery needs no restart: Django checks a kept database connection before reusing it (CONN_HEALTH_CHECKS) and
drops one that failed; redis-py reconnects on the next command; Celery's producer, worker and beat reconnect to
the broker (docs/faults.md).
"""

from __future__ import annotations

import logging
import sys

from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.http import HttpResponse
from django.template import loader
from kombu.exceptions import OperationalError as BrokerOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .api import error_response, is_api_request

log = logging.getLogger(__name__)

# Seconds a client is asked to wait: PostgreSQL's crash recovery and a Redis restart take a few.
RETRY_AFTER_SECONDS = 5

DATABASE_DOWN = (DatabaseOperationalError, DatabaseInterfaceError)
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, BrokerOperationalError)
API_DETAIL = "The service is briefly unavailable; try again in a few seconds."


def service_down(exc: BaseException | None) -> str | None:
    """ "database" or "redis" when `exc` (or what it was raised from) says that service does not answer."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, DATABASE_DOWN):
            return "database"
        if isinstance(exc, REDIS_DOWN):
            return "redis"
        exc = exc.__cause__ or exc.__context__
    return None


def outage_response(request, exc: BaseException | None = None) -> HttpResponse | None:
    """The 503 for `exc` (by default the exception being handled), or None when it is not an outage."""
    if exc is None:
        exc = sys.exc_info()[1]
    service = service_down(exc)
    if service is None:
        return None
    log.warning("%s %s: answered 503, the %s does not answer (%s)", request.method, request.path, service, exc)
    if is_api_request(request):
        response = error_response(503, "service_unavailable", API_DETAIL)
    else:
        response = HttpResponse(loader.get_template("503.html").render(), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    # Django logs an exception's answer as an error with its traceback; this one was logged above, as a warning.
    response._has_been_logged = True
    return response


class OutageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        return outage_response(request, exception)
