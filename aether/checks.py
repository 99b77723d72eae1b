"""System checks of the project's own configuration (registered by aether.apps.AetherConfig)."""

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security)
def webhook_secret_check(app_configs=None, **kwargs):
    """With an ESP configured, its tracking webhook is mounted, and without a secret anymail would accept anyone's
    posts (a forged bounce marks an outbox row). So the app refuses to start: an error, not a warning."""
    if not settings.ANYMAIL_ESP:
        return []
    if (getattr(settings, "ANYMAIL", None) or {}).get("WEBHOOK_SECRET"):
        return []
    return [
        checks.Error(
            f"ANYMAIL_ESP is {settings.ANYMAIL_ESP!r} but ANYMAIL_WEBHOOK_SECRET is not set: the provider's "
            "tracking webhook would accept unsigned posts from anyone.",
            hint="Set ANYMAIL_WEBHOOK_SECRET to 'user:password' (a long random one) and give the same to the "
            "provider's webhook URL, e.g. https://user:password@host/anymail/postmark/tracking/.",
            id="aether.E001",
        )
    ]
