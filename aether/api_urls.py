"""The /api/v1/ urlconf: one path per endpoint, in the order of the API's documentation."""

import functools

from django.urls import path
from django.utils.module_loading import import_string

from accounts import api as accounts_api
from analytics import api as analytics_api
from notifications import api as notifications_api
from sync import api as sync_api
from tasks import api as tasks_api


def _loaded_on_first_request(view_class: str, **initkwargs):
    """The DRF view `view_class` (a dotted path), imported when it is first requested: the schema's generator,
    renderers and YAML (drf-spectacular, 3 MB) stay out of a process that never serves the schema or its page."""

    @functools.cache
    def view():
        return import_string(view_class).as_view(**initkwargs)

    def dispatch(request, *args, **kwargs):
        return view()(request, *args, **kwargs)

    dispatch.csrf_exempt = True  # as APIView.as_view marks every DRF view (the CSRF middleware reads it here)
    return dispatch


urlpatterns = [
    path("auth/token/", accounts_api.TokenObtainView.as_view(), name="api-token"),
    path("auth/token/refresh/", accounts_api.TokenRefreshView.as_view(), name="api-token-refresh"),
    path("auth/logout/", accounts_api.LogoutView.as_view(), name="api-logout"),
    path("me/", accounts_api.MeView.as_view(), name="api-me"),
    path("projects/", tasks_api.ProjectListView.as_view(), name="api-projects"),
    path("projects/<int:id>/", tasks_api.ProjectDetailView.as_view(), name="api-project"),
    path("tasks/", tasks_api.TaskListView.as_view(), name="api-tasks"),
    path("tasks/<int:id>/", tasks_api.TaskDetailView.as_view(), name="api-task"),
    path("tasks/<int:id>/restore/", tasks_api.TaskRestoreView.as_view(), name="api-task-restore"),
    path("tasks/<int:id>/recurrence/", tasks_api.TaskRecurrenceView.as_view(), name="api-task-recurrence"),
    path("tasks/<int:id>/stages/", tasks_api.TaskStagesView.as_view(), name="api-task-stages"),
    path("tasks/<int:id>/comments/", tasks_api.TaskCommentsView.as_view(), name="api-task-comments"),
    path("comments/<int:id>/", tasks_api.CommentDetailView.as_view(), name="api-comment"),
    path("tasks/<int:id>/activity/", tasks_api.TaskActivityView.as_view(), name="api-task-activity"),
    path("stages/<int:id>/", tasks_api.StageDetailView.as_view(), name="api-stage"),
    path("templates/", tasks_api.TemplateListView.as_view(), name="api-templates"),
    path("notifications/", notifications_api.NotificationListView.as_view(), name="api-notifications"),
    path("notifications/<int:id>/read/", notifications_api.NotificationReadView.as_view(), name="api-notice-read"),
    path("notifications/read-all/", notifications_api.NotificationReadAllView.as_view(), name="api-notices-read-all"),
    path("notifications/preferences/", notifications_api.PreferencesView.as_view(), name="api-notice-preferences"),
    path("notifications/email/", notifications_api.EmailDeliveryView.as_view(), name="api-notice-email"),
    path("dashboard/", analytics_api.DashboardView.as_view(), name="api-dashboard"),
    path("reports/tasks.csv", analytics_api.TasksCsvView.as_view(), name="api-tasks-csv"),
    path("sync/", sync_api.SyncView.as_view(), name="api-sync"),
    path("schema/", _loaded_on_first_request("drf_spectacular.views.SpectacularAPIView"), name="api-schema"),
    path("docs/", _loaded_on_first_request("aether.api_docs.ApiDocsView", url_name="api-schema"), name="api-docs"),
]
