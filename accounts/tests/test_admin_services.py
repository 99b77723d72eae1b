"""Django admin writes teams and memberships through accounts.services: every change form, add form, inline
and delete posted as an admin would, with the rule's message (by its field) on refusal and nothing changed.
Also who may act in admin (accounts/permissions.py): a superuser as every team's owner, other staff by role."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.models import Membership, Role, Team, User
from accounts.permissions import Action, can, role_in
from accounts.tests.admin_forms import admin_form, form_errors, inline_errors, messages_of
from accounts.tests.factories import MembershipFactory, TeamFactory, UserFactory, sign_in_to_admin

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(db):
    return UserFactory(email="root@example.test", full_name="Root Admin", is_staff=True, is_superuser=True)


@pytest.fixture
def root_client(client, root):
    sign_in_to_admin(client, root)
    return client


def memberships(team):
    return sorted(Membership.objects.filter(team=team).values_list("user__email", "role"))


def staff(client, email, *, team=None, role=None):
    user = UserFactory(email=email, is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="accounts",
            codename__in=[
                f"{verb}_{model}" for verb in ("add", "change", "delete", "view") for model in ("team", "membership")
            ],
        )
    )
    if team is not None:
        MembershipFactory(team=team, user=user, role=role)
    sign_in_to_admin(client, user)
    return user


def membership_url(m):
    return reverse("admin:accounts_membership_change", args=[m.pk])


# --- accounts/permissions.py: who acts how in admin ------------------------------------------------------


def test_an_active_superuser_acts_as_the_owner_of_every_team(team_roles, root):
    team, other, _ = team_roles
    assert (role_in(root, team.pk), role_in(root, other.pk)) == (Role.OWNER, Role.OWNER)
    assert can(root, Action.OWN, team.pk)
    root.is_active = False
    root.__dict__.pop("_aether_roles", None)
    assert role_in(root, team.pk) is None


def test_a_staff_user_who_is_not_superuser_has_only_their_membership_role(team_roles):
    team, other, people = team_roles
    user = people["viewer"]
    user.is_staff = True
    assert (role_in(user, team.pk), role_in(user, other.pk)) == (Role.VIEWER, None)
    assert not can(user, Action.WORK, team.pk)


# --- MembershipAdmin -------------------------------------------------------------------------------------


def test_the_membership_add_form_is_membership_add(root_client, team_roles):
    team, _, _ = team_roles
    newcomer = UserFactory(email="new@acme.test")
    url = reverse("admin:accounts_membership_add")
    data = admin_form(root_client, url, "membership_form")
    data.update(team=str(team.pk), user=str(newcomer.pk), role="admin")

    assert root_client.post(url, data).status_code == 302
    assert Membership.objects.get(team=team, user=newcomer).role == Role.ADMIN


def test_an_admin_adding_an_admin_is_refused_by_the_role_field(client, team_roles):
    team, _, _ = team_roles
    admin = staff(client, "staff-admin@acme.test", team=team, role="admin")
    # Admin offers a staff user the people of the teams they administer (aether/admin_site.py): here, of another.
    newcomer = UserFactory(email="new@acme.test")
    second = TeamFactory(name="Second")
    MembershipFactory(team=second, user=admin, role="admin")
    MembershipFactory(team=second, user=newcomer, role="member")
    url = reverse("admin:accounts_membership_add")
    data = admin_form(client, url, "membership_form")
    before = memberships(team)

    data.update(team=str(team.pk), user=str(newcomer.pk), role="admin")
    response = client.post(url, data)
    assert response.status_code == 200
    assert form_errors(response) == {"role": ["Only an owner can add an admin or an owner."]}
    assert memberships(team) == before

    data.update(role="member")
    assert client.post(url, data).status_code == 302
    assert Membership.objects.get(team=team, user=newcomer).role == Role.MEMBER


def test_a_member_adding_anyone_is_refused_with_the_rule(client, team_roles):
    team, _, _ = team_roles
    staff(client, "staff-member@acme.test", team=team, role="member")
    newcomer = UserFactory(email="new@acme.test")
    url = reverse("admin:accounts_membership_add")
    data = admin_form(client, url, "membership_form")
    before = memberships(team)

    data.update(team=str(team.pk), user=str(newcomer.pk), role="viewer")
    response = client.post(url, data)

    assert response.status_code == 200  # a member administers nothing of the team: it is not among the choices
    assert "team" in form_errors(response)
    assert memberships(team) == before


def test_adding_a_deactivated_account_is_refused_by_the_user_field(root_client, team_roles):
    team, _, _ = team_roles
    gone = UserFactory(email="gone@acme.test", is_active=False)
    url = reverse("admin:accounts_membership_add")
    data = admin_form(root_client, url, "membership_form")
    data.update(team=str(team.pk), user=str(gone.pk), role="member")

    response = root_client.post(url, data)

    assert form_errors(response) == {"user": ["This account is deactivated."]}
    assert not Membership.objects.filter(user=gone).exists()


def test_the_membership_change_form_is_membership_set_role(root_client, team_roles):
    team, _, people = team_roles
    m = Membership.objects.get(team=team, user=people["member"])
    data = admin_form(root_client, membership_url(m), "membership_form")
    assert set(data) == {"role", "_save"}  # team and user are read-only

    data.update(role="admin", user=str(people["outsider"].pk))
    assert root_client.post(membership_url(m), data).status_code == 302
    m.refresh_from_db()
    assert (m.user, m.role) == (people["member"], Role.ADMIN)


def test_the_last_owner_stepping_down_is_refused_by_the_role_field(root_client, team_roles):
    team, _, people = team_roles
    m = Membership.objects.get(team=team, user=people["owner"])
    data = admin_form(root_client, membership_url(m), "membership_form")
    before = memberships(team)

    data.update(role="member")
    response = root_client.post(membership_url(m), data)

    assert response.status_code == 200
    assert form_errors(response) == {"role": ["A team needs at least one owner."]}
    assert memberships(team) == before


def test_an_admin_demoting_an_owner_is_refused_with_the_rule(client, team_roles):
    team, _, people = team_roles
    staff(client, "staff-admin@acme.test", team=team, role="admin")
    m = Membership.objects.get(team=team, user=people["owner"])
    data = admin_form(client, membership_url(m), "membership_form")
    before = memberships(team)

    data.update(role="member")
    response = client.post(membership_url(m), data)

    assert form_errors(response) == {"role": ["Only an owner can make or unmake an admin or an owner."]}
    assert memberships(team) == before


def test_deleting_a_membership_is_membership_remove(root_client, team_roles):
    team, _, people = team_roles
    m = Membership.objects.get(team=team, user=people["viewer"])

    response = root_client.post(reverse("admin:accounts_membership_delete", args=[m.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert "viewer@acme.test" not in dict(memberships(team))


def test_deleting_the_last_owner_comes_back_with_the_rule(root_client, team_roles):
    team, _, people = team_roles
    m = Membership.objects.get(team=team, user=people["owner"])
    before = memberships(team)

    response = root_client.post(reverse("admin:accounts_membership_delete", args=[m.pk]), {"post": "yes"}, follow=True)

    assert response.redirect_chain == [(membership_url(m), 302)]
    assert messages_of(response) == [("error", "A team needs at least one owner.")]
    assert memberships(team) == before


def test_delete_selected_memberships_confirms_then_removes_each_through_the_service(root_client, team_roles):
    team, _, people = team_roles
    chosen = list(Membership.objects.filter(team=team, user__in=[people["viewer"], people["owner"]]))
    url = reverse("admin:accounts_membership_changelist")
    selected = {"action": "delete_selected", "_selected_action": [m.pk for m in chosen], "index": 0}
    page = root_client.post(url, selected)
    assert "Are you sure" in page.content.decode()

    response = root_client.post(url, {**selected, "post": "yes"}, follow=True)

    assert sorted(messages_of(response)) == [
        ("error", f"“{people['owner']} in Acme (owner)”: A team needs at least one owner."),
        ("success", "Removed 1 membership(s)."),
    ]
    assert memberships(team) == [
        ("admin@acme.test", "admin"),
        ("member@acme.test", "member"),
        ("owner@acme.test", "owner"),
    ]


def test_other_teams_memberships_are_hidden_from_other_staff(client, team_roles):
    team, other, people = team_roles
    staff(client, "elsewhere@other.test", team=other, role="owner")
    m = Membership.objects.get(team=team, user=people["member"])
    assert client.get(membership_url(m)).status_code == 302
    assert "member@acme.test" not in client.get(reverse("admin:accounts_membership_changelist")).content.decode()


# --- TeamAdmin and its membership inline -----------------------------------------------------------------


def team_url(team):
    return reverse("admin:accounts_team_change", args=[team.pk])


def test_the_team_add_form_asks_for_an_owner_and_is_team_create(root_client):
    owner = UserFactory(email="founder@example.test")
    url = reverse("admin:accounts_team_add")
    page = root_client.get(url).content.decode()
    assert 'name="owner"' in page
    data = admin_form(root_client, url, "team_form")
    data.update(name="Design Studio", slug="", time_zone="Pacific/Kiritimati", owner=str(owner.pk))

    assert root_client.post(url, data).status_code == 302

    team = Team.objects.get(name="Design Studio")
    assert (team.slug, team.time_zone) == ("design-studio", "Pacific/Kiritimati")
    assert memberships(team) == [("founder@example.test", "owner")]


def test_the_team_add_form_refuses_a_bad_time_zone_and_a_missing_owner_by_field(root_client):
    url = reverse("admin:accounts_team_add")
    data = admin_form(root_client, url, "team_form")
    data.update(name="Mars", time_zone="Mars/Olympus")

    response = root_client.post(url, data)

    assert response.status_code == 200
    assert form_errors(response) == {
        "time_zone": ["Mars/Olympus is not a known time zone."],
        "owner": ["This field is required."],
    }
    assert Team.objects.filter(name="Mars").count() == 0


def test_the_team_add_form_refuses_a_slug_taken(root_client, team_roles):
    team, _, _ = team_roles
    owner = UserFactory(email="founder@example.test")
    url = reverse("admin:accounts_team_add")
    data = admin_form(root_client, url, "team_form")
    data.update(name="Copy", slug=team.slug, owner=str(owner.pk))

    response = root_client.post(url, data)

    assert response.status_code == 200
    assert form_errors(response) == {"slug": ["Team with this Slug already exists."]}
    assert Team.objects.filter(name="Copy").count() == 0


def test_the_team_add_form_adds_its_inline_members_through_membership_add(root_client):
    owner, helper = UserFactory(email="founder@example.test"), UserFactory(email="helper@example.test")
    url = reverse("admin:accounts_team_add")
    data = admin_form(root_client, url, "team_form")
    data.update(
        {
            "name": "Crew",
            "owner": str(owner.pk),
            "memberships-TOTAL_FORMS": "1",
            "memberships-0-user": str(helper.pk),
            "memberships-0-role": "member",
        }
    )
    assert root_client.post(url, data).status_code == 302
    assert memberships(Team.objects.get(name="Crew")) == [
        ("founder@example.test", "owner"),
        ("helper@example.test", "member"),
    ]


def test_the_team_change_form_is_team_update_with_its_inline_rows_through_the_services(root_client, team_roles):
    team, _, people = team_roles
    slug = team.slug
    newcomer = UserFactory(email="new@acme.test")
    data = admin_form(root_client, team_url(team), "team_form")
    rows = {data[f"memberships-{i}-user"]: i for i in range(int(data["memberships-TOTAL_FORMS"]))}
    member_row, viewer_row = rows[str(people["member"].pk)], rows[str(people["viewer"].pk)]
    n = int(data["memberships-TOTAL_FORMS"])

    data.update(
        {
            "name": "Acme Corp",
            "time_zone": "Pacific/Pago_Pago",
            f"memberships-{member_row}-role": "admin",
            f"memberships-{viewer_row}-DELETE": "on",
            "memberships-TOTAL_FORMS": str(n + 1),
            f"memberships-{n}-id": "",
            f"memberships-{n}-team": str(team.pk),
            f"memberships-{n}-user": str(newcomer.pk),
            f"memberships-{n}-role": "viewer",
        }
    )
    assert root_client.post(team_url(team), data).status_code == 302

    team.refresh_from_db()
    assert (team.name, team.slug, team.time_zone) == ("Acme Corp", slug, "Pacific/Pago_Pago")
    assert memberships(team) == [
        ("admin@acme.test", "admin"),
        ("member@acme.test", "admin"),
        ("new@acme.test", "viewer"),
        ("owner@acme.test", "owner"),
    ]


def test_an_inline_row_the_rules_refuse_is_shown_on_that_row_and_nothing_is_written(root_client, team_roles):
    team, _, people = team_roles
    data = admin_form(root_client, team_url(team), "team_form")
    rows = {data[f"memberships-{i}-user"]: i for i in range(int(data["memberships-TOTAL_FORMS"]))}
    owner_row, member_row = rows[str(people["owner"].pk)], rows[str(people["member"].pk)]
    before = (memberships(team), Team.objects.filter(pk=team.pk).values().get())

    data.update(
        {"name": "Renamed", f"memberships-{member_row}-role": "viewer", f"memberships-{owner_row}-role": "member"}
    )
    response = root_client.post(team_url(team), data)

    assert response.status_code == 200
    errors = inline_errors(response)
    assert errors[owner_row] == {"role": ["A team needs at least one owner."]}
    assert [e for i, e in enumerate(errors) if i != owner_row] == [{}] * (len(errors) - 1)
    assert (memberships(team), Team.objects.filter(pk=team.pk).values().get()) == before


def test_moving_an_inline_membership_to_another_person_is_refused_on_its_row(root_client, team_roles):
    team, _, people = team_roles
    data = admin_form(root_client, team_url(team), "team_form")
    rows = {data[f"memberships-{i}-user"]: i for i in range(int(data["memberships-TOTAL_FORMS"]))}
    row = rows[str(people["member"].pk)]
    before = memberships(team)

    data[f"memberships-{row}-user"] = str(UserFactory(email="someone@else.test").pk)
    response = root_client.post(team_url(team), data)

    assert inline_errors(response)[row] == {
        "user": ["A membership cannot be moved to another person or team: remove it and add a new one."]
    }
    assert memberships(team) == before


def test_renaming_a_team_needs_its_owner(client, team_roles):
    team, _, _ = team_roles
    staff(client, "staff-admin@acme.test", team=team, role="admin")
    data = admin_form(client, team_url(team), "team_form")

    data.update(name="Hijacked")
    response = client.post(team_url(team), data)

    assert form_errors(response) == {"__all__": ["Your role in this team does not allow this (own)."]}
    assert Team.objects.get(pk=team.pk).name == "Acme"


def test_a_team_cannot_be_deleted_in_admin(root_client, team_roles):
    team, _, _ = team_roles
    assert root_client.post(reverse("admin:accounts_team_delete", args=[team.pk]), {"post": "yes"}).status_code == 403
    assert Team.objects.filter(pk=team.pk).exists()


# --- UserAdmin: user_create and the membership inline ----------------------------------------------------


def test_the_user_add_form_is_user_create_and_refuses_an_address_taken_in_any_case(root_client, team_roles):
    url = reverse("admin:accounts_user_add")
    data = admin_form(root_client, url, "user_form")
    data.update(
        email="New.Person@Example.TEST", full_name="New Person", password1="a-long-pw-123!", password2="a-long-pw-123!"
    )

    assert root_client.post(url, data).status_code == 302
    user = User.objects.get(email="new.person@example.test")
    assert (user.full_name, user.check_password("a-long-pw-123!")) == ("New Person", True)

    data.update(email="MEMBER@acme.test")
    response = root_client.post(url, data)
    assert response.status_code == 200
    assert "email" in form_errors(response)
    assert User.objects.filter(email="member@acme.test").count() == 1


def test_the_user_page_membership_inline_goes_through_the_services(root_client, team_roles):
    _, other, people = team_roles
    user = people["member"]
    url = reverse("admin:accounts_user_change", args=[user.pk])
    data = admin_form(root_client, url, "user_form")
    assert data["memberships-TOTAL_FORMS"] == "1"

    data.update(
        {
            "memberships-0-role": "viewer",
            "memberships-TOTAL_FORMS": "2",
            "memberships-1-id": "",
            "memberships-1-user": str(user.pk),
            "memberships-1-team": str(other.pk),
            "memberships-1-role": "member",
        }
    )
    assert root_client.post(url, data).status_code == 302
    assert sorted(Membership.objects.filter(user=user).values_list("team__name", "role")) == [
        ("Acme", "viewer"),
        ("Other", "member"),
    ]


def test_deleting_the_last_owner_s_inline_row_is_refused_at_the_top_and_nothing_is_written(root_client, team_roles):
    team, _, people = team_roles
    data = admin_form(root_client, team_url(team), "team_form")
    rows = {data[f"memberships-{i}-user"]: i for i in range(int(data["memberships-TOTAL_FORMS"]))}
    before = (memberships(team), Team.objects.filter(pk=team.pk).values().get())

    data.update({"name": "Renamed", f"memberships-{rows[str(people['owner'].pk)]}-DELETE": "on"})
    response = root_client.post(team_url(team), data)

    assert response.status_code == 200
    assert form_errors(response) == {"__all__": [f"{people['owner']}: A team needs at least one owner."]}
    assert (memberships(team), Team.objects.filter(pk=team.pk).values().get()) == before
