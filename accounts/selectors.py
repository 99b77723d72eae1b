"""Read queries about teams and their people, scoped to what the user may see."""

from __future__ import annotations

from collections.abc import Iterable
from functools import reduce
from operator import or_

from django.db.models import Q, QuerySet
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
    nobody outside a team hears about its tasks. The condition is one (team, users of that team) term per
    team, so the query reads only the memberships asked about (the overdue job asks of 2,000 pairs at a time:
    "these users in these teams" read every membership of the chunk's users in all its teams)."""
    pairs = set(pairs)
    if not pairs:
        return set()
    users_by_team: dict[int, set[int]] = {}
    for user_id, team_id in pairs:
        users_by_team.setdefault(team_id, set()).add(user_id)
    asked = reduce(or_, (Q(team_id=team, user_id__in=users) for team, users in users_by_team.items()))
    return set(Membership.objects.filter(asked).values_list("user_id", "team_id"))
