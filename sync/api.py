"""GET /api/v1/sync/: delta sync for an offline client. Thin: sync/selectors.py finds what changed, the tasks',
comments' and notifications' own serializers write it."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from aether.api import ErrorSerializer
from notifications.serializers import NotificationSerializer
from tasks.serializers import CommentSerializer, TaskSerializer

from .cursors import BadCursor, cursor_loads
from .selectors import (
    MAX_PAGE_SIZE,
    PAGE_SIZE,
    Gone,
    changes_page,
    comments_as_they_are,
    notifications_as_they_are,
    tasks_as_they_are,
)

KEEP_DAYS_TEXT = "AETHER_SYNC_KEEP_DAYS (30 by default)"


class CursorExpired(exceptions.APIException):
    status_code = 410
    default_code = "cursor_expired"
    default_detail = (
        f"This cursor is older than the changes kept ({KEEP_DAYS_TEXT}): drop what you hold and start over "
        "without a cursor."
    )


class SyncDeletedSerializer(serializers.Serializer):
    tasks = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Tasks trashed, deleted or no longer visible to you: drop them with their stages and comments.",
    )
    comments = serializers.ListField(child=serializers.IntegerField(), help_text="Comments deleted or hidden.")
    notifications = serializers.ListField(child=serializers.IntegerField(), help_text="Notifications deleted.")


class SyncPageSerializer(serializers.Serializer):
    tasks = TaskSerializer(many=True, help_text="Tasks to store as they are now (with their stages).")
    comments = CommentSerializer(many=True, help_text="Comments to store as they are now.")
    notifications = NotificationSerializer(many=True, help_text="Notifications to store as they are now.")
    deleted = SyncDeletedSerializer(help_text="Tombstones: what to drop.")
    cursor = serializers.CharField(help_text="Send it back as `cursor` for what changed after this page.")
    more = serializers.BooleanField(help_text="More changes are waiting now: ask again at once.")


class SyncView(APIView):
    @extend_schema(
        tags=["sync"],
        summary="What changed since your cursor: tasks (with stages), comments, notifications, and tombstones",
        description="Without `cursor`, the first page of everything you may see (tasks not in the trash, their "
        "comments, your notifications), over as many pages as it takes; then only what changed. Apply each page "
        "whole, then call again with its `cursor` (at once while `more` is true, later to poll). An object "
        "appears at most once in a page, in its present state, or in `deleted`. Joining or leaving a team sends "
        "its tasks (or their tombstones). Nothing is missed or repeated when changes are written while you read "
        f"(docs/api.md). A cursor older than what is kept ({KEEP_DAYS_TEXT}) answers 410: start over.",
        parameters=[
            OpenApiParameter(
                "cursor",
                {"type": "string", "minLength": 1, "maxLength": 2000},
                description="The `cursor` of the previous page. A cursor that is not one this site gave you is a 400.",
            ),
            OpenApiParameter(
                "page_size",
                {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
                description=f"Changes a page holds at most (default {PAGE_SIZE}).",
            ),
        ],
        responses={
            200: SyncPageSerializer,
            410: OpenApiResponse(ErrorSerializer, description="The cursor is older than the changes kept."),
        },
    )
    def get(self, request):
        user = request.user
        cursor = None
        text = request.query_params.get("cursor")
        if text is not None:
            try:
                cursor = cursor_loads(text, user_id=user.pk)
            except BadCursor as exc:
                raise exceptions.ValidationError({"cursor": [str(exc)]}) from None
        size = _page_size(request.query_params.get("page_size"))
        try:
            page = changes_page(user, cursor, size=size)
        except Gone:
            raise CursorExpired from None
        ids = page.ids
        context = {"request": request}
        tasks = tasks_as_they_are(user, ids["tasks"])
        comments = comments_as_they_are(user, ids["comments"])
        notifications = notifications_as_they_are(user, ids["notifications"])
        present = {
            "tasks": {t.pk for t in tasks},
            "comments": {c.pk for c in comments},
            "notifications": {n.pk for n in notifications},
        }
        return Response(
            {
                "tasks": TaskSerializer(tasks, many=True, context=context).data,
                "comments": CommentSerializer(comments, many=True).data,
                "notifications": NotificationSerializer(notifications, many=True).data,
                "deleted": {kind: [pk for pk in ids[kind] if pk not in present[kind]] for kind in present},
                "cursor": page.cursor.dumps(),
                "more": page.more,
            }
        )


def _page_size(raw: str | None) -> int:
    if raw in (None, ""):
        return PAGE_SIZE
    try:
        size = int(raw)
    except ValueError:
        size = 0
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise exceptions.ValidationError({"page_size": [f"Give a whole number from 1 to {MAX_PAGE_SIZE}."]})
    return size
