from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("accounts.urls")),
    path("", include("tasks.urls")),
    path("notifications/", include("notifications.urls")),
    path("dashboard/", include("analytics.urls")),
    # anymail's tracking webhooks (e.g. /anymail/postmark/tracking/): bounces and complaints mark outbox rows
    path("anymail/", include("anymail.urls")),
    path("api/v1/", include("aether.api_urls")),
    path("admin/", admin.site.urls),
]
