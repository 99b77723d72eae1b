"""Admin for users, teams, memberships and invitations.

Teams and memberships are written through accounts.services with the admin as the actor, so the rules of
the team page hold here too (admins add members and viewers, only owners make admins and owners, a team
keeps an owner; see accounts/permissions.py for what a superuser or another staff user may do). A refusal
is shown next to the field it names (aether/admin_services.py). A team cannot be deleted in admin: no service
deletes one (it would take its projects and tasks with it, around the services).
"""

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import ValidationError

from aether.admin_services import (
    ServiceAdminMixin,
    ServiceInlineMixin,
    delete_selected_through,
    refusal_as,
    save_formset_rows,
)

from . import services
from .models import CalendarFeed, Invitation, Membership, Team, User
from .permissions import admin_scope

MOVE_REFUSED = "A membership cannot be moved to another person or team: remove it and add a new one."


def save_memberships(request, formset, *, team=None, user=None) -> None:
    """Save a Membership inline of a team's (`team`) or a user's (`user`) page through the services."""

    def parties(form):
        return team or form.cleaned_data["team"], user or form.cleaned_data["user"]

    def change(form):
        if {"team", "user"} & set(form.changed_data):
            raise ValidationError({"team" if user else "user": [MOVE_REFUSED]})
        m = form.instance
        services.membership_set_role(actor=request.user, team=m.team, user=m.user, role=form.cleaned_data["role"])

    def add(form):
        t, u = parties(form)
        return services.membership_add(actor=request.user, team=t, user=u, role=form.cleaned_data["role"])

    def delete(form):
        m = Membership.objects.select_related("team", "user").get(pk=form.instance.pk)
        services.membership_remove(actor=request.user, team=m.team, user=m.user)

    row_label = (lambda m: str(m.user)) if team else (lambda m: str(m.team))
    save_formset_rows(formset, add=add, change=change, delete=delete, row_label=row_label)


class MembershipInline(ServiceInlineMixin, admin.TabularInline):
    """Rows are saved by the parent admin's save_related through membership_add / _set_role / _remove."""

    model = Membership
    extra = 0
    autocomplete_fields = ["user", "team"]
    readonly_fields = ["created_at"]


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "full_name")


class UserChangeFormEmail(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(ServiceAdminMixin, DjangoUserAdmin):
    form = UserChangeFormEmail
    add_form = UserCreationForm
    ordering = ["email"]
    list_display = ["email", "full_name", "is_active", "is_staff", "date_joined", "last_login"]
    list_filter = ["is_active", "is_staff", "is_superuser"]
    search_fields = ["email", "full_name"]
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("full_name",)}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "full_name", "password1", "password2")}),)
    inlines = [MembershipInline]

    def has_delete_permission(self, request, obj=None):
        # Deleting a person would drop their memberships around membership_remove (their tasks would stay
        # assigned to nobody without an Activity row); deactivate the account instead (is_active).
        return False

    def save_model(self, request, obj, form, change):
        """A new user is user_create (an address taken, even by a concurrent request, is an error on email).
        Editing a user's own fields has no service yet: admin saves them as Django does."""
        if change:
            obj.save()
            return
        data = form.cleaned_data
        with refusal_as():
            user = services.user_create(
                email=data["email"],
                password=data.get("password1") if data.get("set_usable_password", True) else None,
                full_name=data.get("full_name", ""),
            )
        for field in User._meta.concrete_fields:
            setattr(obj, field.attname, getattr(user, field.attname))
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        form.save_m2m()  # groups and permissions
        for formset in formsets:
            save_memberships(request, formset, user=form.instance)


class TeamForm(forms.ModelForm):
    """The team's fields, and on the add page its first owner (team_create needs one)."""

    class Meta:
        model = Team
        fields = ["name", "slug", "time_zone"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = False
        self.fields["slug"].help_text = "Left empty, it is made from the name."


class TeamAddForm(TeamForm):
    owner = forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True),
        widget=AutocompleteSelect(Membership._meta.get_field("user"), admin.site),
        help_text="The team's first owner.",
    )

    class Meta(TeamForm.Meta):
        fields = ["name", "slug", "time_zone", "owner"]


@admin.register(Team)
class TeamAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = ["name", "slug", "time_zone", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline]

    def get_queryset(self, request):
        return admin_scope(request.user, super().get_queryset(request), "pk")

    def get_form(self, request, obj=None, **kwargs):
        kwargs["form"] = TeamAddForm if obj is None else TeamForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return ["name", "slug", "time_zone", "owner"] if obj is None else ["name", "slug", "time_zone"]

    def has_delete_permission(self, request, obj=None):
        return False  # no service deletes a team (see the module docstring)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        with refusal_as():
            if change:
                team = services.team_update(
                    actor=request.user,
                    team=Team.objects.get(pk=obj.pk),
                    data={k: data[k] for k in form.changed_data if k in ("name", "slug", "time_zone")},
                )
            else:
                team = services.team_create(
                    owner=data["owner"], name=data["name"], time_zone=data["time_zone"], slug=data["slug"] or None
                )
        for field in Team._meta.concrete_fields:
            setattr(obj, field.attname, getattr(team, field.attname))
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        for formset in formsets:
            save_memberships(request, formset, team=form.instance)


@admin.register(Membership)
class MembershipAdmin(ServiceAdminMixin, admin.ModelAdmin):
    """Add is membership_add, a role change membership_set_role, delete membership_remove."""

    list_display = ["user", "team", "role", "created_at"]
    list_filter = ["role", "team"]
    search_fields = ["user__email", "user__full_name", "team__name"]
    autocomplete_fields = ["user", "team"]
    list_select_related = ["user", "team"]
    actions = ["delete_selected"]

    def get_queryset(self, request):
        return admin_scope(request.user, super().get_queryset(request), "team")

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["team", "user", "created_at"]

    def get_fields(self, request, obj=None):
        return ["team", "user", "role"] if obj is None else ["team", "user", "role", "created_at"]

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        with refusal_as():
            if change:
                m = Membership.objects.select_related("team", "user").get(pk=obj.pk)
                membership = services.membership_set_role(
                    actor=request.user, team=m.team, user=m.user, role=data["role"]
                )
            else:
                membership = services.membership_add(
                    actor=request.user, team=data["team"], user=data["user"], role=data["role"]
                )
        for field in Membership._meta.concrete_fields:
            setattr(obj, field.attname, getattr(membership, field.attname))
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        pass  # a membership has no inlines or many-to-many fields

    @staticmethod
    def _remove(request, membership):
        services.membership_remove(actor=request.user, team=membership.team, user=membership.user)

    def delete_model(self, request, obj):
        with refusal_as():
            self._remove(request, Membership.objects.select_related("team", "user").get(pk=obj.pk))

    delete_selected = delete_selected_through(
        lambda request, m: MembershipAdmin._remove(request, m), "Removed {n} membership(s)."
    )


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "team", "role", "invited_by", "created_at", "expires_at", "accepted_at"]
    list_filter = ["role", "team", ("accepted_at", admin.EmptyFieldListFilter)]
    search_fields = ["email", "team__name"]
    autocomplete_fields = ["team", "invited_by"]
    list_select_related = ["team", "invited_by"]
    readonly_fields = ["token", "created_at", "accepted_at"]


@admin.register(CalendarFeed)
class CalendarFeedAdmin(admin.ModelAdmin):
    """Who has a private calendar link, and since when. Read-only, and the token is not shown: the link is
    its owner's secret, and only its owner resets it (on their profile page)."""

    list_display = ["user", "created_at"]
    search_fields = ["user__email", "user__full_name"]
    list_select_related = ["user"]
    fields = ["user", "created_at"]
    readonly_fields = ["user", "created_at"]

    def get_queryset(self, request):
        return admin_scope(request.user, super().get_queryset(request), "user__memberships__team").distinct()

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
