"""Admin for users, teams, memberships, invitations, the account audit trail, calendar links and second factors.

Team data is scoped (aether/admin_site.py): a staff user sees the teams they are an admin or owner of, their
memberships and invitations, the people in them, and their audit trail; the operator (an active superuser)
sees everything. Every write goes through accounts.services with the admin as the actor, so the rules of the
team page hold here too (accounts/permissions.py), and each refusal is shown next to the field it names
(aether/admin_services.py). What is an account's own (address, name, staff flags, activation, password) is
the operator's; a password is never typed here: an action emails the person a reset link. A team cannot be
deleted in admin: no service deletes one (it would take its projects and tasks with it, around the services).
"""

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import PermissionDenied, ValidationError
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from aether.admin_services import (
    ReadOnlyAdminMixin,
    ServiceAdminMixin,
    ServiceInlineMixin,
    adopt,
    delete_selected_through,
    refusal_as,
    run_each,
    save_formset_rows,
)
from aether.admin_site import SuperuserOnlyAdmin, TeamScopedAdmin, TeamScopedInline

from . import services
from .models import AccountEvent, CalendarFeed, Invitation, Membership, Team, User
from .permissions import is_operator, members_of_admin_teams

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


class MembershipInline(TeamScopedInline, ServiceInlineMixin, admin.TabularInline):
    """Rows are saved by the parent admin's save_related through membership_add / _set_role / _remove; on a
    person's page, only their memberships of the teams the staff user administers are listed."""

    model = Membership
    team_path = "team"
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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "password" in self.fields:
            self.fields["password"].help_text = (
                "Passwords are changed by their owner, on the profile page, or by the reset link that the "
                "action “Email a password reset link” sends."
            )


OPERATOR_FIELDS = ("email", "full_name", "is_staff", "is_superuser")


@admin.register(User)
class UserAdmin(TeamScopedAdmin, ServiceAdminMixin, DjangoUserAdmin):
    """People. A staff user sees the members of the teams they administer and changes only their memberships
    (the inline); an account's own fields are the operator's, through user_update, user_deactivate and
    user_reactivate (unticking "active" is a deactivation: what leaving every team does, and its tokens
    revoked)."""

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
    actions = ["deactivate", "reactivate", "email_password_reset", "second_factor_reset"]

    def scope_queryset(self, request, queryset):
        return members_of_admin_teams(request.user, queryset)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        if not is_operator(request.user):
            return [field for _, options in self.fieldsets for field in options["fields"]]
        return ["last_login", "date_joined"]

    def has_add_permission(self, request):
        return is_operator(request.user) and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        # Deleting a person would drop their memberships around membership_remove (their tasks would stay
        # assigned to nobody without an Activity row); deactivate the account instead (is_active).
        return False

    def user_change_password(self, request, id, form_url=""):
        raise PermissionDenied("Passwords are not set in admin: email the person a reset link.")

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not is_operator(request.user):  # an account's own state is the operator's
            for name in self.actions:
                actions.pop(name, None)
        return actions

    def save_model(self, request, obj, form, change):
        """A new user is user_create (an address taken, even by a concurrent request, is an error on email);
        a change of the account's own fields is user_update, of "active" a deactivation or reactivation."""
        data = form.cleaned_data
        with refusal_as():
            if not change:
                user = services.user_create(
                    email=data["email"],
                    password=data.get("password1") if data.get("set_usable_password", True) else None,
                    full_name=data.get("full_name", ""),
                )
            elif not is_operator(request.user):
                return  # every field of the form is read-only for them: only the inline rows change
            else:
                user = User.objects.get(pk=obj.pk)
                changed = {f: data[f] for f in OPERATOR_FIELDS if f in form.changed_data}
                if changed:
                    user = services.user_update(actor=request.user, user=user, data=changed)
                if "is_active" in form.changed_data:
                    toggle = services.user_reactivate if data["is_active"] else services.user_deactivate
                    user = toggle(actor=request.user, user=user)
        adopt(obj, user)

    def save_related(self, request, form, formsets, change):
        if is_operator(request.user):
            form.save_m2m()  # groups and permissions: the operator's
        for formset in formsets:
            save_memberships(request, formset, user=form.instance)

    @admin.action(description="Deactivate (what leaving every team does; sign-ins revoked)")
    def deactivate(self, request, queryset):
        run_each(
            request,
            queryset,
            lambda u: services.user_deactivate(actor=request.user, user=u),
            "Deactivated {n} account(s).",
        )

    @admin.action(description="Reactivate")
    def reactivate(self, request, queryset):
        run_each(
            request,
            queryset,
            lambda u: services.user_reactivate(actor=request.user, user=u),
            "Reactivated {n} account(s).",
        )

    @admin.action(description="Email a password reset link")
    def email_password_reset(self, request, queryset):
        from .signin import client_address

        run_each(
            request,
            queryset,
            lambda u: services.password_reset_request(email=u.email, address=client_address(request)),
            "Asked for a reset email to {n} account(s) (within the reset limits; active accounts only).",
        )

    @admin.action(description="Remove the second factor (a lost phone and recovery codes)")
    def second_factor_reset(self, request, queryset):
        run_each(
            request,
            queryset,
            lambda u: services.second_factor_reset(actor=request.user, user=u),
            "Removed the second factor of {n} account(s).",
        )


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
class TeamAdmin(TeamScopedAdmin, ServiceAdminMixin, admin.ModelAdmin):
    team_path = "pk"
    list_display = ["name", "slug", "time_zone", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline]

    def get_form(self, request, obj=None, **kwargs):
        kwargs["form"] = TeamAddForm if obj is None else TeamForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return ["name", "slug", "time_zone", "owner"] if obj is None else ["name", "slug", "time_zone"]

    def has_add_permission(self, request):
        # A new team may be given to anyone as its owner: the operator's (people create theirs on the site).
        return is_operator(request.user) and super().has_add_permission(request)

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
        adopt(obj, team)

    def save_related(self, request, form, formsets, change):
        for formset in formsets:
            save_memberships(request, formset, team=form.instance)


@admin.register(Membership)
class MembershipAdmin(TeamScopedAdmin, ServiceAdminMixin, admin.ModelAdmin):
    """Add is membership_add, a role change membership_set_role, delete membership_remove."""

    team_path = "team"
    list_display = ["user", "team", "role", "created_at"]
    list_filter = ["role", "team"]
    search_fields = ["user__email", "user__full_name", "team__name"]
    autocomplete_fields = ["user", "team"]
    list_select_related = ["user", "team"]
    actions = ["delete_selected"]

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
        adopt(obj, membership)

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
class InvitationAdmin(TeamScopedAdmin, ServiceAdminMixin, admin.ModelAdmin):
    """Sending is invitation_create (the same rules and email as the team page), deleting is invitation_revoke.
    An invitation is not edited: invite the address again to resend it with another role. Its link is never
    shown: it is made when the email is sent and kept nowhere (accounts/links.py)."""

    team_path = "team"
    list_display = ["email", "team", "role", "invited_by", "created_at", "expires_at", "accepted_at"]
    list_filter = ["role", "team", ("accepted_at", admin.EmptyFieldListFilter)]
    search_fields = ["email", "team__name"]
    autocomplete_fields = ["team"]
    list_select_related = ["team", "invited_by"]
    actions = ["delete_selected"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["team", "email", "role"]
        return ["team", "email", "role", "invited_by", "created_at", "expires_at", "accepted_at"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.get_fields(request, obj)

    def save_model(self, request, obj, form, change):
        if change:
            return  # nothing on the change page is editable
        data = form.cleaned_data
        with refusal_as():
            invitation = services.invitation_create(
                actor=request.user, team=data["team"], email=data["email"], role=data["role"]
            )
        adopt(obj, invitation)

    def save_related(self, request, form, formsets, change):
        pass  # no inlines or many-to-many fields

    @staticmethod
    def _revoke(request, invitation):
        services.invitation_revoke(actor=request.user, invitation=invitation)

    def delete_model(self, request, obj):
        with refusal_as():
            self._revoke(request, obj)

    delete_selected = delete_selected_through(
        lambda request, i: InvitationAdmin._revoke(request, i), "Withdrew {n} invitation(s)."
    )


@admin.register(AccountEvent)
class AccountEventAdmin(ReadOnlyAdminMixin, TeamScopedAdmin, admin.ModelAdmin):
    """The account audit trail, read-only for everyone (its rows are written by the services only). A staff
    user sees the events of the teams they administer; events of an account itself (no team) are the
    operator's here, and are on the team page of the person's teams."""

    team_path = "team"
    list_display = ["created_at", "kind", "team", "actor", "subject", "email", "address"]
    list_filter = ["kind", "team", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["email", "actor__email", "subject__email", "address"]
    list_select_related = ["team", "actor", "subject"]
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(CalendarFeed)
class CalendarFeedAdmin(ReadOnlyAdminMixin, SuperuserOnlyAdmin, admin.ModelAdmin):
    """Who has a private calendar link, and since when (a person's own, so the operator's). The token is not
    shown: the link is its owner's secret, and only its owner resets it (on their profile page)."""

    list_display = ["user", "created_at"]
    search_fields = ["user__email", "user__full_name"]
    list_select_related = ["user"]
    fields = ["user", "created_at"]


# django-otp's own admins show a device's key and its recovery codes, which are its owner's secrets: these
# list who has a second factor instead. Removing one for a person is the action on their account.
for _model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


@admin.register(TOTPDevice)
class AuthenticatorAdmin(ReadOnlyAdminMixin, SuperuserOnlyAdmin, admin.ModelAdmin):
    list_display = ["user", "name", "confirmed", "created_at", "last_used_at"]
    list_filter = ["confirmed"]
    search_fields = ["user__email"]
    list_select_related = ["user"]
    fields = ["user", "name", "confirmed", "created_at", "last_used_at"]


@admin.register(StaticDevice)
class RecoveryCodesAdmin(ReadOnlyAdminMixin, SuperuserOnlyAdmin, admin.ModelAdmin):
    list_display = ["user", "name", "created_at", "last_used_at"]
    search_fields = ["user__email"]
    list_select_related = ["user"]
    fields = ["user", "name", "created_at", "last_used_at"]
