"""Admin for the outbox, in-app notifications and preferences: none of it is team data (a person's emails,
notifications and choices), so all of it is the operator's (aether/admin_site.py `SuperuserOnlyAdmin`)."""

from django.contrib import admin, messages
from django.template.defaultfilters import truncatechars

from aether.admin_services import ReadOnlyAdminMixin
from aether.admin_site import SuperuserOnlyAdmin

from . import selectors, services
from .models import EmailPreference, Notification, NotificationPreference, OutboxEmail


@admin.register(OutboxEmail)
class OutboxEmailAdmin(SuperuserOnlyAdmin, admin.ModelAdmin):
    """The outbox: what was sent, what waits, what failed and why. Rows are written by the services and
    changed by the delivery worker; here an admin only reads them, sends rows again or gives up on them."""

    list_display = [
        "recipient",
        "kind",
        "status",
        "attempts",
        "next_attempt_at",
        "created_at",
        "sent_at",
        "provider_event",
        "short_error",
    ]
    list_filter = ["status", "kind", "provider_event"]
    search_fields = ["recipient", "=provider_message_id", "=dedupe_key"]
    raw_id_fields = ["user", "task", "merged_into"]
    readonly_fields = [f.name for f in OutboxEmail._meta.fields]
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ["send_again", "mark_dead"]

    @admin.display(description="last error")
    def short_error(self, obj):
        return truncatechars(obj.last_error, 80)

    def has_add_permission(self, request):
        return False  # rows come from events, never by hand

    def changelist_view(self, request, extra_context=None):
        counts = selectors.outbox_counts()
        held = f", {counts['held']} held for batches and digests" if counts["held"] else ""
        title = f"Outbox: {counts['waiting']} waiting to be sent{held}, {counts['dead']} dead"
        return super().changelist_view(request, extra_context={"title": title, **(extra_context or {})})

    @admin.action(description="Send again", permissions=["change"])
    def send_again(self, request, queryset):
        queued = services.outbox_send_again(actor=request.user, ids=queryset.values_list("pk", flat=True))
        skipped = queryset.count() - queued
        self.message_user(request, f"{queued} email(s) queued to be sent again.", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"{skipped} being sent right now were left alone.", messages.WARNING)

    @admin.action(description="Mark dead (stop trying)", permissions=["change"])
    def mark_dead(self, request, queryset):
        marked = services.outbox_mark_dead(actor=request.user, ids=queryset.values_list("pk", flat=True))
        skipped = queryset.count() - marked
        self.message_user(request, f"{marked} email(s) marked dead.", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"{skipped} already sent, dead or being sent were left alone.", messages.WARNING)


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, SuperuserOnlyAdmin, admin.ModelAdmin):
    list_display = ["user", "kind", "message", "created_at", "read_at"]
    list_filter = ["kind"]
    search_fields = ["user__email", "message"]
    raw_id_fields = ["user", "task", "actor"]
    list_select_related = ["user"]
    show_full_result_count = False


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(ReadOnlyAdminMixin, SuperuserOnlyAdmin, admin.ModelAdmin):
    list_display = ["user", "kind", "email", "in_app"]
    list_filter = ["kind", "email", "in_app"]
    search_fields = ["user__email"]
    raw_id_fields = ["user"]
    list_select_related = ["user"]


@admin.register(EmailPreference)
class EmailPreferenceAdmin(ReadOnlyAdminMixin, SuperuserOnlyAdmin, admin.ModelAdmin):
    """How each person's emails reach them (no row: as they happen). Changed by the person, on their
    preferences page or through the API, so that emails already held follow the change."""

    list_display = ["user", "cadence", "digest_hour", "time_zone"]
    list_filter = ["cadence", "digest_hour"]
    search_fields = ["user__email", "time_zone"]
    raw_id_fields = ["user"]
    list_select_related = ["user"]
