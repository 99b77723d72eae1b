from django.urls import path

from .views import bins, calendar, projects, search, task, templates

app_name = "tasks"

urlpatterns = [
    path("my-work/", projects.my_work, name="my_work"),
    path("search/", search.search, name="search"),
    path("calendar/", calendar.month, name="calendar"),
    path("calendar/feed/<str:token>.ics", calendar.feed, name="calendar_feed"),
    path("projects/", projects.project_list, name="project_list"),
    path("projects/<int:pk>/", projects.board, name="board"),
    path("projects/<int:pk>/list/", projects.task_list, name="task_list"),
    path("projects/<int:pk>/edit/", projects.project_edit, name="project_edit"),
    path("projects/<int:pk>/delete/", projects.project_delete, name="project_delete"),
    path("projects/<int:pk>/tasks/new/", task.task_create, name="task_create"),
    path("tasks/<int:pk>/", task.task_detail, name="task_detail"),
    path("tasks/<int:pk>/edit/", task.task_edit, name="task_edit"),
    path("tasks/<int:pk>/repeats/", task.task_recurrence, name="task_recurrence"),
    path("tasks/<int:pk>/repeats/stop/", task.task_recurrence_stop, name="task_recurrence_stop"),
    path("tasks/<int:pk>/status/", task.task_status, name="task_status"),
    path("tasks/<int:pk>/due-date/", calendar.task_due_date, name="task_due_date"),
    path("tasks/<int:pk>/complete/", projects.task_complete_stages, name="task_complete_stages"),
    path("tasks/<int:pk>/delete/", task.task_delete, name="task_delete"),
    path("tasks/<int:pk>/restore/", task.task_restore, name="task_restore"),
    path("tasks/<int:pk>/labels/", task.label_add, name="label_add"),
    path("tasks/<int:pk>/stages/", task.stage_add, name="stage_add"),
    path("tasks/<int:pk>/comments/", task.comment_add, name="comment_add"),
    path("comments/<int:pk>/edit/", task.comment_edit, name="comment_edit"),
    path("comments/<int:pk>/delete/", task.comment_delete, name="comment_delete"),
    path("stages/<int:pk>/start/", task.stage_start, name="stage_start"),
    path("stages/<int:pk>/complete/", task.stage_complete, name="stage_complete"),
    path("stages/<int:pk>/reopen/", task.stage_reopen, name="stage_reopen"),
    path("stages/<int:pk>/delete/", task.stage_delete, name="stage_delete"),
    path("stages/<int:pk>/move/", task.stage_move, name="stage_move"),
    path("templates/", templates.template_list, name="template_list"),
    path("templates/new/", templates.template_create, name="template_create"),
    path("templates/<int:pk>/edit/", templates.template_edit, name="template_edit"),
    path("templates/<int:pk>/delete/", templates.template_delete, name="template_delete"),
    path("templates/<int:pk>/use/", templates.template_use, name="template_use"),
    path("trash/", bins.trash, name="trash"),
    path("archive/", bins.archive, name="archive"),
]
