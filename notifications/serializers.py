"""JSON shapes of the notifications API."""

from rest_framework import serializers

from .models import SWITCHABLE_KINDS, Kind, Notification


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
