from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from accounts.forms import AdminSignInForm

from . import views

# Admin's sign-in goes through the same sign-in policy as the site's, and says so when it is paused.
admin.site.login_form = AdminSignInForm

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("accounts.urls")),
    path("", include("tasks.urls")),
    path("notifications/", include("notifications.urls")),
    path("api/v1/", include("aether.api_urls")),
    path("admin/", admin.site.urls),
]

if settings.ANYMAIL_ESP:
    # anymail's tracking webhooks (e.g. /anymail/postmark/tracking/): bounces and complaints mark outbox rows.
    # Only with an ESP, and then a system check (aether/checks.py) refuses to start without a webhook secret.
    urlpatterns.insert(-2, path("anymail/", include("anymail.urls")))
