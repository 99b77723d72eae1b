from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .celery import app as celery_app


@login_required
def home(request):
    return redirect("tasks:my_work")


def _database_ok() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _broker_ok() -> str | None:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


@never_cache
@require_GET
def healthz(request):
    """200 when the database and the broker answer; 503 naming the one that does not."""
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    failing = {name: error for name, error in checks.items() if error}
    body = {"status": "ok" if not failing else "unavailable", **{n: e or "ok" for n, e in checks.items()}}
    return JsonResponse(body, status=503 if failing else 200)
