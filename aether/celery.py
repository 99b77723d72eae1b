"""The Celery application. Configuration lives in settings (CELERY_* names); schedules live in the
database (django-celery-beat), created by `manage.py setup_periodic_tasks`, never hard-coded here."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aether.settings")

app = Celery("aether")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
