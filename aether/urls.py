from anymail import urls as anymail_urls
from django.conf import settings
from django.contrib import admin
from django.http import Http404
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from accounts.forms import AdminSignInForm

from . import views

_TRACKING_WEBHOOKS = {
    p.name.removesuffix("_tracking_webhook"): p.callback
    for p in anymail_urls.urlpatterns
    if p.name and p.name.endswith("_tracking_webhook")
}


@csrf_exempt
def tracking_webhook(request, esp: str):
    """anymail's tracking webhook (bounces and complaints mark outbox rows) of the configured ESP only: with no
    ESP there is none, and with one a system check (aether/checks.py) insists on the webhook secret that
    anymail then checks on every post."""
    if not settings.ANYMAIL_ESP or esp != settings.ANYMAIL_ESP or esp not in _TRACKING_WEBHOOKS:
        raise Http404("No such webhook.")
    return _TRACKING_WEBHOOKS[esp](request)


# Admin's sign-in goes through the same sign-in policy as the site's, and says so when it is paused.
admin.site.login_form = AdminSignInForm

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("accounts.urls")),
    path("", include("tasks.urls")),
    path("notifications/", include("notifications.urls")),
    path("anymail/<str:esp>/tracking/", tracking_webhook, name="anymail_tracking"),
    path("api/v1/", include("aether.api_urls")),
    path("admin/", admin.site.urls),
]
