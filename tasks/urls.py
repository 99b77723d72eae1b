from django.urls import path

from . import views

app_name = "tasks"

urlpatterns = [
    path("my-work/", views.my_work, name="my_work"),
    path("tasks/<int:pk>/", views.task_detail, name="task_detail"),
]
