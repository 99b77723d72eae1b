from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AetherConfig(AppConfig):
    """The project package as an app, so that its system checks are registered wherever Django starts."""

    name = "aether"

    def ready(self):
        from . import checks  # noqa: F401 -- registers the checks
        from .lookups import register

        register()  # field__any (aether/lookups.py)

        from .changes import observer_register
        from .generations import observer

        # Every committed change renews the generations of what it moved (aether/generations.py).
        observer_register(observer)

        from .live.publish import observer as live

        # ... and is published, after its commit, to the open pages that show it (aether/live/__init__.py).
        observer_register(live)


class AetherAdminConfig(admin_apps.AdminConfig):
    """Django admin with Aether's site (aether/admin_site.py): team-scoped or superuser-only admins, by
    construction, behind the site's sign-in and second factor. Named in INSTALLED_APPS by its path."""

    default = False  # not the default config of the `aether` app (AetherConfig is)
    default_site = "aether.admin_site.AetherAdminSite"
