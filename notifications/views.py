"""The notifications pages: the list (with mark one / all read) and the preferences. Thin: selectors scope
every read to the signed-in user (someone else's notification is a 404), services do the writes."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from . import selectors, services
from .forms import PreferencesForm

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
@require_POST
def notification_read(request, pk: int):
    notification = get_object_or_404(selectors.notifications_for(request.user), pk=pk)
    services.notification_mark_read(actor=request.user, notification=notification)
    return _back(request)


@login_required
@require_POST
def notifications_read_all(request):
    count = services.notifications_mark_all_read(actor=request.user)
    messages.success(request, f"{count} notification{'' if count == 1 else 's'} marked read.")
    return _back(request)


@login_required
def preferences(request):
    form = PreferencesForm(request.POST or None, preferences=selectors.preferences_for(request.user))
    if request.method == "POST" and form.is_valid():
        services.preferences_update(actor=request.user, choices=form.choices())
        messages.success(request, "Your notification settings are saved.")
        return redirect("notifications:preferences")
    return render(request, "notifications/preferences.html", {"form": form})
