"""Admin for projects and tasks. Built to stay fast at a million tasks: foreign keys to users and tasks are
autocomplete or raw-id widgets, lists select their related rows, and the full count is not computed.

Tasks and stages are written through tasks.services, with the admin as the actor, so Activity rows,
notifications and the analytics figures follow as from the web UI (aether/admin_services.py explains how a
refusal is shown). Their lifecycle fields (status, start, completion, trash, archive, a stage's hours) are
read-only in the forms; admin actions, on the changelist and as buttons on one task's or stage's page,
change them through the lifecycle services. A hard delete of a task has no service (the trash replaces it).
What an admin may do in a team is decided by accounts/permissions.py; what a staff user sees is the data of
the teams they administer (aether/admin_site.py). Labels, templates and comments are written through their
services too; the activity trail, the deadline notices and the repeats' claims are read-only for everyone.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.response import TemplateResponse

from aether.admin_services import (
    ObjectActionsMixin,
    ReadOnlyAdminMixin,
    ServiceAdminMixin,
    ServiceInlineMixin,
    adopt,
    delete_selected_through,
    refusal_as,
    run_each,
    save_formset_rows,
)
from aether.admin_site import TeamScopedAdmin

from . import services
from .models import (
    Activity,
    Comment,
    DeadlineNotice,
    Label,
    Occurrence,
    Project,
    Recurrence,
    Stage,
    Status,
    Task,
    Template,
    TemplateStage,
)
from .services.project import validate_label_color

TASK_LIFECYCLE_FIELDS = ["status", "started_at", "completed_at", "deleted_at", "archived_at"]
STAGE_LIFECYCLE_FIELDS = ["status", "actual_hours", "started_at", "completed_at"]


class TemplateStageInline(ServiceInlineMixin, admin.TabularInline):
    """A template's stages, in order; TemplateAdmin.save_related hands them all to template_save."""

    model = TemplateStage
    extra = 0
    fields = ["order", "name", "estimated_hours"]
    readonly_fields = ["order"]


@admin.register(Project)
class ProjectAdmin(TeamScopedAdmin, ServiceAdminMixin, admin.ModelAdmin):
    team_path = "team"
    list_display = ["name", "team", "created_at"]
    list_filter = ["team"]
    search_fields = ["name", "team__name"]
    autocomplete_fields = ["team"]
    list_select_related = ["team"]
    actions = ["delete_selected"]

    def get_readonly_fields(self, request, obj=None):
        return ["team"] if obj is not None else []  # a project never moves to another team

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        with refusal_as():
            if change:
                services.project_update(
                    actor=request.user,
                    project=obj,
                    data={"name": data["name"], "description": data.get("description", "")},
                )
            else:
                created = services.project_create(
                    actor=request.user, team=data["team"], name=data["name"], description=data.get("description", "")
                )
                obj.pk, obj._state.adding = created.pk, False

    def save_related(self, request, form, formsets, change):
        pass  # a project has no inlines or many-to-many fields

    def get_deleted_objects(self, objs, request):
        # The confirmation page lists the project's (trashed) tasks; whether they may go is project_delete's
        # rule, not Django's per-model delete permission (tasks have none in admin: they go to the trash).
        deleted, counts, _perms_needed, protected = super().get_deleted_objects(objs, request)
        return deleted, counts, set(), protected

    def delete_model(self, request, obj):
        """Through project_delete: refused while the project has tasks outside the trash, so no live task is
        ever deleted around the task services (and the figures kept of them stay right)."""
        with refusal_as():
            services.project_delete(actor=request.user, project=obj)

    delete_selected = delete_selected_through(
        lambda request, project: services.project_delete(actor=request.user, project=project),
        "Deleted {n} project(s).",
    )


class LabelForm(forms.ModelForm):
    def clean_color(self):
        # The service's rule, by its field, before the schema's constraint would answer in its own words.
        color = self.cleaned_data["color"]
        try:
            validate_label_color(color)
        except ValidationError as exc:
            raise forms.ValidationError(exc.message_dict["color"]) from None
        return color


@admin.register(Label)
class LabelAdmin(TeamScopedAdmin, ServiceAdminMixin, admin.ModelAdmin):
    """label_create, label_update (the colour rule) and label_delete (each task that had it records it)."""

    form = LabelForm
    team_path = "team"
    list_display = ["name", "team", "color"]
    list_filter = ["team"]
    search_fields = ["name"]
    autocomplete_fields = ["team"]
    actions = ["delete_selected"]

    def get_readonly_fields(self, request, obj=None):
        return ["team"] if obj is not None else []  # a label never moves to another team

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        with refusal_as():
            if change:
                label = services.label_update(
                    actor=request.user,
                    label=Label.objects.get(pk=obj.pk),
                    data={k: data[k] for k in form.changed_data if k in ("name", "color")},
                )
            else:
                label = services.label_create(
                    actor=request.user, team=data["team"], name=data["name"], color=data["color"]
                )
        adopt(obj, label)

    def save_related(self, request, form, formsets, change):
        pass  # the tasks' labels are set on the tasks

    def get_deleted_objects(self, objs, request):
        # The confirmation lists the label's links to tasks; they go with it through label_delete.
        deleted, counts, _perms_needed, protected = super().get_deleted_objects(objs, request)
        return deleted, counts, set(), protected

    def delete_model(self, request, obj):
        with refusal_as():
            services.label_delete(actor=request.user, label=obj)

    delete_selected = delete_selected_through(
        lambda request, label: services.label_delete(actor=request.user, label=label), "Deleted {n} label(s)."
    )


@admin.register(Template)
class TemplateAdmin(TeamScopedAdmin, ServiceAdminMixin, admin.ModelAdmin):
    """A template and its stages are saved together by template_save (a template keeps at least one stage), in
    save_related, which sees the stage rows; deleting is template_delete."""

    team_path = "team"
    list_display = ["name", "team", "created_by", "updated_at"]
    list_filter = ["team"]
    search_fields = ["name", "team__name"]
    autocomplete_fields = ["team"]
    list_select_related = ["team", "created_by"]
    inlines = [TemplateStageInline]
    actions = ["delete_selected"]

    def get_fields(self, request, obj=None):
        return ["team", "name", "description"] if obj is None else ["team", "name", "description", "created_by"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["team", "created_by"]

    def save_model(self, request, obj, form, change):
        pass  # template_save in save_related, with the stage rows

    def save_related(self, request, form, formsets, change):
        stages = next(fs for fs in formsets if fs.model is TemplateStage)
        deleted = set(map(id, stages.deleted_forms))
        rows = [
            f
            for f in stages.forms
            if id(f) not in deleted and (f.instance.pk is not None or f.has_changed()) and f.cleaned_data
        ]
        data = form.cleaned_data
        template = Template.objects.get(pk=form.instance.pk) if change else None
        with refusal_as():
            saved = services.template_save(
                actor=request.user,
                team=template.team if template else data["team"],
                name=data["name"],
                description=data.get("description", ""),
                stages=[
                    {"name": f.cleaned_data["name"], "estimated_hours": f.cleaned_data["estimated_hours"]} for f in rows
                ],
                template=template,
            )
        adopt(form.instance, saved)
        stages.new_objects, stages.changed_objects, stages.deleted_objects = list(saved.stages.all()), [], []

    def delete_model(self, request, obj):
        with refusal_as():
            services.template_delete(actor=request.user, template=obj)

    delete_selected = delete_selected_through(
        lambda request, t: services.template_delete(actor=request.user, template=t), "Deleted {n} template(s)."
    )


@admin.register(TemplateStage)
class TemplateStageAdmin(ReadOnlyAdminMixin, TeamScopedAdmin, admin.ModelAdmin):
    """Read-only: a template's stages change with it, on its page (template_save)."""

    team_path = "template__team"
    list_display = ["name", "template", "order", "estimated_hours"]
    list_filter = ["template__team"]
    search_fields = ["name", "template__name"]
    list_select_related = ["template"]


class StageInline(ServiceInlineMixin, admin.TabularInline):
    """A task's stages. Name and estimate are edited through stage_update, a new row is stage_add, a ticked
    "Delete" is stage_delete (TaskAdmin.save_related); position, status and hours are read-only."""

    model = Stage
    extra = 0
    fields = ["order", "name", "estimated_hours", *STAGE_LIFECYCLE_FIELDS]
    readonly_fields = ["order", *STAGE_LIFECYCLE_FIELDS]
    show_change_link = True


@admin.register(Task)
class TaskAdmin(TeamScopedAdmin, ObjectActionsMixin, ServiceAdminMixin, admin.ModelAdmin):
    team_path = "project__team"
    list_display = ["title", "project", "status", "priority", "assignee", "due_date", "created_at", "deleted_at"]
    list_filter = [
        "status",
        "priority",
        ("deleted_at", admin.EmptyFieldListFilter),
        ("archived_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["=id", "title"]
    autocomplete_fields = ["project", "assignee", "template"]
    filter_horizontal = ["labels"]
    list_select_related = ["project", "assignee"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    list_per_page = 50
    inlines = [StageInline]
    actions = ["move_to_pending", "move_to_in_progress", "move_to_completed", "reopen", "move_to_trash", "restore"]

    add_fields = ["project", "template", "title", "description", "priority", "due_date", "assignee", "labels"]
    change_fields = ["project", *services.TASK_EDITABLE_FIELDS, *TASK_LIFECYCLE_FIELDS, "template", "created_by"]
    change_readonly_fields = [
        "project",
        *TASK_LIFECYCLE_FIELDS,
        "template",
        "created_by",
        "created_at",
        "updated_at",
    ]

    def get_fields(self, request, obj=None):
        return self.add_fields if obj is None else [*self.change_fields, "created_at", "updated_at"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.change_readonly_fields

    def has_delete_permission(self, request, obj=None):
        return False  # no service deletes a task for good: "Move to trash" and "Restore" instead

    # --- the forms ----------------------------------------------------------------------------------------

    def save_model(self, request, obj, form, change):
        """A change is task_update of the editable fields. A new task is made in save_related, which sees the
        stage rows: task_create takes them (or the template's) in one go."""
        if change:
            task = Task.objects.select_related("project").get(pk=obj.pk)
            data = {f: form.cleaned_data[f] for f in services.TASK_EDITABLE_FIELDS if f in form.cleaned_data}
            with refusal_as():
                services.task_update(actor=request.user, task=task, data=data)

    def save_related(self, request, form, formsets, change):
        stages = next((fs for fs in formsets if fs.model is Stage), None)  # None without stage permissions
        if not change:
            self._create(request, form, stages)
            return
        if stages is None:
            return
        task = Task.objects.select_related("project").get(pk=form.instance.pk)

        def fresh(stage_form):
            return Stage.objects.select_related("task__project").get(pk=stage_form.instance.pk)

        save_formset_rows(
            stages,
            add=lambda f: services.stage_add(
                actor=request.user,
                task=task,
                name=f.cleaned_data["name"],
                estimated_hours=f.cleaned_data["estimated_hours"],
            ),
            change=lambda f: services.stage_update(
                actor=request.user,
                stage=fresh(f),
                data={k: f.cleaned_data[k] for k in f.changed_data if k in ("name", "estimated_hours")},
            ),
            delete=lambda f: services.stage_delete(actor=request.user, stage=fresh(f)),
        )

    def _create(self, request, form, stages):
        rows = [] if stages is None else [f for f in stages.forms if f.has_changed() and f not in stages.deleted_forms]
        data = form.cleaned_data
        with refusal_as():
            task, _ = services.task_create(
                actor=request.user,
                project=data["project"],
                title=data["title"],
                description=data["description"],
                priority=data["priority"],
                assignee=data["assignee"],
                due_date=data["due_date"],
                labels=data["labels"],
                template=data["template"],
                stages=[
                    {"name": f.cleaned_data["name"], "estimated_hours": f.cleaned_data["estimated_hours"]} for f in rows
                ]
                or None,
            )
        adopt(form.instance, task)  # admin logs and redirects with the form's instance
        if stages is not None:
            stages.new_objects, stages.changed_objects, stages.deleted_objects = list(task.stages.all()), [], []

    # --- the actions -------------------------------------------------------------------------------------

    def object_actions(self, obj):
        if obj.deleted_at is not None:
            return ["restore"]
        moves = {
            Status.PENDING: ["move_to_in_progress", "move_to_completed"],
            Status.IN_PROGRESS: ["move_to_pending", "move_to_completed"],
            Status.COMPLETED: ["reopen"],
        }[obj.status]
        return [*moves, "move_to_trash"]

    def _each(self, request, queryset, call, done):
        run_each(request, queryset.select_related("project", "created_by", "assignee"), call, done)

    def _set_status(self, request, queryset, status):
        label = Status(status).label.lower()
        self._each(
            request,
            queryset,
            lambda task: services.task_set_status(actor=request.user, task=task, status=status),
            f"Moved {{n}} task(s) to {label}.",
        )

    @admin.action(permissions=["change"], description="Move to pending")
    def move_to_pending(self, request, queryset):
        self._set_status(request, queryset, Status.PENDING)

    @admin.action(permissions=["change"], description="Move to in progress")
    def move_to_in_progress(self, request, queryset):
        self._set_status(request, queryset, Status.IN_PROGRESS)

    @admin.action(permissions=["change"], description="Move to completed")
    def move_to_completed(self, request, queryset):
        self._set_status(request, queryset, Status.COMPLETED)

    @admin.action(permissions=["change"], description="Reopen")
    def reopen(self, request, queryset):
        self._each(
            request, queryset, lambda t: services.task_reopen(actor=request.user, task=t), "Reopened {n} task(s)."
        )

    @admin.action(permissions=["change"], description="Move to trash")
    def move_to_trash(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda t: services.task_delete(actor=request.user, task=t),
            "Moved {n} task(s) to the trash.",
        )

    @admin.action(permissions=["change"], description="Restore from trash")
    def restore(self, request, queryset):
        self._each(
            request, queryset, lambda t: services.task_restore(actor=request.user, task=t), "Restored {n} task(s)."
        )


class StageHoursForm(forms.Form):
    """The actual hours of each stage to complete that has none yet (the complete action's page)."""

    def __init__(self, stages, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.stages = stages
        for stage in stages:
            self.fields[self.field_name(stage)] = forms.DecimalField(
                label=f"{stage.task} — {stage}",
                min_value=0,
                max_digits=7,
                decimal_places=2,
                help_text=f"Estimated {stage.estimated_hours} h.",
            )

    @staticmethod
    def field_name(stage) -> str:
        return f"actual_hours_{stage.pk}"


@admin.register(Stage)
class StageAdmin(TeamScopedAdmin, ObjectActionsMixin, ServiceAdminMixin, admin.ModelAdmin):
    team_path = "task__project__team"
    list_display = ["name", "task", "order", "status", "estimated_hours", "actual_hours", "completed_at"]
    list_filter = ["status"]
    search_fields = ["=task__id", "name"]
    raw_id_fields = ["task"]
    list_select_related = ["task"]
    show_full_result_count = False
    actions = ["delete_selected", "start", "complete", "reopen"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["task", "name", "estimated_hours"]
        return ["task", "order", "name", "estimated_hours", *STAGE_LIFECYCLE_FIELDS]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["task", "order", *STAGE_LIFECYCLE_FIELDS]

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        with refusal_as():
            if change:
                stage = Stage.objects.select_related("task__project").get(pk=obj.pk)
                changed = {k: data[k] for k in form.changed_data if k in ("name", "estimated_hours")}
                services.stage_update(actor=request.user, stage=stage, data=changed)
            else:
                task = Task.objects.select_related("project").get(pk=data["task"].pk)
                stage = services.stage_add(
                    actor=request.user, task=task, name=data["name"], estimated_hours=data["estimated_hours"]
                )
                adopt(obj, stage)

    def save_related(self, request, form, formsets, change):
        pass  # a stage has no inlines or many-to-many fields

    def delete_model(self, request, obj):
        with refusal_as():
            services.stage_delete(actor=request.user, stage=self._fresh(obj))

    @staticmethod
    def _fresh(stage):
        return Stage.objects.select_related("task__project").get(pk=stage.pk)

    delete_selected = delete_selected_through(
        lambda request, stage: services.stage_delete(actor=request.user, stage=StageAdmin._fresh(stage)),
        "Deleted {n} stage(s).",
    )

    def object_actions(self, obj):
        return {
            Status.PENDING: ["start", "complete"],
            Status.IN_PROGRESS: ["complete"],
            Status.COMPLETED: ["reopen"],
        }[obj.status]

    def _each(self, request, queryset, call, done):
        run_each(request, queryset.select_related("task__project").order_by("task_id", "order"), call, done)

    @admin.action(permissions=["change"], description="Start")
    def start(self, request, queryset):
        self._each(
            request, queryset, lambda s: services.stage_start(actor=request.user, stage=s), "Started {n} stage(s)."
        )

    @admin.action(permissions=["change"], description="Complete")
    def complete(self, request, queryset):
        """Complete the stages. Those without actual hours need them: an intermediate page asks for them (as
        the delete confirmation does) and posts back here with `post`."""
        stages = list(queryset.select_related("task__project").order_by("task_id", "order"))
        needing = [s for s in stages if s.actual_hours is None and s.status != Status.COMPLETED]
        form = StageHoursForm(needing, request.POST if request.POST.get("post") else None)
        if needing and not form.is_valid():
            return TemplateResponse(
                request,
                "admin/tasks/stage/complete_confirmation.html",
                {
                    **self.admin_site.each_context(request),
                    "title": "Actual hours of the stages to complete",
                    "opts": self.opts,
                    "stages": stages,
                    "form": form,
                    "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                },
            )
        hours = form.cleaned_data if needing else {}
        run_each(
            request,
            stages,
            lambda s: services.stage_complete(
                actor=request.user, stage=s, actual_hours=hours.get(StageHoursForm.field_name(s))
            ),
            "Completed {n} stage(s).",
        )
        return None

    @admin.action(permissions=["change"], description="Reopen")
    def reopen(self, request, queryset):
        self._each(
            request, queryset, lambda s: services.stage_reopen(actor=request.user, stage=s), "Reopened {n} stage(s)."
        )


@admin.register(Comment)
class CommentAdmin(TeamScopedAdmin, ServiceAdminMixin, admin.ModelAdmin):
    """comment_create (mentions and the creator and assignee told), comment_update (its author only) and
    comment_delete, as on the task page."""

    team_path = "task__project__team"
    list_display = ["task", "author", "created_at"]
    search_fields = ["=task__id", "body", "author__email"]
    raw_id_fields = ["task"]
    list_select_related = ["task", "author"]
    show_full_result_count = False
    actions = ["delete_selected"]

    def get_fields(self, request, obj=None):
        return ["task", "body"] if obj is None else ["task", "author", "body", "created_at", "updated_at"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["task", "author", "created_at", "updated_at"]

    @staticmethod
    def _fresh(comment):
        return Comment.objects.select_related("task__project", "author").get(pk=comment.pk)

    def save_model(self, request, obj, form, change):
        body = form.cleaned_data["body"]
        with refusal_as():
            if change:
                comment = services.comment_update(actor=request.user, comment=self._fresh(obj), body=body)
            else:
                task = Task.objects.select_related("project", "created_by", "assignee").get(
                    pk=form.cleaned_data["task"].pk
                )
                comment = services.comment_create(actor=request.user, task=task, body=body)
        adopt(obj, comment)

    def save_related(self, request, form, formsets, change):
        pass  # a comment has no inlines or many-to-many fields

    def delete_model(self, request, obj):
        with refusal_as():
            services.comment_delete(actor=request.user, comment=self._fresh(obj))

    delete_selected = delete_selected_through(
        lambda request, c: services.comment_delete(actor=request.user, comment=CommentAdmin._fresh(c)),
        "Deleted {n} comment(s).",
    )


@admin.register(Activity)
class ActivityAdmin(ReadOnlyAdminMixin, TeamScopedAdmin, admin.ModelAdmin):
    """The audit trail of tasks: written by the services only, read-only for everyone (no one deletes it)."""

    team_path = "task__project__team"
    list_display = ["task", "actor", "verb", "field", "created_at"]
    list_filter = ["verb"]
    search_fields = ["=task__id", "actor__email"]
    list_select_related = ["task", "actor"]
    show_full_result_count = False


@admin.register(DeadlineNotice)
class DeadlineNoticeAdmin(ReadOnlyAdminMixin, TeamScopedAdmin, admin.ModelAdmin):
    """The deadline jobs' claims (one per task, kind and due date): read-only, for everyone; deleting one would
    notify its task again."""

    team_path = "task__project__team"
    list_display = ["task", "kind", "due_date", "created_at"]
    list_filter = ["kind"]
    search_fields = ["=task__id"]
    list_select_related = ["task"]
    show_full_result_count = False


@admin.register(Recurrence)
class RecurrenceAdmin(TeamScopedAdmin, admin.ModelAdmin):
    """Read only: rules are set on the task page or the API (tasks/services/recurrence.py); the action stops
    a rule through the same service."""

    team_path = "task__project__team"
    list_display = ["task", "rule", "starts_on", "next_on", "stopped_at", "updated_at"]
    list_filter = ["stopped_at"]
    search_fields = ["=task__id", "rule", "task__title"]
    raw_id_fields = ["task", "created_by"]
    list_select_related = ["task"]
    show_full_result_count = False
    readonly_fields = ["task", "rule", "starts_on", "next_on", "stopped_at", "created_by", "created_at", "updated_at"]
    actions = ["stop"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # its occurrences' claims go with it, and their dates could be made again

    @admin.action(permissions=["view"], description="Stop repeating (occurrences made stay)")
    def stop(self, request, queryset):
        stopped = 0
        for recurrence in queryset.select_related("task__project"):
            try:
                stopped += services.recurrence_stop(actor=request.user, task=recurrence.task) is not None
            except (PermissionDenied, ValidationError) as exc:
                self.message_user(request, f"{recurrence.task}: {exc}", messages.ERROR)
        self.message_user(request, f"Stopped {stopped} rule(s).")


@admin.register(Occurrence)
class OccurrenceAdmin(ReadOnlyAdminMixin, TeamScopedAdmin, admin.ModelAdmin):
    team_path = "recurrence__task__project__team"
    list_display = ["recurrence", "on_date", "task", "rule", "created_at"]
    search_fields = ["=recurrence__task__id", "=task__id"]
    raw_id_fields = ["recurrence", "task"]
    show_full_result_count = False
    readonly_fields = ["recurrence", "on_date", "task", "rule", "created_at"]  # claims: the recurrence job's only
