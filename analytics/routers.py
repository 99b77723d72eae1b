"""Reporting reads on a replica: with DATABASE_REPLICA_URL set (aether/settings.py adds the "replica" alias),
the kept figures the dashboards read and the CSV exports go there, so a growing team can take reporting off
the primary. Writes, and the observer's reads inside a task write, stay on the primary ("default")."""

from __future__ import annotations

from django.conf import settings

REPLICA = "replica"


def reporting_alias() -> str:
    """The database that dashboards and exports read: the replica when one is configured."""
    return REPLICA if REPLICA in settings.DATABASES else "default"


class ReportingRouter:
    def db_for_read(self, model, **hints):
        if model._meta.app_label == "analytics":
            return reporting_alias()
        return None

    def db_for_write(self, model, **hints):
        return "default" if model._meta.app_label == "analytics" else None

    def allow_relation(self, obj1, obj2, **hints):
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        # The replica follows the primary (streaming replication): it is never migrated itself.
        return False if db == REPLICA else None
