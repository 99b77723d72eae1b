"""Invitation and password-reset emails keep no link: their rows lose their rendered bodies, the "url" of their
context and any token in their dedupe keys. A waiting invitation gets the invitation's id in its context, from
which the delivery worker makes the link when it sends it (accounts/links.py); a waiting reset is made from the
account it names (its user). The texts of emails already sent are not kept (they were the only copy of a link).
"""

import re

from django.db import migrations, models

KINDS = ["invitation", "password_reset"]
INVITATION_KEY = re.compile(r"^invitation:(\d+):")


def clean(apps, schema_editor):
    OutboxEmail = apps.get_model("notifications", "OutboxEmail")
    for row in OutboxEmail.objects.filter(kind__in=KINDS).iterator():
        context = {k: v for k, v in (row.context or {}).items() if k != "url"}
        match = INVITATION_KEY.match(row.dedupe_key)
        if row.kind == "invitation" and match:
            context["invitation_id"] = int(match.group(1))
        row.context = context
        row.body_text = row.body_html = ""
        # The old keys held (part of) the token: now the kind, the row's reference and the row's own id.
        ref = match.group(1) if match else str(row.user_id or "")
        row.dedupe_key = f"{row.kind}:{ref}:outbox-{row.pk}"
        row.save(update_fields=["context", "body_text", "body_html", "dedupe_key"])


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0009_outbox_indexes_leave_sent_rows_out"),
        ("accounts", "0004_invitation_tokens_hashed"),
    ]

    operations = [
        migrations.RunPython(clean, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="outboxemail",
            name="body_text",
            field=models.TextField(
                blank=True,
                help_text="Empty until rendered; rendered from kind and context. Invitations and password resets "
                "stay empty: their link is a credential, made when they are sent and kept nowhere.",
            ),
        ),
    ]
