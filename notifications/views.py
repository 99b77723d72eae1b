"""The notifications pages: the list (with mark one / all read) and the preferences. Thin: selectors scope
every read to the signed-in user (someone else's notification is a 404), services do the writes."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt

from aether.posting import post_only

from . import digests, selectors, services, unsubscribe
from .forms import EmailDeliveryForm, PreferencesForm

PAGE_SIZE = 30


@login_required
def notification_list(request):
    page = Paginator(selectors.notifications_for(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "notifications/list.html", {"page": page, "unread": selectors.unread_count(request.user)})


def _back(request):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return redirect(target)
    return redirect("notifications:list")


@login_required
@post_only("notifications:list")
def notification_read(request, pk: int):
    notification = get_object_or_404(selectors.notifications_for(request.user), pk=pk)
    services.notification_mark_read(actor=request.user, notification=notification)
    return _back(request)


_OPEN_SALT = "notifications.open"


def open_token(notification) -> str:
    """The signature that lets a GET mark this notification read (see notification_open)."""
    return signing.Signer(salt=_OPEN_SALT).sign(f"{notification.user_id}:{notification.pk}").rsplit(":", 1)[1]


@login_required
def notification_open(request, pk: int):
    """Open a notification: mark it read, then go where it points.

    A GET, so that the list's entries stay plain links (open in a new tab, middle-click, keyboard) while
    opening still marks read; the signed token (user and notification id, with the site's secret) keeps
    another site from marking your notifications read by making your browser fetch the URL. A bad token,
    or someone else's notification, is a 404, and the target must be a path on this site."""
    notification = get_object_or_404(selectors.notifications_for(request.user), pk=pk)
    if not constant_time_compare(request.GET.get("t", ""), open_token(notification)):
        raise Http404("No such notification.")
    services.notification_mark_read(actor=request.user, notification=notification)
    target = notification.url
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return redirect(target)
    return redirect("notifications:list")


@login_required
@post_only("notifications:list")
def notifications_read_all(request):
    count = services.notifications_mark_all_read(actor=request.user)
    messages.success(request, f"{count} notification{'' if count == 1 else 's'} marked read.")
    return _back(request)


@login_required
def preferences(request):
    """Two forms on one page, each with its own Save: the per-kind switches, and how emails reach the user
    (a POST carrying `cadence` is the second)."""
    kinds_data = email_data = None
    if request.method == "POST":
        if "cadence" in request.POST:
            email_data = request.POST
        else:
            kinds_data = request.POST
    form = PreferencesForm(kinds_data, preferences=selectors.preferences_for(request.user))
    email_form = EmailDeliveryForm(email_data, preference=selectors.email_preference_for(request.user))
    if kinds_data is not None and form.is_valid():
        services.preferences_update(actor=request.user, choices=form.choices())
        messages.success(request, "Your notification settings are saved.")
        return redirect("notifications:preferences")
    if email_data is not None and email_form.is_valid():
        try:
            services.email_preference_update(actor=request.user, **email_form.cleaned_data)
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                email_form.add_error(name if name in email_form.fields else None, errors)
        else:
            messages.success(request, "How your emails reach you is saved.")
            return redirect("notifications:preferences")
    context = {
        "form": form,
        "email_form": email_form,
        "batch_minutes": max(round(settings.AETHER_EMAIL_BATCH_SECONDS / 60), 1),
        "batching": settings.AETHER_EMAIL_BATCH_SECONDS > 0,
        "next_digest": digests.next_digest(email_form.preference),
        "test_every_minutes": digests.TEST_DIGEST_EVERY // 60,
    }
    return render(request, "notifications/preferences.html", context)


@login_required
@post_only("notifications:preferences")
def digest_test(request):
    """Send me a test digest now: what my next digest would hold, through the outbox, at most one per few
    minutes (digests.TEST_DIGEST_EVERY)."""
    try:
        count = digests.digest_send_test(actor=request.user)
    except digests.TooSoon as exc:
        minutes = -(-exc.seconds // 60)
        wait = f"{minutes} minute{'' if minutes == 1 else 's'}"
        messages.error(request, f"A test digest went out moments ago; you can ask for another in {wait}.")
    else:
        listed = f"{count} update{'' if count == 1 else 's'} waiting for your digest" if count else "no updates yet"
        messages.success(request, f"A test digest is on its way to {request.user.email}, with {listed}.")
    return redirect(reverse("notifications:preferences") + "#email-delivery")


@csrf_exempt  # RFC 8058: the mail client's one-click POST carries no session and no token; the signature is the proof
def unsubscribe_view(request, token: str):
    """One-click unsubscribe (notifications/unsubscribe.py), with no sign-in: a POST turns the kind off at once;
    a GET shows what the link turns off, with a button (a POST here) and the way to the settings. A link
    Aether did not sign is a 400 page saying so."""
    try:
        link = unsubscribe.unsubscribe_read(token)
    except unsubscribe.BadLink:
        return render(request, "notifications/unsubscribe_bad.html", status=400)
    combined = link.kind in ("digest", "task_updates")
    settings_url = reverse("notifications:preferences") + ("#email-delivery" if combined else "#kinds")
    context = {"link": link, "done": request.method == "POST", "settings_url": settings_url}
    if request.method == "POST":
        context["changed"] = unsubscribe.email_unsubscribe(link=link)
    return render(request, "notifications/unsubscribe.html", context)
