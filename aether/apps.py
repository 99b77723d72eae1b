from django.apps import AppConfig


class AetherConfig(AppConfig):
    """The project package as an app, so that its system checks are registered wherever Django starts."""

    name = "aether"

    def ready(self):
        from . import checks  # noqa: F401 -- registers the checks
        from .lookups import register

        register()  # field__any (aether/lookups.py)
