"""Read queries about teams and their people, scoped to what the user may see."""

from __future__ import annotations

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
