"""The team page (members, roles, invitations, the account audit trail) and accepting an invitation."""

from __future__ import annotations

import csv

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from aether.posting import post_only

from .. import selectors, services
from ..forms import (
    AccountEventFilterForm,
    InvitationAcceptForm,
    InvitationForm,
    MembershipRoleForm,
    add_service_errors,
    role_choices_for,
)
from ..links import invitation_by_token
from ..models import AccountEventKind, Invitation, Membership, Role, User
from ..permissions import Action, can, may_manage_member, require, role_in

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
    for m in members:
        # Admins manage members and viewers; owners manage everyone (the service has the last word).
        m.editable = m.user_id != request.user.pk and may_manage_member(request.user, team.pk, m.role)
    return render(
        request,
        "accounts/team_detail.html",
        {
            "team": team,
            "my_role": my_role,
            "can_manage": manage,
            "members": members,
            "role_choices": role_choices_for(request.user, team.pk),
            "recent_events": list(selectors.team_account_events(team)[:5]) if manage else [],
            "invitations": list(selectors.team_open_invitations(team)) if manage else [],
            "invite_form": invite_form or InvitationForm(actor=request.user, team_id=team.pk),
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
    form = InvitationForm(request.POST, actor=request.user, team_id=team.pk)
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
    except PermissionDenied as exc:
        messages.error(request, str(exc))
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
    invitation = invitation_by_token(token)
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


# --- the account audit trail ----------------------------------------------------------------------------

AUDIT_PAGE_SIZE = 50
AUDIT_EXPORT_LIMIT = 50_000


def _describe(event) -> str:
    """What happened, in words, from the row's kind and data."""
    data = event.data or {}
    role = data.get("role")
    if event.kind == AccountEventKind.ROLE_CHANGED:
        return f"{Role(data['old']).label} → {Role(data['new']).label}" if data.get("old") in Role.values else ""
    if event.kind == AccountEventKind.TEAM_RENAMED:
        return "; ".join(f"{field}: {change['old']} → {change['new']}" for field, change in data.items())
    if event.kind == AccountEventKind.TEAM_TIME_ZONE_CHANGED:
        return f"{data.get('old')} → {data.get('new')}"
    parts = [event.email] if event.email else []
    if role in Role.values:
        parts.append(f"as {Role(role).label.lower()}")
    return " ".join(parts)


@login_required
def team_audit(request, team_id: int):
    """The team's account audit trail, filterable, for its owners and admins; `?format=csv` exports what the
    filters select (latest first, at most AUDIT_EXPORT_LIMIT rows)."""
    team = _team_or_404(request, team_id)
    require(request.user, Action.MANAGE, team.pk)
    people = [m.user for m in selectors.team_members(team)]
    form = AccountEventFilterForm(request.GET or None, people=people)
    if request.GET and not form.is_valid():
        return render(request, "accounts/team_audit.html", {"team": team, "form": form, "page": None}, status=400)
    filters = form.cleaned_data if request.GET else {}
    person = next((p for p in people if p.pk == filters.get("person")), None)
    events = selectors.team_account_events(
        team, kind=filters.get("kind") or None, since=filters.get("since"), until=filters.get("until"), person=person
    )
    if request.GET.get("format") == "csv":
        return _audit_csv(team, events[:AUDIT_EXPORT_LIMIT])
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    for event in page:
        event.description = _describe(event)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "accounts/team_audit.html",
        {
            "team": team,
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "csv_query": _with(query, "format", "csv"),
        },
    )


def _with(query, key, value) -> str:
    query = query.copy()
    query[key] = value
    return query.urlencode()


class _Echo:
    def write(self, value):
        return value


def _cell(value) -> str:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula (= + - @, tab, carriage return)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _audit_csv(team, events):
    writer = csv.writer(_Echo())
    header = ["time (UTC)", "what", "by", "about", "email", "details", "address"]

    def rows():
        yield writer.writerow(header)
        for event in events.iterator(chunk_size=1000):
            yield writer.writerow(
                [
                    _cell(value)
                    for value in (
                        event.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                        event.get_kind_display(),
                        event.actor.email if event.actor else "",
                        event.subject.email if event.subject else "",
                        event.email,
                        _describe(event),
                        event.address,
                    )
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{team.slug}-account-events.csv"'
    return response
