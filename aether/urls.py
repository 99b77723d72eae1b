from anymail import urls as anymail_urls
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from django.urls import include, path
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

from . import views
from .api import error_response_for_status, is_api_request, too_large
from .outages import outage_response

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


urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("accounts.urls")),
    path("", include("tasks.urls")),
    path("notifications/", include("notifications.urls")),
    path("dashboard/", include("analytics.urls")),
    path("anymail/<str:esp>/tracking/", tracking_webhook, name="anymail_tracking"),
    path("api/v1/", include("aether.api_urls")),
    path("admin/", admin.site.urls),
]


# Errors Django answers itself (no such URL, a crash, a suspicious request): under /api/ in the API's error
# shape, elsewhere the site's pages. With DEBUG on, where Django shows its technical pages instead,
# aether/errors.py gives these same answers.
def handler400(request, exception=None):
    if not is_api_request(request):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        return too_large()
    return error_response_for_status(400)


def handler403(request, exception=None):
    if not is_api_request(request):
        return defaults.permission_denied(request, exception)
    return error_response_for_status(403)


def handler404(request, exception=None):
    if not is_api_request(request):
        return defaults.page_not_found(request, exception)
    return error_response_for_status(404)


def handler500(request):
    # Raised by a middleware outside any view (the session saved after it): an outage is a 503, not a crash.
    if (outage := outage_response(request)) is not None:
        return outage
    if not is_api_request(request):
        return defaults.server_error(request)
    return error_response_for_status(500)
