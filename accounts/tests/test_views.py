"""Sign-in, passwords, invitations and the team page, through the HTML views."""

from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse
from django.utils import timezone

from accounts.models import Invitation, Membership, Role, User
from accounts.tests.factories import UserFactory, link_of, token_of
from notifications.models import Kind, OutboxEmail

pytestmark = pytest.mark.django_db


def _link_in(outbox: OutboxEmail) -> str:
    """The link of an invitation or reset email as it is sent (the row itself holds none)."""
    assert outbox.body_text == ""
    return link_of(outbox)


# --- sign in and out ------------------------------------------------------------------------------------


def test_sign_in_with_email_in_any_case_then_sign_out(client):
    user = UserFactory(email="ann@example.test")
    response = client.post(reverse("accounts:login"), {"username": "Ann@Example.TEST", "password": "pw-for-tests-1"})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.session[SESSION_KEY] == str(user.pk)
    response = client.post(reverse("accounts:logout"))
    assert response["Location"] == reverse("accounts:login")
    assert SESSION_KEY not in client.session


def test_a_wrong_password_says_so_on_the_form(client):
    UserFactory(email="ann@example.test")
    response = client.post(reverse("accounts:login"), {"username": "ann@example.test", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct email address and password" in response.content.decode()
    assert SESSION_KEY not in client.session


def test_password_change(client):
    user = UserFactory(email="ann@example.test")
    client.force_login(user)
    bad = client.post(
        reverse("accounts:password_change"),
        {"old_password": "wrong", "new_password1": "a-Better-pass-42", "new_password2": "a-Better-pass-42"},
    )
    assert bad.status_code == 200
    assert "old_password" in bad.context["form"].errors
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": "pw-for-tests-1", "new_password1": "a-Better-pass-42", "new_password2": "a-Better-pass-42"},
        follow=True,
    )
    assert "Your password was changed." in response.content.decode()
    user.refresh_from_db()
    assert user.check_password("a-Better-pass-42")


# --- password reset -------------------------------------------------------------------------------------


def test_password_reset_writes_an_outbox_email_whose_link_sets_a_new_password(client):
    user = UserFactory(email="ann@example.test")
    response = client.post(reverse("accounts:password_reset"), {"email": "ANN@example.test"})
    assert response["Location"] == reverse("accounts:password_reset_done")
    email = OutboxEmail.objects.get()
    assert (email.kind, email.recipient, email.user) == (Kind.PASSWORD_RESET, "ann@example.test", user)
    assert email.subject == "Reset your Aether password"
    link = _link_in(email)
    response = client.get(link, follow=True)  # Django swaps the token for a session key, then shows the form
    assert response.status_code == 200
    assert response.context["validlink"]
    response = client.post(
        response.redirect_chain[-1][0], {"new_password1": "fresh-Pass-9876", "new_password2": "fresh-Pass-9876"}
    )
    assert response["Location"] == reverse("accounts:password_reset_complete")
    user.refresh_from_db()
    assert user.check_password("fresh-Pass-9876")
    # Used once: the same link no longer works.
    assert not client.get(link, follow=True).context["validlink"]


def test_password_reset_for_an_unknown_address_answers_the_same_and_sends_nothing(client):
    response = client.post(reverse("accounts:password_reset"), {"email": "nobody@example.test"})
    assert response["Location"] == reverse("accounts:password_reset_done")
    assert not OutboxEmail.objects.exists()


def test_password_reset_asks_for_a_valid_address(client):
    response = client.post(reverse("accounts:password_reset"), {"email": "not an address"})
    assert response.status_code == 200
    assert "Enter a valid email address." in response.content.decode()
    assert not OutboxEmail.objects.exists()


# --- team page ------------------------------------------------------------------------------------------


def test_team_page_lists_members_and_roles_for_everyone_in_the_team(client, team_roles):
    team, _, people = team_roles
    client.force_login(people["viewer"])
    response = client.get(reverse("accounts:team_list"))
    assert response["Location"] == reverse("accounts:team_detail", args=[team.pk])
    html = client.get(response["Location"]).content.decode()
    for role in ("owner", "admin", "member", "viewer"):
        assert f"{role}@acme.test" in html
    assert "<form" not in html.split("<main", 1)[1]
    assert "out@other.test" not in html


def test_an_outsider_gets_404_from_the_team_page(client, team_roles):
    team, _, people = team_roles
    client.force_login(people["outsider"])
    assert client.get(reverse("accounts:team_detail", args=[team.pk])).status_code == 404
    assert client.post(reverse("accounts:team_invite", args=[team.pk]), {"email": "x@y.test"}).status_code == 404


def test_admin_invites_by_email_and_the_invitee_sets_a_password_from_the_link(client, team_roles):
    team, _, people = team_roles
    client.force_login(people["admin"])
    response = client.post(
        reverse("accounts:team_invite", args=[team.pk]), {"email": "New.Person@Example.test", "role": "member"}
    )
    assert response["Location"] == reverse("accounts:team_detail", args=[team.pk])
    invitation = Invitation.objects.get()
    assert (invitation.email, invitation.role, invitation.invited_by) == (
        "new.person@example.test",
        "member",
        people["admin"],
    )
    email = OutboxEmail.objects.get()
    assert (email.kind, email.recipient) == (Kind.INVITATION, "new.person@example.test")
    assert "invited you to Acme" in email.subject
    link = _link_in(email)
    assert link == reverse("accounts:invitation_accept", args=[token_of(invitation)])

    client.logout()
    page = client.get(link)
    assert page.status_code == 200
    assert "Join Acme" in page.content.decode()
    mismatch = client.post(link, {"full_name": "New Person", "password1": "Long-enough-pw-1", "password2": "other"})
    assert mismatch.status_code == 422
    assert "The two passwords differ." in mismatch.content.decode()
    weak = client.post(link, {"full_name": "New Person", "password1": "123", "password2": "123"})
    assert weak.status_code == 422
    assert "too short" in weak.content.decode()
    assert not User.objects.filter(email="new.person@example.test").exists()

    response = client.post(
        link, {"full_name": "New Person", "password1": "Long-enough-pw-1", "password2": "Long-enough-pw-1"}
    )
    assert response["Location"] == reverse("home")
    user = User.objects.get(email="new.person@example.test")
    assert user.check_password("Long-enough-pw-1")
    assert Membership.objects.get(team=team, user=user).role == Role.MEMBER
    assert client.session[SESSION_KEY] == str(user.pk)
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None
    client.logout()
    assert client.get(link).status_code == 404  # used once


def test_an_existing_account_signs_in_to_accept(client, team_roles):
    team, _, people = team_roles
    client.force_login(people["owner"])
    client.post(reverse("accounts:team_invite", args=[team.pk]), {"email": "out@other.test", "role": "viewer"})
    link = _link_in(OutboxEmail.objects.get())
    client.logout()
    assert "Sign in as out@other.test" in client.get(link).content.decode()
    client.force_login(people["outsider"])
    response = client.post(link)
    assert response["Location"] == reverse("home")
    assert Membership.objects.get(team=team, user=people["outsider"]).role == Role.VIEWER


def test_invitation_errors_show_next_to_their_field(client, team_roles):
    team, _, people = team_roles
    client.force_login(people["admin"])
    url = reverse("accounts:team_invite", args=[team.pk])
    taken = client.post(url, {"email": "member@acme.test", "role": "member"})
    assert taken.status_code == 422
    assert taken.context["invite_form"].errors == {"email": ["This person is already a member of the team."]}
    admin_role = client.post(url, {"email": "boss@x.test", "role": "admin"})  # admins may not invite admins
    assert admin_role.status_code == 422
    assert "role" in admin_role.context["invite_form"].errors
    assert not Invitation.objects.exists()
    assert not OutboxEmail.objects.exists()


def test_owner_may_invite_an_admin_and_reinviting_resends_the_same_link(client, team_roles):
    team, _, people = team_roles
    client.force_login(people["owner"])
    url = reverse("accounts:team_invite", args=[team.pk])
    client.post(url, {"email": "boss@x.test", "role": "admin"})
    first = Invitation.objects.get()
    Invitation.objects.filter(pk=first.pk).update(expires_at=timezone.now() - timedelta(days=1))  # it lapsed
    client.post(url, {"email": "boss@x.test", "role": "admin"})
    invitation = Invitation.objects.get()
    assert invitation.token_hash == first.token_hash
    assert invitation.expires_at > first.expires_at
    emails = list(OutboxEmail.objects.filter(kind=Kind.INVITATION).order_by("pk"))
    assert len(emails) == 2
    assert {_link_in(e) for e in emails} == {reverse("accounts:invitation_accept", args=[token_of(first)])}
    client.logout()
    assert client.get(_link_in(emails[0])).status_code == 200
    client.force_login(people["owner"])
    client.post(reverse("accounts:invitation_revoke", args=[team.pk, invitation.pk]))
    assert not Invitation.objects.exists()


def test_admin_changes_roles_and_removes_members(client, team_roles):
    team, _, people = team_roles
    client.force_login(people["admin"])
    member = people["member"]
    client.post(reverse("accounts:membership_role", args=[team.pk, member.pk]), {"role": "viewer"})
    assert Membership.objects.get(team=team, user=member).role == Role.VIEWER
    response = client.post(
        reverse("accounts:membership_role", args=[team.pk, member.pk]), {"role": "owner"}, follow=True
    )
    assert "Only an owner can make or unmake an admin or an owner." in response.content.decode()
    assert Membership.objects.get(team=team, user=member).role == Role.VIEWER
    client.post(reverse("accounts:membership_remove", args=[team.pk, member.pk]))
    assert not Membership.objects.filter(team=team, user=member).exists()
    response = client.post(reverse("accounts:membership_remove", args=[team.pk, people["owner"].pk]), follow=True)
    assert "Only an owner can remove an admin or an owner." in response.content.decode()
    assert Membership.objects.filter(team=team, user=people["owner"]).exists()


def test_the_last_owner_cannot_step_down(client, team_roles):
    team, _, people = team_roles
    client.force_login(people["owner"])
    response = client.post(
        reverse("accounts:membership_role", args=[team.pk, people["owner"].pk]), {"role": "member"}, follow=True
    )
    assert "A team needs at least one owner." in response.content.decode()
    assert Membership.objects.get(team=team, user=people["owner"]).role == Role.OWNER


@pytest.mark.parametrize(
    ("view", "data"),
    [
        ("team_invite", {"email": "someone@x.test", "role": "member"}),
        ("membership_role", {"role": "viewer"}),
        ("membership_remove", {}),
    ],
)
@pytest.mark.parametrize("role", ["member", "viewer"])
def test_members_and_viewers_cannot_manage_the_team(client, team_roles, view, data, role):
    team, _, people = team_roles
    client.force_login(people[role])
    args = [team.pk] if view == "team_invite" else [team.pk, people["viewer" if role == "member" else "member"].pk]
    before = sorted(Membership.objects.values_list("user_id", "role"))
    assert client.post(reverse(f"accounts:{view}", args=args), data).status_code == 403
    assert sorted(Membership.objects.values_list("user_id", "role")) == before
    assert not Invitation.objects.exists()
    assert not OutboxEmail.objects.exists()


def test_withdrawing_an_invitation_needs_an_admin(client, team_roles):
    team, _, people = team_roles
    client.force_login(people["admin"])
    client.post(reverse("accounts:team_invite", args=[team.pk]), {"email": "a@b.test", "role": "member"})
    invitation = Invitation.objects.get()
    client.force_login(people["member"])
    assert client.post(reverse("accounts:invitation_revoke", args=[team.pk, invitation.pk])).status_code == 403
    assert Invitation.objects.filter(pk=invitation.pk).exists()
