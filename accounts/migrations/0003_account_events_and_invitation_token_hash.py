import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    """The account audit trail (AccountEvent), and the columns an invitation keeps instead of its token: the
    token's hash and the nonce the token is derived from (filled by 0004, the token dropped by 0005)."""

    dependencies = [
        ("accounts", "0002_calendar_feed"),
    ]

    operations = [
        migrations.AddField(
            model_name="invitation",
            name="token_hash",
            field=models.CharField(editable=False, max_length=64, null=True),
        ),
        migrations.AddField(
            model_name="invitation",
            name="token_nonce",
            field=models.CharField(blank=True, editable=False, max_length=32),
        ),
        migrations.CreateModel(
            name="AccountEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("member_added", "Member added"),
                            ("member_removed", "Member removed"),
                            ("role_changed", "Role changed"),
                            ("invitation_sent", "Invitation sent"),
                            ("invitation_accepted", "Invitation accepted"),
                            ("invitation_revoked", "Invitation withdrawn"),
                            ("team_renamed", "Team renamed"),
                            ("team_time_zone_changed", "Team time zone changed"),
                            ("user_deactivated", "Account deactivated"),
                            ("user_reactivated", "Account reactivated"),
                            ("password_changed", "Password changed"),
                            ("password_reset", "Password reset by email"),
                            ("signin_paused", "Sign-in paused"),
                            ("second_factor_enrolled", "Second factor set up"),
                            ("second_factor_removed", "Second factor removed"),
                        ],
                        max_length=30,
                    ),
                ),
                (
                    "email",
                    models.EmailField(blank=True, help_text="The address invited, for invitations.", max_length=254),
                ),
                ("data", models.JSONField(blank=True, default=dict)),
                (
                    "address",
                    models.CharField(blank=True, help_text="The client address of the request.", max_length=64),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "actor",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "subject",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "team",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="accounts.team",
                    ),
                ),
            ],
            options={
                "verbose_name": "account event",
                "ordering": ["-created_at", "-id"],
                "indexes": [
                    models.Index(fields=["team", "-created_at", "-id"], name="account_event_team_recent"),
                    models.Index(fields=["subject", "-created_at", "-id"], name="account_event_subject_recent"),
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            (
                                "kind__in",
                                [
                                    "member_added",
                                    "member_removed",
                                    "role_changed",
                                    "invitation_sent",
                                    "invitation_accepted",
                                    "invitation_revoked",
                                    "team_renamed",
                                    "team_time_zone_changed",
                                    "user_deactivated",
                                    "user_reactivated",
                                    "password_changed",
                                    "password_reset",
                                    "signin_paused",
                                    "second_factor_enrolled",
                                    "second_factor_removed",
                                ],
                            )
                        ),
                        name="account_event_kind_valid",
                    )
                ],
            },
        ),
    ]
