"""One-click unsubscribe (RFC 8058): a signed link per (person, kind of email), in the List-Unsubscribe header.

The link carries the person's id and the kind, signed with SECRET_KEY under its own salt (django.core.signing),
so it cannot be forged or turned to another person or kind. It is made when the email is sent
(notifications/headers.py) and kept nowhere: like an invitation's link it exists only in the email as sent.
It has no expiry, since a mail client may offer "unsubscribe" on a year-old email; what it can do is narrow:
turn one kind of email off for one person, which the person can turn back on in their settings. Rotating
SECRET_KEY voids the links already sent (the settings page still works).

A POST (the mail client's one click, with `List-Unsubscribe=One-Click`, no session and no CSRF token) turns
that kind off at once; a GET (a person following the link in a browser) shows a page that confirms with a
button and leads to the settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse

from .models import SWITCHABLE_KINDS, EmailCadence, EmailPreference, Kind, NotificationPreference

SALT = "notifications.unsubscribe"
_SWITCHABLE = frozenset(str(k) for k in SWITCHABLE_KINDS)
_COMBINED = frozenset({str(Kind.TASK_UPDATES), str(Kind.DIGEST)})


@dataclass(frozen=True)
class Unsubscribe:
    user_id: int
    kind: str

    @property
    def what(self) -> str:
        """What the link turns off, in the words of the settings page."""
        if self.kind in _COMBINED:
            return "all emails about tasks"
        return f"emails for “{Kind(self.kind).label}”"


class BadLink(Exception):
    """The link is not one Aether signed (altered, truncated, or signed with another key)."""


def unsubscribe_token(*, user_id: int, kind: str) -> str:
    return signing.dumps([user_id, kind], salt=SALT, compress=True)


def unsubscribe_url(*, user_id: int, kind: str) -> str:
    """The absolute one-click link (SITE_URL) for this person and kind."""
    path = reverse("notifications:unsubscribe", args=[unsubscribe_token(user_id=user_id, kind=kind)])
    return settings.SITE_URL.rstrip("/") + path


def unsubscribe_read(token: str) -> Unsubscribe:
    """The person and kind a link names; BadLink unless Aether signed it for a kind one may turn off."""
    if not token or len(token) > 500:
        raise BadLink
    try:
        user_id, kind = signing.loads(token, salt=SALT)
    except (signing.BadSignature, ValueError, TypeError):
        raise BadLink from None
    if not isinstance(user_id, int) or kind not in _SWITCHABLE | _COMBINED:
        raise BadLink
    return Unsubscribe(user_id=user_id, kind=kind)


def email_unsubscribe(*, link: Unsubscribe) -> bool:
    """Turn off what the link names for its person: the kind's email (the in-app switch is kept), or, from a
    combined email (a batch or a digest), every email about tasks (cadence "off"). The same changes the
    settings page makes, in one transaction. True if something changed; a person no longer there is a no-op."""
    from django.contrib.auth import get_user_model

    from . import services

    user = get_user_model().objects.filter(pk=link.user_id, is_active=True).first()
    if user is None:
        return False
    with transaction.atomic():
        if link.kind in _COMBINED:
            pref = EmailPreference.objects.filter(user=user).first()
            if pref is not None and pref.cadence == EmailCadence.OFF:
                return False
            hour = pref.digest_hour if pref else 8
            if pref is not None:
                zone = pref.time_zone
            else:
                from .selectors import time_zone_default_for

                zone = time_zone_default_for(user.pk)
            services.email_preference_update(actor=user, cadence=EmailCadence.OFF, digest_hour=hour, time_zone=zone)
            return True
        current = NotificationPreference.objects.filter(user=user, kind=link.kind).first()
        if current is not None and not current.email:
            return False
        in_app = current.in_app if current is not None else True
        services.preferences_update(actor=user, choices={link.kind: (False, in_app)})
        return True
