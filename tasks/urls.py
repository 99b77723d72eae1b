from django.urls import path

from . import views

app_name = "tasks"

urlpatterns = [
    path("my-work/", views.my_work, name="my_work"),
    path("projects/", views.project_list, name="project_list"),
    path("projects/<int:pk>/", views.board, name="board"),
    path("projects/<int:pk>/list/", views.task_list, name="task_list"),
    path("projects/<int:pk>/edit/", views.project_edit, name="project_edit"),
    path("projects/<int:pk>/delete/", views.project_delete, name="project_delete"),
    path("projects/<int:pk>/tasks/new/", views.task_create, name="task_create"),
    path("tasks/<int:pk>/", views.task_detail, name="task_detail"),
    path("tasks/<int:pk>/edit/", views.task_edit, name="task_edit"),
    path("tasks/<int:pk>/status/", views.task_status, name="task_status"),
    path("tasks/<int:pk>/delete/", views.task_delete, name="task_delete"),
    path("tasks/<int:pk>/restore/", views.task_restore, name="task_restore"),
    path("tasks/<int:pk>/labels/", views.label_add, name="label_add"),
    path("tasks/<int:pk>/stages/", views.stage_add, name="stage_add"),
    path("tasks/<int:pk>/comments/", views.comment_add, name="comment_add"),
    path("stages/<int:pk>/start/", views.stage_start, name="stage_start"),
    path("stages/<int:pk>/complete/", views.stage_complete, name="stage_complete"),
    path("stages/<int:pk>/reopen/", views.stage_reopen, name="stage_reopen"),
    path("stages/<int:pk>/delete/", views.stage_delete, name="stage_delete"),
    path("stages/<int:pk>/move/", views.stage_move, name="stage_move"),
    path("templates/", views.template_list, name="template_list"),
    path("templates/new/", views.template_create, name="template_create"),
    path("templates/<int:pk>/edit/", views.template_edit, name="template_edit"),
    path("templates/<int:pk>/delete/", views.template_delete, name="template_delete"),
    path("templates/<int:pk>/use/", views.template_use, name="template_use"),
    path("trash/", views.trash, name="trash"),
    path("archive/", views.archive, name="archive"),
    path("dashboard-soon/", views.dashboard_pending, name="dashboard_pending"),
]
