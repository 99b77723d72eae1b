"""Every write to accounts, teams, memberships, invitations, passwords and second factors goes through here.

Each service takes the acting user (keyword-only), asks accounts/permissions.py what that user may do, runs in
one transaction and records an AccountEvent in it for the changes the account audit trail keeps
(accounts/audit.py). A ValidationError names the field that was wrong; nothing is half-written.
"""

from .invitations import INVITATION_LIFETIME, invitation_accept, invitation_create, invitation_revoke
from .passwords import password_reset_request, password_set
from .second_factor import second_factor_begin, second_factor_confirm, second_factor_remove, second_factor_reset
from .teams import SLUG_TAKEN, membership_add, membership_remove, membership_set_role, team_create, team_update
from .users import (
    EMAIL_TAKEN,
    calendar_feed_reset,
    profile_update,
    user_create,
    user_deactivate,
    user_reactivate,
    user_update,
)

__all__ = [
    "EMAIL_TAKEN",
    "INVITATION_LIFETIME",
    "SLUG_TAKEN",
    "calendar_feed_reset",
    "invitation_accept",
    "invitation_create",
    "invitation_revoke",
    "membership_add",
    "membership_remove",
    "membership_set_role",
    "password_reset_request",
    "password_set",
    "profile_update",
    "second_factor_begin",
    "second_factor_confirm",
    "second_factor_remove",
    "second_factor_reset",
    "team_create",
    "team_update",
    "user_create",
    "user_deactivate",
    "user_reactivate",
    "user_update",
]
