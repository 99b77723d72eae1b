from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics"

    def ready(self):
        # Every task write (tasks.changes.task_rows_changing) updates the kept figures in its transaction.
        from tasks.changes import observer_register

        from .figures import observer

        observer_register(observer)
