from django.urls import path

from . import views

app_name = "notifications"

urlpatterns = [
    path("", views.notification_list, name="list"),
    path("<int:pk>/read/", views.notification_read, name="read"),
    path("<int:pk>/open/", views.notification_open, name="open"),
    path("read-all/", views.notifications_read_all, name="read_all"),
    path("preferences/", views.preferences, name="preferences"),
    path("preferences/test-digest/", views.digest_test, name="digest_test"),
    path("unsubscribe/<str:token>/", views.unsubscribe_view, name="unsubscribe"),
]
