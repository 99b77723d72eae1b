"""Django admin pages that write through the services (shared by the accounts and tasks admins).

Admin's own writes (`obj.save()`, `form.save_m2m()`, `formset.save()`, `obj.delete()`) are replaced by
service calls in `save_model`, `save_related` and `delete_model`, so that an admin's change checks the same
rules, writes the same Activity rows and sends the same notifications as the web UI.

A service refuses by raising ValidationError or PermissionDenied, which admin would turn into a 500. Inside a
change form, wrap each call in `refusal_as(...)`: the refusal becomes `Refused`, which leaves admin's
transaction (so whatever the form had written already is rolled back), and `ServiceAdminMixin` then shows
the same POST again with the service's message next to the field it names, on the main form or on the
inline row it came from, or at the top of the form when it names no field of that form. Admin actions call
`run_each`, which gives each object its own transaction and reports each refusal as a message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import contextmanager

from django.contrib import messages
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.contrib.admin.utils import unquote
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.urls import path, reverse

Errors = dict[str | None, list[str]]


def errors_of(exc: ValidationError | PermissionDenied) -> Errors:
    """A refusal's messages by the field they name (None: no field)."""
    if isinstance(exc, PermissionDenied):
        return {None: [str(exc) or "You are not allowed to do this."]}
    if hasattr(exc, "error_dict"):
        return {(None if field == NON_FIELD_ERRORS else field): msgs for field, msgs in exc.message_dict.items()}
    return {None: list(exc.messages)}


def message_of(exc: ValidationError | PermissionDenied) -> str:
    return " ".join(msg for msgs in errors_of(exc).values() for msg in msgs)


class Refused(Exception):
    """A service refused a change made in a change form; `target` is the inline (formset prefix, row index)
    it came from, or None for the main form."""

    def __init__(self, errors: Errors, target: tuple[str, int] | None = None):
        super().__init__(errors)
        self.errors = errors
        self.target = target

    @property
    def message(self) -> str:
        return " ".join(msg for msgs in self.errors.values() for msg in msgs)


@contextmanager
def refusal_as(target: tuple[str, int] | None = None, *, prefix: str = ""):
    """Turn a service's refusal inside the block into `Refused` for the main form or an inline row.
    `prefix` goes before every message (e.g. "Stage 2: " for a row whose form is gone, such as a deleted one)."""
    try:
        yield
    except (ValidationError, PermissionDenied) as exc:
        errors = errors_of(exc)
        if prefix:
            errors = {None: [prefix + msg for msgs in errors.values() for msg in msgs]}
        raise Refused(errors, target) from exc


def _add_errors(form, errors: Errors) -> None:
    for field, msgs in errors.items():
        form.add_error(field if field in form.fields else None, msgs)


def form_with_errors(form_class, errors: Errors):
    """A subclass of the form class that fails validation with these errors."""

    class RefusedForm(form_class):
        def clean(self):
            cleaned = super().clean()
            _add_errors(self, errors)
            return cleaned

    RefusedForm.__name__ = form_class.__name__
    return RefusedForm


def formset_with_errors(formset_class, index: int, errors: Errors):
    """A subclass of the formset class whose row `index` fails validation with these errors."""

    class RefusedFormSet(formset_class):
        def clean(self):
            super().clean()
            if index < len(self.forms):
                _add_errors(self.forms[index], errors)
            else:
                raise ValidationError([m for msgs in errors.values() for m in msgs])

    RefusedFormSet.__name__ = formset_class.__name__
    return RefusedFormSet


def _refusal(request) -> Refused | None:
    return getattr(request, "_aether_refusal", None)


def adopt(obj, saved) -> None:
    """Give admin's own instance (which it logs and redirects with) the row a service saved: every column, and
    saved rather than still being added."""
    for field in type(obj)._meta.concrete_fields:
        setattr(obj, field.attname, getattr(saved, field.attname))
    obj._state.adding = False


class ServiceAdminMixin:
    """For a ModelAdmin whose save_model / save_related / delete_model call services inside `refusal_as`."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except Refused as refusal:  # admin's transaction is rolled back: nothing of this POST was kept
            request._aether_refusal = refusal
        try:
            # The same POST again, now failing validation with the refusal's messages: the page shows them.
            return super().changeform_view(request, object_id, form_url, extra_context)
        except Refused as refusal:  # cannot happen while the form carries the errors; never a 500 if it does
            messages.error(request, refusal.message)
            return HttpResponseRedirect(request.get_full_path())

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        refusal = _refusal(request)
        if refusal is not None and refusal.target is None:
            form = form_with_errors(form, refusal.errors)
        return form

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except Refused as refusal:
            messages.error(request, refusal.message)
            opts = self.opts
            return HttpResponseRedirect(
                reverse(f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change", args=[object_id])
            )


class ReadOnlyAdminMixin:
    """A record that admin shows and never changes (written by the services or the jobs only): no add, change
    or delete, for anyone."""

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ServiceInlineMixin:
    """For an inline whose rows the parent admin saves through services (see `save_formset_rows`)."""

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        refusal = _refusal(request)
        if refusal is not None and refusal.target is not None and refusal.target[0] == formset.get_default_prefix():
            formset = formset_with_errors(formset, refusal.target[1], refusal.errors)
        return formset


def save_formset_rows(formset, *, add: Callable, change: Callable, delete: Callable, row_label: Callable = str) -> None:
    """Save an inline formset's rows through services instead of `formset.save()`: `add(form)` for a new row,
    `change(form)` for an edited one, `delete(form)` for a row marked for deletion, each called inside
    `refusal_as` for that row (a deleted row's refusal goes to the top of the form, named by `row_label`).
    Fills the formset's new/changed/deleted_objects, which admin's history reads."""
    formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
    deleted = set(map(id, formset.deleted_forms))
    for i, form in enumerate(formset.forms):
        target = (formset.prefix, i)
        if form.instance.pk is None:
            if form.has_changed() and id(form) not in deleted:
                with refusal_as(target):
                    formset.new_objects.append(add(form))
        elif id(form) in deleted:
            with refusal_as(prefix=f"{row_label(form.instance)}: "):  # its row is gone from the re-shown page
                delete(form)
            formset.deleted_objects.append(form.instance)
        elif form.has_changed():
            with refusal_as(target):
                change(form)
            formset.changed_objects.append((form.instance, form.changed_data))


def run_each(request, objects: Iterable, call: Callable, done: str) -> int:
    """Run `call(obj)` for each object, each in its own transaction; a refusal leaves that object as it was and
    is reported as an error message naming it. `done` is the success message, with {n} for the count."""
    n = 0
    for obj in objects:
        try:
            with transaction.atomic():
                call(obj)
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, f"“{obj}”: {message_of(exc)}")
        else:
            n += 1
    if n:
        messages.success(request, done.format(n=n))
    return n


def delete_selected_through(service_call: Callable, done: str):
    """The changelist's "Delete selected" action with Django's confirmation page, but deleting each object
    through `service_call(request, obj)` once confirmed. Register it under the name `delete_selected`."""

    def delete_selected(modeladmin, request, queryset):
        if request.POST.get("post"):
            run_each(request, queryset, lambda obj: service_call(request, obj), done)
            return None
        return django_delete_selected(modeladmin, request, queryset)

    delete_selected.allowed_permissions = ("delete",)
    delete_selected.short_description = django_delete_selected.short_description
    return delete_selected


class ObjectActionsMixin:
    """Changelist actions offered on one object's change page too, as buttons above the form.

    `object_actions(obj)` names the actions that apply to the object; each button posts to
    `<object_id>/actions/<name>/`, which runs the same action function on that one object and comes back to
    the change page (or shows the page the action answers with, such as a confirmation that posts back there).
    """

    change_form_template = "admin/change_form_object_actions.html"

    def object_actions(self, obj) -> list[str]:
        return []

    def get_urls(self):
        opts = self.opts
        return [
            path(
                "<path:object_id>/actions/<str:action>/",
                self.admin_site.admin_view(self.object_action_view),
                name=f"{opts.app_label}_{opts.model_name}_object_action",
            ),
            *super().get_urls(),
        ]

    def object_action_view(self, request, object_id, action):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404(f"No {self.opts.verbose_name} with this id.")
        actions = self.get_actions(request)
        if action not in actions or not self.has_change_permission(request, obj):
            raise PermissionDenied
        response = actions[action][0](self, request, self.get_queryset(request).filter(pk=obj.pk))
        if isinstance(response, HttpResponseBase):
            return response
        opts = self.opts
        return HttpResponseRedirect(
            reverse(f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if obj is not None and self.has_change_permission(request, obj):
            actions = self.get_actions(request)
            opts = self.opts
            extra_context = {
                **(extra_context or {}),
                "object_actions": [
                    {
                        "name": name,
                        "label": actions[name][2] % {"verbose_name_plural": opts.verbose_name_plural},
                        "url": reverse(
                            f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_object_action",
                            args=[obj.pk, name],
                        ),
                    }
                    for name in self.object_actions(obj)
                    if name in actions
                ],
            }
        return super().change_view(request, object_id, form_url, extra_context)
