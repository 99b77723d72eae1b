"""Admin for projects and tasks. Built to stay fast at a million tasks: foreign keys to users and tasks are
autocomplete or raw-id widgets, lists select their related rows, and the full count is not computed."""

from django.contrib import admin

from .models import Activity, Comment, DeadlineNotice, Label, Project, Stage, Task, Template, TemplateStage


class StageInline(admin.TabularInline):
    model = Stage
    extra = 0
    fields = ["order", "name", "estimated_hours", "actual_hours", "status", "started_at", "completed_at"]


class TemplateStageInline(admin.TabularInline):
    model = TemplateStage
    extra = 0


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "created_at"]
    list_filter = ["team"]
    search_fields = ["name", "team__name"]
    autocomplete_fields = ["team"]
    list_select_related = ["team"]


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "color"]
    list_filter = ["team"]
    search_fields = ["name"]
    autocomplete_fields = ["team"]


@admin.register(Template)
class TemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "created_by", "updated_at"]
    list_filter = ["team"]
    search_fields = ["name", "team__name"]
    autocomplete_fields = ["team", "created_by"]
    list_select_related = ["team", "created_by"]
    inlines = [TemplateStageInline]


@admin.register(TemplateStage)
class TemplateStageAdmin(admin.ModelAdmin):
    list_display = ["name", "template", "order", "estimated_hours"]
    list_filter = ["template__team"]
    search_fields = ["name", "template__name"]
    autocomplete_fields = ["template"]
    list_select_related = ["template"]


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["title", "project", "status", "priority", "assignee", "due_date", "created_at", "deleted_at"]
    list_filter = [
        "status",
        "priority",
        ("deleted_at", admin.EmptyFieldListFilter),
        ("archived_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["=id", "title"]
    autocomplete_fields = ["project", "assignee", "template"]
    raw_id_fields = ["created_by"]
    filter_horizontal = ["labels"]
    list_select_related = ["project", "assignee"]
    date_hierarchy = "created_at"
    readonly_fields = ["created_at", "updated_at", "started_at", "completed_at"]
    show_full_result_count = False
    list_per_page = 50
    inlines = [StageInline]


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin):
    list_display = ["name", "task", "order", "status", "estimated_hours", "actual_hours", "completed_at"]
    list_filter = ["status"]
    search_fields = ["=task__id", "name"]
    raw_id_fields = ["task"]
    list_select_related = ["task"]
    show_full_result_count = False


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ["task", "author", "created_at"]
    search_fields = ["=task__id", "body", "author__email"]
    raw_id_fields = ["task", "author"]
    list_select_related = ["task", "author"]
    show_full_result_count = False


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ["task", "actor", "verb", "field", "created_at"]
    list_filter = ["verb"]
    search_fields = ["=task__id", "actor__email"]
    raw_id_fields = ["task", "actor"]
    list_select_related = ["task", "actor"]
    show_full_result_count = False
    readonly_fields = ["task", "actor", "verb", "field", "old_value", "new_value", "created_at"]

    def has_add_permission(self, request):
        return False  # the audit trail is written by the services only

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(DeadlineNotice)
class DeadlineNoticeAdmin(admin.ModelAdmin):
    list_display = ["task", "kind", "due_date", "created_at"]
    list_filter = ["kind"]
    search_fields = ["=task__id"]
    raw_id_fields = ["task"]
    show_full_result_count = False
