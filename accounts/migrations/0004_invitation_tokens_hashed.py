"""Invitations keep the hash of their token, never the token.

Each existing invitation gets the SHA-256 of its stored token, so a link already emailed keeps working, and the
token itself is dropped by 0005. An open invitation whose email is still waiting in the outbox (not yet sent)
gets a nonce instead, from which its link is made when that email is sent (accounts/links.py); the old token
was never sent, so nothing is lost. The outbox rows themselves are cleaned by notifications' migration 0010.
"""

import hashlib
import re
import secrets

from django.db import migrations
from django.utils.crypto import salted_hmac

WAITING = ["pending", "failed", "sending", "batched", "digest"]
INVITATION_KEY = re.compile(r"^invitation:(\d+):")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hash_tokens(apps, schema_editor):
    Invitation = apps.get_model("accounts", "Invitation")
    OutboxEmail = apps.get_model("notifications", "OutboxEmail")
    waiting = set()
    for key in OutboxEmail.objects.filter(kind="invitation", status__in=WAITING).values_list("dedupe_key", flat=True):
        match = INVITATION_KEY.match(key)
        if match:
            waiting.add(int(match.group(1)))
    for invitation in Invitation.objects.all().iterator():
        if invitation.pk in waiting and invitation.accepted_at is None:
            # As accounts/links.py invitation_token makes it.
            invitation.token_nonce = secrets.token_hex(16)
            token = salted_hmac("aether.invitation", invitation.token_nonce, algorithm="sha256").hexdigest()
            invitation.token_hash = _hash(token)
        else:
            invitation.token_hash = _hash(invitation.token)
        invitation.save(update_fields=["token_hash", "token_nonce"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_account_events_and_invitation_token_hash"),
        ("notifications", "0009_outbox_indexes_leave_sent_rows_out"),
    ]

    operations = [migrations.RunPython(hash_tokens, migrations.RunPython.noop, elidable=True)]
