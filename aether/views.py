"""Site-wide views: the home page's redirect and /healthz."""

import logging

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .celery import app as celery_app

log = logging.getLogger(__name__)


@login_required
def home(request):
    return redirect("tasks:my_work")


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        log.exception("healthz: the database does not answer")
        return False
    return True


def _broker_ok() -> bool:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception:
        log.exception("healthz: the broker does not answer")
        return False
    return True


@never_cache
@require_GET
def healthz(request):
    """200 when the database and the broker answer; 503 naming the one that does not. Anyone may ask, so the
    answer says only which dependency is down ("ok" or "down"); what went wrong goes to the log."""
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    body = {"status": "ok" if all(checks.values()) else "unavailable"}
    body.update({name: "ok" if ok else "down" for name, ok in checks.items()})
    return JsonResponse(body, status=200 if all(checks.values()) else 503)
