"""Reading notifications, always scoped to the user who may see them; the outbox figures for the admin."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet
from django.utils.module_loading import import_string

from .models import (
    HELD_STATES,
    SWITCHABLE_KINDS,
    EmailCadence,
    EmailPreference,
    Kind,
    Notification,
    NotificationPreference,
    OutboxEmail,
    OutboxState,
)


def notifications_for(user) -> QuerySet[Notification]:
    """The one door to in-app notifications: the user's own, newest first. Anyone else's id is a 404."""
    if not getattr(user, "is_authenticated", False):
        return Notification.objects.none()
    return Notification.objects.filter(user=user).select_related("actor").order_by("-created_at", "-id")


def unread_count(user) -> int:
    """One query, on the partial index of unread rows."""
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


@dataclass(frozen=True)
class Preference:
    kind: str
    label: str
    email: bool
    in_app: bool


def preferences_for(user) -> list[Preference]:
    """Every switchable kind with the user's choice (no stored row: both channels on). One query."""
    stored = {
        kind: (email, in_app)
        for kind, email, in_app in NotificationPreference.objects.filter(user=user).values_list(
            "kind", "email", "in_app"
        )
    }
    return [
        Preference(
            kind=str(kind),
            label=Kind(kind).label,
            email=stored.get(kind, (True, True))[0],
            in_app=stored.get(kind, (True, True))[1],
        )
        for kind in SWITCHABLE_KINDS
    ]


def time_zone_default_for(user_id: int) -> str:
    """The zone a user's digest hour starts in until they choose one, asked of
    settings.NOTIFICATIONS_DEFAULT_TIME_ZONE (accounts: their first team's); the site's TIME_ZONE without it."""
    path = getattr(settings, "NOTIFICATIONS_DEFAULT_TIME_ZONE", "")
    return import_string(path)(user_id) if path else settings.TIME_ZONE


def email_preference_for(user) -> EmailPreference:
    """The user's email cadence; unsaved defaults (as it happens, 08:00 in their first team's time zone) when
    they never chose. One query, two without a row."""
    pref = EmailPreference.objects.filter(user=user).first()
    if pref is None:
        pref = EmailPreference(user=user, cadence=EmailCadence.IMMEDIATE, time_zone=time_zone_default_for(user.pk))
    return pref


def outbox_counts() -> dict[str, int]:
    """Rows still to deliver (pending, failed awaiting a retry, or being sent), dead rows, and rows held for a
    batch or a digest. Three counts, each
    on an index (the partial "due" index and status+kind), so they stay cheap as sent rows pile up."""
    return {
        "waiting": OutboxEmail.objects.filter(
            status__in=[OutboxState.PENDING, OutboxState.FAILED, OutboxState.SENDING]
        ).count(),
        "dead": OutboxEmail.objects.filter(status=OutboxState.DEAD).count(),
        "held": OutboxEmail.objects.filter(status__in=HELD_STATES).count(),  # on the partial index of held rows
    }
