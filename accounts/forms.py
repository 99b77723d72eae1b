"""Forms of the sign-in, password and team pages. They parse input; the services decide and write."""

from __future__ import annotations

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm

from . import services
from .models import Role
from .signin import client_address, refusal_of


class _PausedSignInMixin:
    """When the sign-in policy paused this attempt, say so instead of "wrong email or password"."""

    def get_invalid_login_error(self):
        refusal = refusal_of(self.request)
        if refusal is None:
            return super().get_invalid_login_error()
        return forms.ValidationError(
            "Too many failed sign-ins to this account: sign-in is paused for %(minutes)d minute(s). "
            "Try again later, or reset your password by email.",
            code="locked_out",
            params={"minutes": refusal.minutes},
        )


class SignInForm(_PausedSignInMixin, AuthenticationForm):
    pass


class AdminSignInForm(_PausedSignInMixin, AdminAuthenticationForm):
    pass


class PasswordResetRequestForm(PasswordResetForm):
    """Django's reset form, but the email is written to the outbox (services.password_reset_request) in the
    request's transaction instead of being sent from the web process, within the limits per account and
    address; the view answers the same whatever happened."""

    def save(self, *args, request=None, **kwargs) -> int:
        return services.password_reset_request(email=self.cleaned_data["email"], address=client_address(request))


def role_choices_for(actor_role: str | None) -> list[tuple[str, str]]:
    """The roles an actor may hand out: owners any, admins members and viewers."""
    if actor_role == Role.OWNER:
        return list(Role.choices)
    return [(Role.MEMBER.value, Role.MEMBER.label), (Role.VIEWER.value, Role.VIEWER.label)]


class InvitationForm(forms.Form):
    email = forms.EmailField(label="Email address", max_length=254)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)

    def __init__(self, *args, actor_role: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = role_choices_for(actor_role)
        self.fields["email"].widget.attrs.update(autocomplete="off")


class MembershipRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class InvitationAcceptForm(forms.Form):
    """A new account for the invited address: a name and a password, typed twice."""

    full_name = forms.CharField(label="Your name", max_length=150, required=False)
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        cleaned = super().clean()
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", "The two passwords differ.")
        return cleaned


def add_service_errors(form: forms.Form, exc) -> None:
    """Put a service's ValidationError next to the field it names (or at the top of the form)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


class ProfileForm(forms.Form):
    full_name = forms.CharField(label="Your name", max_length=150, help_text="How your team sees you in Aether.")
