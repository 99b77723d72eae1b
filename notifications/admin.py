from django.contrib import admin

from .models import DeadlineNotice, Notification, NotificationPreference, OutboxEmail


@admin.register(OutboxEmail)
class OutboxEmailAdmin(admin.ModelAdmin):
    list_display = ["recipient", "kind", "status", "attempts", "next_attempt_at", "created_at", "sent_at"]
    list_filter = ["status", "kind"]
    search_fields = ["recipient", "dedupe_key", "provider_message_id"]
    raw_id_fields = ["user", "task"]
    show_full_result_count = False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["user", "kind", "message", "created_at", "read_at"]
    list_filter = ["kind"]
    search_fields = ["user__email", "message"]
    raw_id_fields = ["user", "task", "actor"]
    list_select_related = ["user"]
    show_full_result_count = False


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "kind", "email", "in_app"]
    list_filter = ["kind", "email", "in_app"]
    search_fields = ["user__email"]
    raw_id_fields = ["user"]


@admin.register(DeadlineNotice)
class DeadlineNoticeAdmin(admin.ModelAdmin):
    list_display = ["task", "kind", "due_date", "created_at"]
    list_filter = ["kind"]
    search_fields = ["=task__id"]
    raw_id_fields = ["task"]
    show_full_result_count = False
