"""Refusals that are not bad input, as the services raise them (Django's ValidationError, so that forms and
admin show them next to their field as any other), marked by their code so that the API answers each with
its own status (aether/api.py):

- `conflict(...)`: the request is well-formed, but the present state of what it names does not allow it (a
  task in the trash, a stage already completed, a name another project has): 409.
- `unprocessable(...)`: well-formed, but its values do not fit together in a way the schema cannot state (a
  repeat rule PostgreSQL-free but meaningless, a label of another of your teams): 422.

Anything else a service refuses is bad input: 400. The OpenAPI schema documents 409 and 422 where an
operation can give them, so that a request the schema calls valid is never refused without the schema
saying why.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

CONFLICT = "conflict"
UNPROCESSABLE = "unprocessable"


def conflict(message: str, field: str | None = None) -> ValidationError:
    return _refusal(message, field, CONFLICT)


def unprocessable(message: str, field: str | None = None) -> ValidationError:
    return _refusal(message, field, UNPROCESSABLE)


def _refusal(message: str, field: str | None, code: str) -> ValidationError:
    error = ValidationError(message, code=code)
    return ValidationError({field: [error]}) if field else error


def only_fields(data, allowed) -> None:
    """Bad input (400), not a refusal of the kinds above: every field of an update must be one this service
    changes; the others are named, each with its error."""
    unknown = set(data) - set(allowed)
    if unknown:
        raise ValidationError({name: ["This field cannot be changed here."] for name in sorted(unknown)})
