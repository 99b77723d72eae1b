from django.apps import AppConfig


class SyncConfig(AppConfig):
    name = "sync"
    verbose_name = "Delta sync"

    def ready(self):
        from aether.changes import observer_register

        from .recorder import observer

        # Every reported change of a task, comment, notification or membership writes its change-log rows in the
        # change's own transaction (sync/recorder.py).
        observer_register(observer)
