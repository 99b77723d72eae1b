"""Writing the account audit trail (accounts.AccountEvent): `audit_record`, called by the services of accounts
inside the transaction of the change it records (as tasks' services write Activity), so a change and its record
commit or roll back together.

The acting user is passed by the service, as everywhere. The client address is not: it is request metadata, not
an input of any rule, and threading it through every service signature (and every view, API view, admin
form and command that calls them) would make each call site a place to forget it. `ClientAddressMiddleware`
puts the request's address (as the sign-in policy reads it: accounts/signin.py `client_address`) in a context
variable for the request's duration; outside a request (jobs, commands, the shell) it is empty.
"""

from __future__ import annotations

import contextvars
from typing import Any

from .models import AccountEvent, AccountEventKind

_address: contextvars.ContextVar[str] = contextvars.ContextVar("aether_client_address", default="")


class ClientAddressMiddleware:
    """Make the request's client address known to `audit_record` while the request runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from .signin import client_address

        address = client_address(request)
        token = _address.set("" if address == "-" else address[:64])
        try:
            return self.get_response(request)
        finally:
            _address.reset(token)


def current_address() -> str:
    return _address.get()


def audit_record(
    kind: AccountEventKind,
    *,
    actor=None,
    team=None,
    subject=None,
    email: str = "",
    data: dict[str, Any] | None = None,
) -> AccountEvent:
    """Record one account change. Call inside the change's transaction."""
    return AccountEvent.objects.create(
        kind=kind,
        actor=actor if getattr(actor, "pk", None) else None,
        team=team,
        subject=subject,
        email=email,
        data=data or {},
        address=current_address(),
    )
