"""Sign-in, passwords, invitations and the team page. Thin: parse, ask permissions/selectors, call a service."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy

from aether.posting import post_only

from . import selectors, services
from .demo import DEMO_PASSWORD, demo_logins
from .forms import (
    InvitationAcceptForm,
    InvitationForm,
    MembershipRoleForm,
    PasswordResetRequestForm,
    ProfileForm,
    SignInForm,
    add_service_errors,
    role_choices_for,
)
from .models import Invitation, Membership, Role, User
from .permissions import ROLE_RANK, Action, can, require, role_in
from .signin import refusal_of


class SignInView(auth_views.LoginView):
    """Django's sign-in page; a sign-in paused by the policy (accounts/signin.py) gets a page that says so (429).
    In debug mode (a local demo) it also lists the demo accounts and their password."""

    form_class = SignInForm
    redirect_authenticated_user = True

    def form_invalid(self, form):
        refusal = refusal_of(self.request)
        if refusal is None:
            return super().form_invalid(form)
        response = render(
            self.request,
            "registration/locked_out.html",
            {"minutes": refusal.minutes, "scope": refusal.scope},
            status=429,
        )
        response["Retry-After"] = str(refusal.retry_after)
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if settings.DEBUG:
            context["demo_logins"] = demo_logins()
            context["demo_password"] = DEMO_PASSWORD
        return context


class SignOutView(auth_views.LogoutView):
    """Django's sign-out, a POST; a GET of its address (a pasted link) goes home rather than to an empty 405,
    and signs nobody out (another site could make the browser GET it)."""

    http_method_names = ["get", "post", "options"]

    def get(self, request, *args, **kwargs):
        return redirect("home")


class PasswordChangeView(auth_views.PasswordChangeView):
    """The password form of the profile page; shown alone again when the change is refused."""

    success_url = reverse_lazy("accounts:profile")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, "Your password was changed.")
        return response


class PasswordResetView(auth_views.PasswordResetView):
    form_class = PasswordResetRequestForm
    success_url = reverse_lazy("accounts:password_reset_done")


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    success_url = reverse_lazy("accounts:password_reset_complete")


@login_required
def profile(request):
    """The account menu's page: your name, your password, and the way to your notification settings."""
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


# --- teams ----------------------------------------------------------------------------------------------


@login_required
def team_list(request):
    memberships = list(selectors.memberships_of(request.user))
    if len(memberships) == 1:
        return redirect("accounts:team_detail", memberships[0].team_id)
    return render(request, "accounts/team_list.html", {"memberships": memberships})


def _team_page_url(request, team_id: int, **_) -> str:
    """Where a GET of a team's POST-only address goes (aether/posting.py)."""
    return reverse("accounts:team_detail", args=[team_id])


def _team_or_404(request, team_id: int):
    team = selectors.team_for_member(request.user, team_id)
    if team is None:
        raise Http404("No such team.")
    return team


def _team_page(request, team, *, invite_form=None, status=200):
    my_role = role_in(request.user, team.pk)
    manage = can(request.user, Action.MANAGE, team.pk)
    members = list(selectors.team_members(team))
    owner = my_role == Role.OWNER
    for m in members:
        # Admins manage members and viewers; owners manage everyone (the service has the last word).
        m.editable = (
            manage and m.user_id != request.user.pk and (owner or ROLE_RANK[Role(m.role)] < ROLE_RANK[Role.ADMIN])
        )
    return render(
        request,
        "accounts/team_detail.html",
        {
            "team": team,
            "my_role": my_role,
            "can_manage": manage,
            "members": members,
            "role_choices": role_choices_for(my_role),
            "invitations": list(selectors.team_open_invitations(team)) if manage else [],
            "invite_form": invite_form or InvitationForm(actor_role=my_role),
        },
        status=status,
    )


@login_required
def team_detail(request, team_id: int):
    return _team_page(request, _team_or_404(request, team_id))


@login_required
@post_only(_team_page_url)
def team_invite(request, team_id: int):
    team = _team_or_404(request, team_id)
    require(request.user, Action.MANAGE, team.pk)
    form = InvitationForm(request.POST, actor_role=role_in(request.user, team.pk))
    if form.is_valid():
        try:
            invitation = services.invitation_create(actor=request.user, team=team, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Invitation sent to {invitation.email}.")
            return redirect("accounts:team_detail", team.pk)
    return _team_page(request, team, invite_form=form, status=422)


@login_required
@post_only(_team_page_url)
def invitation_revoke(request, team_id: int, invitation_id: int):
    team = _team_or_404(request, team_id)
    require(request.user, Action.MANAGE, team.pk)
    invitation = get_object_or_404(Invitation, pk=invitation_id, team=team)
    try:
        services.invitation_revoke(actor=request.user, invitation=invitation)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"The invitation to {invitation.email} was withdrawn.")
    return redirect("accounts:team_detail", team.pk)


def _membership_or_404(team, user_id: int) -> Membership:
    return get_object_or_404(Membership.objects.select_related("user"), team=team, user_id=user_id)


@login_required
@post_only(_team_page_url)
def membership_role(request, team_id: int, user_id: int):
    team = _team_or_404(request, team_id)
    require(request.user, Action.MANAGE, team.pk)
    membership = _membership_or_404(team, user_id)
    form = MembershipRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a role from the list.")
        return redirect("accounts:team_detail", team.pk)
    try:
        services.membership_set_role(
            actor=request.user, team=team, user=membership.user, role=form.cleaned_data["role"]
        )
    except PermissionDenied:
        messages.error(request, "Only an owner can make or unmake admins and owners.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{membership.user} is now {Role(form.cleaned_data['role']).label.lower()}.")
    return redirect("accounts:team_detail", team.pk)


@login_required
@post_only(_team_page_url)
def membership_remove(request, team_id: int, user_id: int):
    team = _team_or_404(request, team_id)
    require(request.user, Action.MANAGE, team.pk)
    membership = _membership_or_404(team, user_id)
    try:
        services.membership_remove(actor=request.user, team=team, user=membership.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{membership.user} was removed from {team.name}.")
    return redirect("accounts:team_detail", team.pk)


# --- accepting an invitation ----------------------------------------------------------------------------


def invitation_accept(request, token: str):
    """The invitation link. A new address sets a name and password; an existing account signs in and joins."""
    invitation = selectors.invitation_by_token(token)
    if invitation is None or not invitation.is_usable:
        return render(request, "accounts/invitation_invalid.html", status=404)
    account_exists = User.objects.filter(email=invitation.email).exists()
    signed_in_as_invitee = request.user.is_authenticated and request.user.email == invitation.email
    form = None
    if not account_exists:
        form = InvitationAcceptForm(request.POST or None)
    if request.method == "POST":
        try:
            if signed_in_as_invitee:
                user, _ = services.invitation_accept(token=token, user=request.user)
            elif form is not None and form.is_valid():
                user, _ = services.invitation_accept(
                    token=token, password=form.cleaned_data["password1"], full_name=form.cleaned_data["full_name"]
                )
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            else:
                user = None
        except ValidationError as exc:
            if form is None:
                messages.error(request, " ".join(exc.messages))
            else:
                exc = ValidationError({"password1" if k == "password" else k: v for k, v in exc.message_dict.items()})
                add_service_errors(form, exc)
            user = None
        if user is not None:
            messages.success(request, f"Welcome to {invitation.team.name}.")
            return redirect("home")
    return render(
        request,
        "accounts/invitation_accept.html",
        {
            "invitation": invitation,
            "form": form,
            "account_exists": account_exists,
            "signed_in_as_invitee": signed_in_as_invitee,
            "login_url": reverse("accounts:login") + "?next=" + request.path,
        },
        status=422 if request.method == "POST" else 200,
    )
