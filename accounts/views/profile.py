"""The profile page: name, password, notifications, calendar link, and setting up or removing a second factor."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_post_parameters
from django_otp.plugins.otp_totp.models import TOTPDevice

from aether.posting import post_only

from .. import selectors, services
from ..forms import ProfileForm, SecondFactorCodeForm, SecondFactorRemoveForm, add_service_errors
from ..second_factor import (
    admin_needs_second_factor,
    has_second_factor,
    qr_svg,
    required_for_admin,
    session_verified,
    verify_code,
)
from ..services.second_factor import WRONG_CODE


@login_required
def profile(request):
    """The account menu's page: your name, your password, your second factor, and the way to your
    notification settings and calendar link."""
    name_form = ProfileForm(request.POST or None, initial={"full_name": request.user.full_name})
    if request.method == "POST" and name_form.is_valid():
        try:
            services.profile_update(actor=request.user, full_name=name_form.cleaned_data["full_name"])
        except ValidationError as exc:
            add_service_errors(name_form, exc)
        else:
            messages.success(request, "Your name is saved.")
            return redirect("accounts:profile")
    feed = selectors.calendar_feed_of(request.user)
    return render(
        request,
        "accounts/profile.html",
        {
            "name_form": name_form,
            "password_form": PasswordChangeForm(request.user),
            "calendar_feed": feed,
            "has_second_factor": has_second_factor(request.user),
            "second_factor_required": required_for_admin(request.user),
            **(_calendar_feed_urls(feed) if feed is not None else {}),
        },
        status=422 if request.method == "POST" else 200,
    )


def _calendar_feed_urls(feed) -> dict[str, str]:
    """The feed's link from the one SITE_URL, and its webcal:// twin (a click on it opens the calendar app)."""
    url = f"{settings.SITE_URL.rstrip('/')}{reverse('tasks:calendar_feed', args=[feed.token])}"
    return {"calendar_feed_url": url, "calendar_feed_webcal": "webcal://" + url.split("://", 1)[-1]}


@login_required
@post_only("accounts:profile")
def calendar_feed_reset(request):
    """Create the user's private calendar link, or replace it (the old one stops working at once)."""
    had_one = selectors.calendar_feed_of(request.user) is not None
    services.calendar_feed_reset(actor=request.user)
    if had_one:
        messages.success(
            request, "Your calendar link was reset: the old one no longer works. Subscribe again with the new one."
        )
    else:
        messages.success(request, "Your calendar link is ready: add it to your calendar app.")
    return redirect(reverse("accounts:profile") + "#calendar-feed-h")


# --- the second factor ------------------------------------------------------------------------------------


def _next_of(request) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    return wanted if url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()}) else ""


def _second_factor_page(request, *, status=200, **context):
    user = request.user
    enrolled = has_second_factor(user)
    pending = None if enrolled else TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    return render(
        request,
        "accounts/second_factor.html",
        {
            "enrolled": enrolled,
            "pending": pending,
            "qr_svg": qr_svg(pending.config_url) if pending is not None else "",
            "manual_key": _grouped(pending) if pending is not None else "",
            "required": required_for_admin(user),
            "needs_code_for_admin": enrolled and admin_needs_second_factor(request),
            "next": _next_of(request),
            "code_form": context.pop("code_form", None) or SecondFactorCodeForm(),
            "remove_form": context.pop("remove_form", None) or SecondFactorRemoveForm(),
            **context,
        },
        status=status,
    )


def _grouped(device) -> str:
    """The key as an app's "enter a key" screen wants it: base32, in groups of four."""
    from base64 import b32encode

    key = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


@login_required
def second_factor(request):
    """Set up a second factor (a QR code to scan, then a first code), give a code for this session (Django
    admin asks staff for one), or remove it."""
    return _second_factor_page(request)


@login_required
@post_only("accounts:second_factor")
def second_factor_begin(request):
    try:
        services.second_factor_begin(actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    url = reverse("accounts:second_factor")
    return redirect(url + (f"?next={_next_of(request)}" if _next_of(request) else ""))


@login_required
@post_only("accounts:second_factor")
@sensitive_post_parameters("code")
def second_factor_confirm(request):
    form = SecondFactorCodeForm(request.POST)
    pending = TOTPDevice.objects.filter(user=request.user, confirmed=False).order_by("-pk").first()
    if form.is_valid():
        try:
            codes = services.second_factor_confirm(
                actor=request.user, device_id=pending.pk if pending else 0, code=form.cleaned_data["code"]
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            session_verified(request, TOTPDevice.objects.get(pk=pending.pk))
            messages.success(request, "Your second factor is set up: signing in now asks for a code.")
            return render(
                request, "accounts/recovery_codes.html", {"codes": codes, "next": _next_of(request)}, status=200
            )
    return _second_factor_page(request, code_form=form, status=422)


@login_required
@post_only("accounts:second_factor")
@sensitive_post_parameters("code")
def second_factor_session(request):
    """A code for this session (signed in before the second factor was set up, or elsewhere): Django admin
    asks staff for it."""
    form = SecondFactorCodeForm(request.POST)
    if form.is_valid():
        device = verify_code(request.user, form.cleaned_data["code"])
        if device is not None:
            session_verified(request, device)
            return redirect(_next_of(request) or reverse("accounts:profile"))
        form.add_error("code", WRONG_CODE)
    return _second_factor_page(request, code_form=form, status=422)


@login_required
@post_only("accounts:second_factor")
@sensitive_post_parameters("password", "code")
def second_factor_remove(request):
    form = SecondFactorRemoveForm(request.POST)
    if form.is_valid():
        try:
            services.second_factor_remove(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Your second factor was removed: signing in asks for your password only.")
            return redirect("accounts:profile")
    return _second_factor_page(request, remove_form=form, status=422)
