"""JSON shapes of the notifications API."""

import zoneinfo

from rest_framework import serializers

from aether.refusals import UNPROCESSABLE

from .models import SWITCHABLE_KINDS, EmailCadence, Kind, Notification


class NotificationSerializer(serializers.ModelSerializer):
    actor_name = serializers.SerializerMethodField(help_text="Who acted, or null for the system.")
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "message", "url", "task", "actor_name", "created_at", "read_at", "read"]
        read_only_fields = fields

    def get_actor_name(self, obj) -> str | None:
        return obj.actor.get_full_name() if obj.actor_id else None

    def get_read(self, obj) -> bool:
        return obj.read_at is not None


class ReadAllSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many unread notifications were marked read.")


class PreferenceSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[(k.value, k.label) for k in SWITCHABLE_KINDS])
    label = serializers.CharField(read_only=True)
    email = serializers.BooleanField(help_text="Send an email for this kind of event.")
    in_app = serializers.BooleanField(help_text="Show it among the in-app notifications.")


class PreferenceListSerializer(serializers.ListSerializer):
    child = PreferenceSerializer()

    def validate(self, attrs):
        kinds = [item["kind"] for item in attrs]
        if len(kinds) != len(set(kinds)):
            # Each item well-formed, together not (a schema cannot say "unique by kind"): 422 (aether/refusals.py).
            raise serializers.ValidationError("Give each kind at most once.", code=UNPROCESSABLE)
        return attrs


def preference_rows(preferences) -> list[dict]:
    return [{"kind": p.kind, "label": Kind(p.kind).label, "email": p.email, "in_app": p.in_app} for p in preferences]


class EmailDeliverySerializer(serializers.Serializer):
    cadence = serializers.ChoiceField(
        choices=EmailCadence.choices,
        help_text="immediate: each email as it happens (updates on one task within a few minutes come as one); "
        "digest: one email a day at digest_hour in time_zone; off: no emails about tasks.",
    )
    digest_hour = serializers.IntegerField(
        min_value=0, max_value=23, required=False, help_text="The hour of the daily digest, 0-23 (kept if left out)."
    )
    # The zones this server knows (IANA's, as zoneinfo has them), listed in the schema.
    time_zone = serializers.ChoiceField(
        choices=sorted(zoneinfo.available_timezones()),
        required=False,
        help_text="An IANA time zone, e.g. Europe/Berlin (kept if left out).",
    )


def email_delivery_row(pref) -> dict:
    return {"cadence": pref.cadence, "digest_hour": pref.digest_hour, "time_zone": pref.time_zone}
