"""Django admin's doors, by construction.

Every ModelAdmin is one of two kinds, and the site makes sure of it:

- `TeamScopedAdmin` (and `TeamScopedInline`) for team data: the list, the change, history and delete pages,
  search, actions (they run on the list's queryset), list filters, foreign-key and many-to-many choices (select,
  autocomplete and raw-id widgets alike) are limited to the teams the staff user administers
  (accounts/permissions.py `admin_scope`: admin or owner there; everything for the operator, an active
  superuser). An object outside them is answered as one that does not exist.
- `SuperuserOnlyAdmin` for what is not team data (outbox emails, other people's notifications and preferences,
  groups and permissions, schedules, tokens): the operator only; other staff get a 403 and do not see it
  listed.

`AetherAdminSite.register` wraps any other ModelAdmin (a third-party app's, or one of ours that forgot to
choose) as superuser-only, so a forgotten door is closed, not open; aether/tests/test_admin_doors.py walks
`admin.site._registry` and fails naming a project ModelAdmin that did not choose, and proves the scope with
a staff user of another team.

The site itself needs an active staff user whose sign-in passed the second factor when the setting asks for
one (accounts/second_factor.py), and its sign-in page is the site's (one sign-in, one policy).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.exceptions import NotRegistered
from django.contrib.admin.utils import get_fields_from_path
from django.contrib.admin.widgets import ForeignKeyRawIdWidget, ManyToManyRawIdWidget
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.permissions import admin_scope, is_operator


class SuperuserOnlyAdmin:
    """A ModelAdmin mixin: the operator (an active superuser) only."""

    def has_module_permission(self, request):
        return is_operator(request.user) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return is_operator(request.user) and super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args):
        return is_operator(request.user) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return is_operator(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return is_operator(request.user) and super().has_delete_permission(request, obj)


class _ScopedRawIdWidget(ForeignKeyRawIdWidget):
    """The raw-id widget names the object an id stands for (next to the field, also when a form comes back with
    an error); here only an object of the field's choices is named, so posting another team's id tells nothing."""

    def __init__(self, rel, admin_site, *, queryset, **kwargs):
        super().__init__(rel, admin_site, **kwargs)
        self.queryset = queryset

    def label_and_url_for_value(self, value):
        key = self.rel.get_related_field().name
        try:
            if not self.queryset.filter(**{key: value}).exists():
                return "", ""
        except (ValueError, TypeError):
            return "", ""
        return super().label_and_url_for_value(value)


class _ScopedRelatedFilter(admin.RelatedFieldListFilter):
    """A list filter by a related object whose choices are what the related model's admin shows this user (its
    scope), not every row of the related table."""

    def field_choices(self, field, request, model_admin):
        related_admin = model_admin.admin_site._registry.get(field.remote_field.model)
        if related_admin is None:
            return super().field_choices(field, request, model_admin)
        if not related_admin.has_view_permission(request):
            return []
        return [(obj.pk, str(obj)) for obj in related_admin.get_queryset(request)[:500]]


class _ScopedChoices:
    """Foreign-key and many-to-many choices of a scoped admin or inline: the rows the related model's admin
    shows this user; none of a superuser-only model for other staff."""

    def get_field_queryset(self, db, db_field, request):
        related = db_field.remote_field.model
        try:
            related_admin = self.admin_site.get_model_admin(related)
        except NotRegistered:
            return super().get_field_queryset(db, db_field, request)
        if isinstance(related_admin, TeamScopedAdmin):
            return related_admin.get_queryset(request).using(db)
        if not is_operator(request.user):
            return related._default_manager.none()
        return super().get_field_queryset(db, db_field, request)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        widget = getattr(formfield, "widget", None)
        if isinstance(widget, ForeignKeyRawIdWidget) and not isinstance(widget, ManyToManyRawIdWidget):
            formfield.widget = _ScopedRawIdWidget(
                widget.rel, widget.admin_site, queryset=formfield.queryset, attrs=widget.attrs, using=widget.db
            )
        return formfield


class TeamScopedAdmin(_ScopedChoices):
    """A ModelAdmin mixin for team data: everything is limited to the teams the staff user administers.

    Set `team_path`, the lookup from the model to its team ("project__team"; "pk" for Team itself), or override
    `scope_queryset` where the rows reach their teams otherwise (users: through their memberships)."""

    team_path: str | None = None

    def scope_queryset(self, request, queryset):
        if self.team_path is None:
            raise NotImplementedError(f"{type(self).__name__} names no team_path and does not scope its rows")
        return admin_scope(request.user, queryset, self.team_path)

    def get_queryset(self, request):
        return self.scope_queryset(request, super().get_queryset(request))

    def _in_scope(self, request, obj) -> bool:
        """Whether `obj` is among the rows this user may see here (one query per object and request)."""
        if obj is None or is_operator(request.user):
            return True
        seen = request.__dict__.setdefault("_aether_admin_scope", {})
        key = (obj._meta.label, obj.pk)
        if key not in seen:
            seen[key] = obj.pk is not None and self.get_queryset(request).filter(pk=obj.pk).exists()
        return seen[key]

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and self._in_scope(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._in_scope(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._in_scope(request, obj)

    def get_list_filter(self, request):
        """Filters by a related object list only that object's admin's rows for this user."""
        filters = []
        for entry in super().get_list_filter(request):
            if isinstance(entry, str):
                field = get_fields_from_path(self.model, entry)[-1]
                if field.is_relation and field.remote_field is not None:
                    entry = (entry, _ScopedRelatedFilter)
            filters.append(entry)
        return filters


class TeamScopedInline(_ScopedChoices):
    """An InlineModelAdmin mixin: the parent's page shows only the rows of the teams the user administers (a
    person's memberships in other teams are not listed on their page)."""

    team_path: str | None = None

    def get_queryset(self, request):
        return admin_scope(request.user, super().get_queryset(request), self.team_path)


class AetherAdminSite(admin.AdminSite):
    site_header = "Aether administration"
    site_title = "Aether admin"

    def register(self, model_or_iterable, admin_class=None, **options):
        """Register as Django does; a ModelAdmin that is neither team-scoped nor superuser-only becomes
        superuser-only (`closed_by_default` marks it, so the doors test can name ours that forgot)."""
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, (TeamScopedAdmin, SuperuserOnlyAdmin)):
            admin_class = type(
                admin_class.__name__,
                (SuperuserOnlyAdmin, admin_class),
                {"__module__": admin_class.__module__, "closed_by_default": True},
            )
        return super().register(model_or_iterable, admin_class, **options)

    def has_permission(self, request):
        from accounts.second_factor import admin_needs_second_factor

        return super().has_permission(request) and not admin_needs_second_factor(request)

    def login(self, request, extra_context=None):
        """Admin signs in through the site's sign-in page (the same policy and second factor); a signed-in
        staff user still missing the second factor is sent to set it up or give it."""
        from accounts.second_factor import admin_needs_second_factor

        next_url = request.GET.get("next", "")
        if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
            next_url = reverse(f"{self.name}:index")
        if request.user.is_authenticated:
            if not (request.user.is_active and request.user.is_staff):
                raise PermissionDenied("This account does not open Django admin.")
            if admin_needs_second_factor(request):
                return HttpResponseRedirect(reverse("accounts:second_factor") + "?" + urlencode({"next": next_url}))
            return HttpResponseRedirect(next_url)
        return HttpResponseRedirect(reverse("accounts:login") + "?" + urlencode({"next": next_url}))
