"""gunicorn settings for the `web` process (Procfile). Everything can be overridden from the environment.

The web process serves ASGI (aether/asgi.py) with uvicorn's worker under gunicorn: the pages as before (each sync
view in a thread) and the live pages' event streams (aether/live/), each a waiting coroutine. A proxy in front
must not buffer `text/event-stream` (the stream says `X-Accel-Buffering: no` for nginx), and its read timeout
must exceed the streams' 15 s heartbeat (nginx's default 60 s does).
"""

import multiprocessing
import os

# Every interface in a deployment (the platform's router connects from outside); `make run` sets HOST=127.0.0.1.
bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104
workers = int(os.environ.get("WEB_CONCURRENCY", min(4, multiprocessing.cpu_count() * 2 + 1)))
worker_class = "uvicorn_worker.UvicornWorker"
# A worker that stops answering gunicorn's heartbeat this long is killed (an open event stream is not a request
# gunicorn waits on: the worker's event loop keeps answering while thousands of them wait).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# Each sync view runs in a thread of its own under ASGI: the process takes database connections from one pool
# (aether/settings.py DATABASE_POOL) rather than keeping one per thread.
os.environ.setdefault("DATABASE_POOL", "1")
graceful_timeout = 20
# Recycle workers now and then so a slow leak can never take a host down.
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def on_starting(server):
    """Refuse to start on a configuration that Django's system checks call an error (e.g. an ESP without its
    webhook secret, aether.E001): gunicorn itself runs no checks."""
    import django
    from django.core import checks

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aether.settings")
    django.setup()
    errors = [e for e in checks.run_checks(tags=[checks.Tags.security]) if e.is_serious()]
    if errors:
        raise SystemExit("Refusing to start:\n" + "\n".join(f"{e.id}: {e.msg} {e.hint or ''}" for e in errors))
