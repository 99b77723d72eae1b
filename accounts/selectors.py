"""Read queries about teams and their people, scoped to what the user may see."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from .models import Invitation, Membership, Team


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


def time_zone_default_for(user_id: int) -> str:
    """The time zone a user's own clock (the digest hour) starts in until they choose one: that of the team
    they joined first (most people's teams are where they live), else the site's TIME_ZONE. One query."""
    zone = (
        Membership.objects.filter(user_id=user_id)
        .order_by("created_at", "pk")
        .values_list("team__time_zone", flat=True)
        .first()
    )
    return zone or settings.TIME_ZONE
