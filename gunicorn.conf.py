"""gunicorn settings for the `web` process (Procfile). Everything can be overridden from the environment."""

import multiprocessing
import os

# Every interface in a deployment (the platform's router connects from outside); `make run` sets HOST=127.0.0.1.
bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104
workers = int(os.environ.get("WEB_CONCURRENCY", min(4, multiprocessing.cpu_count() * 2 + 1)))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
# Requests should answer in milliseconds; a request still running after this is a bug, not a slow client.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
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
