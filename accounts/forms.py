"""Forms of the sign-in, password and team pages. They parse input; the services decide and write."""

from __future__ import annotations

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm

from . import services
from .models import AccountEventKind, Role
from .permissions import grantable_roles
from .signin import client_address, refusal_of


class SignInForm(AuthenticationForm):
    """When the sign-in policy paused this attempt, say so instead of "wrong email or password"."""

    def get_invalid_login_error(self):
        refusal = refusal_of(self.request)
        if refusal is None:
            return super().get_invalid_login_error()
        if refusal.scope == "busy":
            return forms.ValidationError("Too many sign-ins at this moment: try again in a few seconds.", code="busy")
        return forms.ValidationError(
            "Too many failed sign-ins to this account: sign-in is paused for %(minutes)d minute(s). "
            "Try again later, or reset your password by email.",
            code="locked_out",
            params={"minutes": refusal.minutes},
        )


class PasswordResetRequestForm(PasswordResetForm):
    """Django's reset form, but the email is written to the outbox (services.password_reset_request) in the
    request's transaction instead of being sent from the web process, within the limits per account and
    address; the view answers the same whatever happened."""

    def save(self, *args, request=None, **kwargs) -> int:
        return services.password_reset_request(email=self.cleaned_data["email"], address=client_address(request))


def role_choices_for(actor, team_id: int) -> list[tuple[str, str]]:
    """The roles the actor may hand out in the team (accounts/permissions.py `may_grant_role`), lowest first."""
    return [(role.value, role.label) for role in reversed(grantable_roles(actor, team_id))]


class InvitationForm(forms.Form):
    email = forms.EmailField(label="Email address", max_length=254)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)

    def __init__(self, *args, actor=None, team_id: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = role_choices_for(actor, team_id) if actor is not None else []
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


class SecondFactorCodeForm(forms.Form):
    """A code from the authenticator app (6 digits) or a recovery code."""

    code = forms.CharField(
        label="Code",
        max_length=32,
        help_text="The 6 digits your authenticator app shows now, or one of your recovery codes.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


class SecondFactorRemoveForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        strip=False,
        max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    code = forms.CharField(
        label="A code",
        max_length=32,
        help_text="From your authenticator app, or a recovery code.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}),
    )


class AccountEventFilterForm(forms.Form):
    """The filters of a team's account audit trail (and its CSV export)."""

    kind = forms.ChoiceField(label="What", required=False, choices=[("", "Everything"), *AccountEventKind.choices])
    person = forms.TypedChoiceField(label="Who", required=False, coerce=int, empty_value=None, choices=[])
    since = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, people=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].choices = [("", "Anyone"), *((u.pk, u.get_full_name()) for u in people)]

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", "The end comes before the start.")
        return cleaned
