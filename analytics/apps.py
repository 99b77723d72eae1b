from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics"

    def ready(self):
        # Every task write (tasks.changes.task_rows_changing) updates the kept figures in its transaction.
        from tasks.changes import observer_register

        from .figures import observer
        from .forecasts.refresh import observer as forecasts

        observer_register(observer)
        # After the figures: the forecasts read the kept history the write has just updated.
        observer_register(forecasts)
