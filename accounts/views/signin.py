"""Signing in (with the second factor's step), passwords and the reset link."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.views import INTERNAL_RESET_SESSION_TOKEN
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.debug import sensitive_post_parameters

from .. import services, signin
from ..demo import DEMO_PASSWORD, demo_logins
from ..forms import PasswordResetRequestForm, SecondFactorCodeForm, SignInForm, add_service_errors
from ..models import User
from ..second_factor import (
    has_second_factor,
    pending_clear,
    pending_of,
    pending_start,
    session_verified,
    verify_code,
)
from ..services.second_factor import WRONG_CODE


def _paused(request, refusal):
    """The answer to a sign-in not tried: paused by the policy (429), or no turn to check a password (503)."""
    response = render(
        request,
        "registration/locked_out.html",
        {"minutes": refusal.minutes, "scope": refusal.scope, "seconds": refusal.retry_after},
        status=503 if refusal.scope == "busy" else 429,
    )
    response["Retry-After"] = str(refusal.retry_after)
    return response


class SignInView(auth_views.LoginView):
    """Django's sign-in page; a sign-in paused by the policy (accounts/signin.py) gets a page that says so (429).
    An account with a second factor is not signed in yet when its password is right: the code page comes
    first (accounts/second_factor.py). In debug mode (a local demo) it also lists the demo accounts and their
    password, and says whether the demo admin is asked for a second factor."""

    form_class = SignInForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        if has_second_factor(user):
            pending_start(self.request, user, backend=user.backend, next_url=self.get_success_url())
            return redirect("accounts:second_factor_verify")
        return super().form_valid(form)

    def form_invalid(self, form):
        refusal = signin.refusal_of(self.request)
        if refusal is None:
            return super().form_invalid(form)
        return _paused(self.request, refusal)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if settings.DEBUG:
            context["demo_logins"] = demo_logins()
            context["demo_password"] = DEMO_PASSWORD
            context["staff_second_factor"] = settings.AETHER_STAFF_SECOND_FACTOR
        return context


@sensitive_post_parameters("code")
def second_factor_verify(request):
    """The sign-in's second step: a code from the app, or a recovery code. Wrong codes count as failed sign-ins
    for the policy (so the page pauses, as the password does), and django-otp slows the device down."""
    pending = pending_of(request)
    user = User.objects.filter(pk=pending["user"], is_active=True).first() if pending else None
    if user is None:
        pending_clear(request)
        messages.error(request, "Sign in again: that sign-in took too long or was finished.")
        return redirect("accounts:login")
    form = SecondFactorCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        account, address = signin.account_key(user.email), signin.client_address(request)
        refusal = signin.check(account, address)
        if refusal is not None:
            return _paused(request, refusal)
        device = verify_code(user, form.cleaned_data["code"])
        if device is None:
            signin.record_failure(account, address)
            form.add_error("code", WRONG_CODE)
        else:
            signin.record_success(account, address)
            pending_clear(request)
            login(request, user, backend=pending["backend"])
            session_verified(request, device)
            return HttpResponseRedirect(pending["next"])
    return render(
        request,
        "registration/second_factor_verify.html",
        {"form": form, "email": user.email},
        status=422 if request.method == "POST" else 200,
    )


class SignOutView(auth_views.LogoutView):
    """Django's sign-out, a POST; a GET of its address (a pasted link) goes home rather than to an empty 405,
    and signs nobody out (another site could make the browser GET it)."""

    http_method_names = ["get", "post", "options"]

    def get(self, request, *args, **kwargs):
        return redirect("home")


class PasswordChangeView(auth_views.PasswordChangeView):
    """The password form of the profile page (the old password checked by the form), saved by password_set;
    shown alone again when the change is refused."""

    success_url = reverse_lazy("accounts:profile")

    def form_valid(self, form):
        try:
            user = services.password_set(
                actor=self.request.user, user=self.request.user, password=form.cleaned_data["new_password1"]
            )
        except ValidationError as exc:
            add_service_errors(form, ValidationError({"new_password1": exc.messages}))
            return self.form_invalid(form)
        update_session_auth_hash(self.request, user)  # this session stays signed in; every other one ends
        messages.success(self.request, "Your password was changed.")
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetView(auth_views.PasswordResetView):
    form_class = PasswordResetRequestForm
    success_url = reverse_lazy("accounts:password_reset_done")


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """The reset link's page (Django checks the link), saved by password_set as a reset."""

    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form):
        try:
            services.password_set(
                actor=self.user, user=self.user, password=form.cleaned_data["new_password1"], by_reset=True
            )
        except ValidationError as exc:
            add_service_errors(form, ValidationError({"new_password1": exc.messages}))
            return self.form_invalid(form)
        self.request.session.pop(INTERNAL_RESET_SESSION_TOKEN, None)
        return HttpResponseRedirect(self.get_success_url())
