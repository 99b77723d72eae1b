"""What the account services share."""

from __future__ import annotations

from django.db import IntegrityError, transaction


def insert(obj) -> bool:
    """Insert `obj` in a savepoint. False when a unique constraint refused it (a concurrent transaction wrote
    the same key first: the check before the insert cannot see a row that is not committed yet), so that the
    caller can answer with a field error instead of an IntegrityError."""
    try:
        with transaction.atomic():
            obj.save(force_insert=True)
    except IntegrityError:
        return False
    return True
