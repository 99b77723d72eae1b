"""JSON shapes of the notifications API."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from .models import SWITCHABLE_KINDS, EmailCadence, Kind, Notification, validate_time_zone


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
            raise serializers.ValidationError("Give each kind at most once.", code="duplicate")
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
    time_zone = serializers.CharField(
        max_length=64, required=False, help_text="An IANA time zone, e.g. Europe/Berlin (kept if left out)."
    )

    def validate_time_zone(self, value: str) -> str:
        try:
            validate_time_zone(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages[0], code="invalid") from exc
        return value


def email_delivery_row(pref) -> dict:
    return {"cadence": pref.cadence, "digest_hour": pref.digest_hour, "time_zone": pref.time_zone}
