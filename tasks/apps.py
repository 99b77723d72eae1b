from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "tasks"

    def ready(self):
        from accounts.hooks import member_leaving_register

        from .services.task import tasks_unassign_leaver

        # A member leaving a team leaves no open task of it assigned to them (accounts/hooks.py says why a hook).
        member_leaving_register(tasks_unassign_leaver)
