"""`field__any=values`: the `__in` lookup with the values sent as one array parameter.

`pk__in=ids` with 2,000 ids is an IN list of 2,000 placeholders: psycopg 3 splits and binds the query text
client-side placeholder by placeholder, and PostgreSQL plans a 2,000-branch condition. The overdue job sends
such a list several times per chunk of 2,000 tasks; as `= ANY(%s)` with one array the same statement cost a
tenth (docs/performance.md, overdue detection).

Registered on every field and relation in AetherConfig.ready(); give plain values (ids for a relation).
"""

from __future__ import annotations

from django.core.exceptions import EmptyResultSet
from django.db.models import Field, ForeignObject
from django.db.models.lookups import In


class AnyOf(In):
    lookup_name = "any"

    def as_sql(self, compiler, connection):
        if self.rhs_is_direct_value():
            values = [v for v in self.rhs if v is not None]  # as In: NULL is never equal to anything
            if not values:
                raise EmptyResultSet
            lhs, lhs_params = self.process_lhs(compiler, connection)
            field = self.lhs.output_field
            prepared = [field.get_db_prep_value(field.get_prep_value(v), connection, prepared=True) for v in values]
            return f"{lhs} = ANY(%s)", (*lhs_params, prepared)
        return super().as_sql(compiler, connection)  # a subquery: IN (SELECT …)


def register() -> None:
    Field.register_lookup(AnyOf)
    ForeignObject.register_lookup(AnyOf)  # relations keep lookups of their own (ids here, not instances)
