"""The headers of an outbox email, made where the message is built (notifications/delivery.py, `_message_for`),
just before it is sent: the one place they are decided.

- Threading: every email about one task names the same root, `<task-<id>@<host>>`, in `In-Reply-To` and
  `References`, and its own `Message-ID` is stable per outbox row (`<outbox-<row id>.<created>@<host>>`), so an
  email sent twice (the one duplicate delivery allows) is the same message to the mail client. The root is
  never itself sent, as GitHub's issue threads do. Thunderbird, Apple Mail and other clients that follow
  `References` thread on it alone; Gmail and Outlook also compare subjects, so every email about a task is
  titled by the task alone (templates/email/task_*_subject.txt) and its first line says what happened.
- `List-Id`, `Auto-Submitted: auto-generated` (RFC 3834: no vacation replies), and for a kind the person may
  switch off, `List-Unsubscribe` with one-click (RFC 8058, `List-Unsubscribe-Post`). Its URL is signed
  (notifications/unsubscribe.py) and made here, at send time, and never stored: the outbox keeps what the body
  says, not the headers, as it keeps no invitation or reset link (docs/security.md).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings

from .models import SWITCHABLE_KINDS, Kind, OutboxEmail
from .unsubscribe import unsubscribe_url

# Kinds whose email can be turned off in one click: the switchable kinds (that kind), the combined ones (every
# email about tasks). Invitations and password resets were asked for: no List-Unsubscribe.
UNSUBSCRIBABLE_KINDS = frozenset(str(k) for k in [*SWITCHABLE_KINDS, Kind.TASK_UPDATES, Kind.DIGEST])


def site_host() -> str:
    return urlsplit(settings.SITE_URL).hostname or "aether.localhost"


def thread_root(task_id: int) -> str:
    """The Message-ID every email about this task replies to."""
    return f"<task-{task_id}@{site_host()}>"


def message_id(row: OutboxEmail) -> str:
    stamp = int(row.created_at.timestamp()) if row.created_at else 0
    return f"<outbox-{row.pk}.{stamp}@{site_host()}>"


def email_headers(row: OutboxEmail) -> dict[str, str]:
    """The headers of the email `row` is sent as (besides From, To, Subject and Date, which Django writes)."""
    host = site_host()
    headers = {
        "Message-ID": message_id(row),
        "Auto-Submitted": "auto-generated",
        "X-Auto-Response-Suppress": "All",  # Exchange's spelling of the same wish
        "List-Id": f"Aether notifications <notifications.{host}>",
    }
    if row.task_id is not None:
        root = thread_root(row.task_id)
        headers["In-Reply-To"] = root
        headers["References"] = root
    if row.user_id is not None and row.kind in UNSUBSCRIBABLE_KINDS and not (row.context or {}).get("test"):
        headers["List-Unsubscribe"] = f"<{unsubscribe_url(user_id=row.user_id, kind=row.kind)}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return headers
