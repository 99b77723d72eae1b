"""Sign-in, passwords, the profile, the second factor, invitations and the team page. Thin: parse, ask
permissions/selectors, call a service."""

from .profile import (
    calendar_feed_reset,
    profile,
    second_factor,
    second_factor_begin,
    second_factor_confirm,
    second_factor_remove,
    second_factor_session,
)
from .signin import (
    PasswordChangeView,
    PasswordResetConfirmView,
    PasswordResetView,
    SignInView,
    SignOutView,
    second_factor_verify,
)
from .teams import (
    invitation_accept,
    invitation_revoke,
    membership_remove,
    membership_role,
    team_audit,
    team_detail,
    team_invite,
    team_list,
)

__all__ = [
    "PasswordChangeView",
    "PasswordResetConfirmView",
    "PasswordResetView",
    "SignInView",
    "SignOutView",
    "calendar_feed_reset",
    "invitation_accept",
    "invitation_revoke",
    "membership_remove",
    "membership_role",
    "profile",
    "second_factor",
    "second_factor_begin",
    "second_factor_confirm",
    "second_factor_remove",
    "second_factor_session",
    "second_factor_verify",
    "team_audit",
    "team_detail",
    "team_invite",
    "team_list",
]
