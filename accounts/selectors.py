"""Read queries about teams and their people, scoped to what the user may see."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet
from django.utils import timezone

from .models import CalendarFeed, Invitation, Membership, Team, User


def memberships_of(user) -> QuerySet[Membership]:
    """The user's own memberships, with their teams, in team-name order."""
    if not user.is_authenticated:
        return Membership.objects.none()
    return Membership.objects.filter(user=user).select_related("team").order_by("team__name")


def team_for_member(user, team_id: int) -> Team | None:
    """The team if the user belongs to it; None for an outsider (the view answers 404)."""
    return Team.objects.filter(pk=team_id, memberships__user=user).first() if user.is_authenticated else None


def team_members(team: Team) -> QuerySet[Membership]:
    return Membership.objects.filter(team=team).select_related("user").order_by("user__full_name", "user__email")


def team_open_invitations(team: Team) -> QuerySet[Invitation]:
    return Invitation.objects.filter(team=team, accepted_at__isnull=True, expires_at__gt=timezone.now()).select_related(
        "invited_by"
    )


def invitation_by_token(token: str) -> Invitation | None:
    return Invitation.objects.select_related("team", "invited_by").filter(token=token).first()


def members_among(pairs: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
    """Of these (user_id, team_id) pairs, those where the user is a member of the team now. One query.

    notifications asks this (settings.NOTIFICATIONS_AUDIENCE_CHECK) before writing and before sending, so that
    nobody outside a team hears about its tasks. It over-reads at most the other memberships among the same
    users and teams, and returns only the pairs asked about."""
    pairs = set(pairs)
    if not pairs:
        return set()
    users = {user_id for user_id, _ in pairs}
    teams = {team_id for _, team_id in pairs}
    found = Membership.objects.filter(user_id__in=users, team_id__in=teams).values_list("user_id", "team_id")
    return set(found) & pairs


def calendar_feed_of(user) -> CalendarFeed | None:
    """The user's own iCal feed (its link is on the profile page), None until they create one."""
    return CalendarFeed.objects.filter(user=user).first() if user.is_authenticated else None


def calendar_feed_by_token(token: str) -> CalendarFeed | None:
    """The feed whose secret is `token`, with its user, if that user is still active; else None (a 404)."""
    if not token or len(token) > 64:
        return None
    return CalendarFeed.objects.select_related("user").filter(token=token, user__is_active=True).first()


def teammates_of(user) -> QuerySet[User]:
    """Everyone in any of the user's teams, the user included, by name: whom a page across teams can filter
    by (the calendar's assignee filter)."""
    if not user.is_authenticated:
        return User.objects.none()
    teams = Membership.objects.filter(user=user).values("team_id")
    return User.objects.filter(memberships__team__in=teams).distinct().order_by("full_name", "email")
