from django.db import migrations, models

import accounts.models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_invitation_tokens_hashed"),
    ]

    operations = [
        migrations.RemoveField(model_name="invitation", name="token"),
        migrations.AlterField(
            model_name="invitation",
            name="token_hash",
            field=models.CharField(
                default=accounts.models._unmatched_token_hash, editable=False, max_length=64, unique=True
            ),
        ),
    ]
