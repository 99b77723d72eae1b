"""Read queries about teams and their people, scoped to what the user may see."""

from __future__ import annotations

from collections.abc import Iterable
from functools import reduce
from operator import or_

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from .models import AccountEvent, CalendarFeed, Invitation, Membership, Team, User
from .permissions import HIGH_ROLES, team_ids_visible_to


def memberships_of(user) -> QuerySet[Membership]:
    """The user's own memberships, with their teams, in team-name order."""
    if not user.is_authenticated:
        return Membership.objects.none()
    return Membership.objects.filter(user=user).select_related("team").order_by("team__name")


def teams_of(user) -> QuerySet[Team]:
    """The teams the user belongs to, by name (the one answer to "which teams are this person's")."""
    if not user.is_authenticated:
        return Team.objects.none()
    return Team.objects.filter(pk__in=team_ids_visible_to(user)).order_by("name")


def team_ids_of_person(user_id: int) -> set[int]:
    """The ids of the teams a person belongs to now, by the person's id; none once the account is inactive
    (the live pages re-check a person's streams with it when their memberships or account change)."""
    return set(Membership.objects.filter(user_id=user_id, user__is_active=True).values_list("team_id", flat=True))


def team_for_member(user, team_id: int) -> Team | None:
    """The team if the user belongs to it; None for an outsider (the view answers 404)."""
    return teams_of(user).filter(pk=team_id).first()


def first_team_run_by(user) -> Team | None:
    """The first team by name that the user is an owner or admin of (None if they run none): where their
    team-wide pages, the dashboard's first among them, open. One query."""
    membership = memberships_of(user).filter(role__in=HIGH_ROLES).first()
    return membership.team if membership is not None else None


def team_members(team: Team) -> QuerySet[Membership]:
    return Membership.objects.filter(team=team).select_related("user").order_by("user__full_name", "user__email")


def active_members_of(team_id: int) -> QuerySet[User]:
    """The active members of a team, by name: who may be assigned its tasks (accounts/permissions.py
    `check_assignable` is the same rule for one person) and who can be @mentioned in it."""
    return User.objects.filter(
        is_active=True, pk__in=Membership.objects.filter(team_id=team_id).values("user_id")
    ).order_by("full_name", "email")


def fellow_members(user) -> QuerySet[Membership]:
    """The active members of the user's teams (the user included), a row per membership, by name: whom the
    command palette finds. One query."""
    if not user.is_authenticated:
        return Membership.objects.none()
    return (
        Membership.objects.filter(team__memberships__user=user, user__is_active=True)
        .select_related("user", "team")
        .order_by("user__full_name", "user__email", "team__name")
    )


def team_open_invitations(team: Team) -> QuerySet[Invitation]:
    return Invitation.objects.filter(team=team, accepted_at__isnull=True, expires_at__gt=timezone.now()).select_related(
        "invited_by"
    )


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
    asked = reduce(or_, (Q(team_id=team, user_id__any=list(users)) for team, users in users_by_team.items()))
    return set(Membership.objects.filter(asked).values_list("user_id", "team_id"))


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
    people = Membership.objects.filter(team__in=team_ids_visible_to(user)).values("user_id")
    return User.objects.filter(pk__in=people).order_by("full_name", "email")


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


def team_account_events(
    team: Team, *, kind: str | None = None, since=None, until=None, person: User | None = None
) -> QuerySet[AccountEvent]:
    """The account audit trail of a team, latest first (its owners and admins read it on the team page): the
    changes made in the team, and those to its current members' own accounts (a password, a second factor, a
    deactivation, a paused sign-in). Filtered by kind, by day (`since`, `until`: dates, inclusive, in the
    site's time zone) and by the person it is about or who made it."""
    members = Membership.objects.filter(team=team).values("user_id")
    events = AccountEvent.objects.filter(Q(team=team) | Q(team__isnull=True, subject__in=members))
    if kind:
        events = events.filter(kind=kind)
    if since:
        events = events.filter(created_at__date__gte=since)
    if until:
        events = events.filter(created_at__date__lte=until)
    if person is not None:
        events = events.filter(Q(subject=person) | Q(actor=person))
    return events.select_related("actor", "subject").order_by("-created_at", "-id")
