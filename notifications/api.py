"""The notifications API: the user's own notifications (another user's id is a 404, never a 403) and their
preferences. Reads go through notifications/selectors.py, writes through notifications/services.py."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, generics
from rest_framework.response import Response

from aether import generations
from aether.api_schema import id_path_parameter
from aether.conditional import ConditionalGetMixin
from aether.pagination import ID, Key, KeysetOrdering, KeysetPagination

from . import selectors, services
from .models import EmailPreference, Notification, NotificationPreference
from .serializers import (
    EmailDeliverySerializer,
    NotificationSerializer,
    PreferenceListSerializer,
    PreferenceSerializer,
    ReadAllSerializer,
    email_delivery_row,
    preference_rows,
)


class _Inbox(ConditionalGetMixin):
    """ETags from the person's inbox generation: their notifications and notification settings."""

    def etag_scopes(self, request) -> list[str]:
        return [generations.inbox(request.user.pk)]


@extend_schema(
    tags=["notifications"],
    summary="Your notifications, newest first",
    parameters=[OpenApiParameter("unread", bool, description="Only unread ones (true) or only read ones (false).")],
)
class NotificationListView(_Inbox, generics.ListAPIView):
    serializer_class = NotificationSerializer
    pagination_class = KeysetPagination
    keyset = KeysetOrdering("-created_at", (Key("created_at", "datetime"), ID), descending=True)
    filter_backends = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        qs = selectors.notifications_for(self.request.user)
        unread = self.request.query_params.get("unread")
        if unread is None or unread == "":
            return qs
        if unread.lower() not in ("true", "1", "false", "0"):
            raise exceptions.ValidationError({"unread": ["Give true or false."]})
        return qs.filter(read_at__isnull=unread.lower() in ("true", "1"))


@extend_schema(
    tags=["notifications"],
    summary="Mark one of your notifications read",
    parameters=[id_path_parameter("A notification id.")],
    request=None,
    responses={200: NotificationSerializer},
)
class NotificationReadView(generics.GenericAPIView):
    serializer_class = NotificationSerializer

    def post(self, request, id: int):
        notification = get_object_or_404(selectors.notifications_for(request.user), pk=id)
        services.notification_mark_read(actor=request.user, notification=notification)
        return Response(NotificationSerializer(notification).data)


@extend_schema(
    tags=["notifications"], summary="Mark all your notifications read", request=None, responses={200: ReadAllSerializer}
)
class NotificationReadAllView(generics.GenericAPIView):
    serializer_class = ReadAllSerializer

    def post(self, request):
        return Response({"marked": services.notifications_mark_all_read(actor=request.user)})


@extend_schema(tags=["notifications"])
@extend_schema_view(
    get=extend_schema(
        summary="Your notification preferences: per kind, email and in-app on or off",
        responses={200: PreferenceSerializer(many=True)},
    ),
    put=extend_schema(
        summary="Replace your notification preferences",
        description="A list of {kind, email, in_app}; a switchable kind left out goes back to the default "
        "(both on). Invitations and password resets are not switchable: always emailed.",
        request=PreferenceSerializer(many=True),
        responses={200: PreferenceSerializer(many=True)},
    ),
)
class PreferencesView(_Inbox, generics.GenericAPIView):
    serializer_class = PreferenceSerializer
    refusals = {"PUT": ("422",)}  # a kind given twice
    queryset = NotificationPreference.objects.none()  # tells the schema generator the model; rows come below
    pagination_class = None  # a fixed, short list: one entry per switchable kind

    def get(self, request):
        return Response(preference_rows(selectors.preferences_for(request.user)))

    def put(self, request):
        serializer = PreferenceListSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        given = {item["kind"]: (item["email"], item["in_app"]) for item in serializer.validated_data}
        choices = {p.kind: given.get(p.kind, (True, True)) for p in selectors.preferences_for(request.user)}
        services.preferences_update(actor=request.user, choices=choices)
        return Response(preference_rows(selectors.preferences_for(request.user)))


@extend_schema(tags=["notifications"])
@extend_schema_view(
    get=extend_schema(
        summary="How your emails reach you: as they happen, a daily digest, or off",
        responses={200: EmailDeliverySerializer},
    ),
    put=extend_schema(
        summary="Choose how your emails reach you",
        description="cadence is required; digest_hour (0-23) and time_zone (IANA) keep their current values when "
        "left out. Emails already held for your digest follow the change. Invitations and password resets always "
        "come at once; in-app notifications never wait.",
        request=EmailDeliverySerializer,
        responses={200: EmailDeliverySerializer},
    ),
)
class EmailDeliveryView(_Inbox, generics.GenericAPIView):
    serializer_class = EmailDeliverySerializer
    queryset = EmailPreference.objects.none()  # tells the schema generator the model; the row comes below
    pagination_class = None

    def get(self, request):
        return Response(email_delivery_row(selectors.email_preference_for(request.user)))

    def put(self, request):
        serializer = EmailDeliverySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        current = selectors.email_preference_for(request.user)
        data = serializer.validated_data
        pref = services.email_preference_update(
            actor=request.user,
            cadence=data["cadence"],
            digest_hour=data.get("digest_hour", current.digest_hour),
            time_zone=data.get("time_zone", current.time_zone),
        )
        return Response(email_delivery_row(pref))
