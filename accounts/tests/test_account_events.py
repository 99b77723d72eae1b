"""The account audit trail: one row for each kind of account change, written in the change's transaction (none
for a refused or rolled-back change), with who, when and from which address; shown to a team's owners and
admins on the team page, filterable and exportable as CSV; read-only in admin."""

import csv
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP

from accounts import services
from accounts.audit import _address
from accounts.models import AccountEvent, AccountEventKind, User
from accounts.signin import record_failure
from accounts.tests.factories import UserFactory, sign_in_to_admin

pytestmark = pytest.mark.django_db
K = AccountEventKind


@pytest.fixture
def address():
    token = _address.set("203.0.113.9")
    yield "203.0.113.9"
    _address.reset(token)


@pytest.fixture
def root(db):
    return UserFactory(email="root@example.test", is_staff=True, is_superuser=True)


def events():
    return list(AccountEvent.objects.order_by("pk").values_list("kind", "actor__email", "subject__email", "email"))


def the_one(kind):
    (event,) = AccountEvent.objects.filter(kind=kind)
    return event


def code_of(device):
    return f"{TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token():06d}"


CASES = {
    K.MEMBER_ADDED: lambda t, p, r: services.membership_add(
        actor=p["owner"], team=t, user=UserFactory(email="new@acme.test"), role="member"
    ),
    K.MEMBER_REMOVED: lambda t, p, r: services.membership_remove(actor=p["owner"], team=t, user=p["viewer"]),
    K.ROLE_CHANGED: lambda t, p, r: services.membership_set_role(
        actor=p["owner"], team=t, user=p["viewer"], role="member"
    ),
    K.INVITATION_SENT: lambda t, p, r: services.invitation_create(actor=p["admin"], team=t, email="x@acme.test"),
    K.INVITATION_REVOKED: lambda t, p, r: services.invitation_revoke(
        actor=p["admin"], invitation=services.invitation_create(actor=p["admin"], team=t, email="y@acme.test")
    ),
    K.TEAM_RENAMED: lambda t, p, r: services.team_update(actor=p["owner"], team=t, data={"name": "Acme 2"}),
    K.TEAM_TIME_ZONE_CHANGED: lambda t, p, r: services.team_update(
        actor=p["owner"], team=t, data={"time_zone": "Europe/Paris"}
    ),
    K.USER_DEACTIVATED: lambda t, p, r: services.user_deactivate(actor=r, user=p["member"]),
    K.PASSWORD_CHANGED: lambda t, p, r: services.password_set(
        actor=p["member"], user=p["member"], password="N3w-pass-Word"
    ),
    K.PASSWORD_RESET: lambda t, p, r: services.password_set(
        actor=p["member"], user=p["member"], password="N3w-pass-Word", by_reset=True
    ),
}


@pytest.mark.parametrize("kind", sorted(CASES), ids=str)
def test_each_change_writes_its_event_with_who_and_where(team_roles, root, address, kind):
    team, _, people = team_roles
    CASES[kind](team, people, root)
    event = AccountEvent.objects.filter(kind=kind).latest("pk")
    assert event.address == address
    assert event.actor is not None
    assert event.created_at is not None


def test_a_role_change_keeps_the_old_and_new_role(team_roles):
    team, _, people = team_roles
    services.membership_set_role(actor=people["owner"], team=team, user=people["viewer"], role="member")
    event = the_one(K.ROLE_CHANGED)
    assert (event.team, event.subject, event.data) == (team, people["viewer"], {"old": "viewer", "new": "member"})


def test_accepting_an_invitation_and_reactivating(team_roles, root):
    team, _, people = team_roles
    invitation = services.invitation_create(actor=people["owner"], team=team, email="joiner@acme.test")
    from accounts.links import invitation_token

    services.invitation_accept(token=invitation_token(invitation), password="A-long-pass-1", full_name="Joiner")
    services.user_deactivate(actor=root, user=people["viewer"])
    services.user_reactivate(actor=root, user=people["viewer"])
    assert events()[-3:] == [
        (K.INVITATION_ACCEPTED, "joiner@acme.test", "joiner@acme.test", "joiner@acme.test"),
        (K.USER_DEACTIVATED, "root@example.test", "viewer@acme.test", ""),
        (K.USER_REACTIVATED, "root@example.test", "viewer@acme.test", ""),
    ]


def test_a_paused_sign_in_is_recorded_once_for_an_existing_account(team_roles, settings):
    for _ in range(settings.AETHER_SIGNIN_PAIR_LIMIT + 2):
        record_failure("member@acme.test", "198.51.100.7")
        record_failure("nobody@acme.test", "198.51.100.7")
    event = the_one(K.SIGNIN_PAUSED)
    assert (event.subject.email, event.actor, event.data["scope"]) == ("member@acme.test", None, "address")


def test_setting_up_and_removing_a_second_factor(team_roles):
    member = team_roles[2]["member"]
    device = services.second_factor_begin(actor=member)
    services.second_factor_confirm(actor=member, device_id=device.pk, code=code_of(device))
    device.refresh_from_db()
    device.last_t = -1  # the same 30 s step may not be used twice; the test does not wait for the next
    device.save()
    services.second_factor_remove(actor=member, password="pw-for-tests-1", code=code_of(device))
    assert [e[0] for e in events()] == [K.SECOND_FACTOR_ENROLLED, K.SECOND_FACTOR_REMOVED]


@pytest.mark.parametrize(
    "refused",
    [
        lambda t, p: services.membership_set_role(actor=p["admin"], team=t, user=p["owner"], role="member"),
        lambda t, p: services.membership_remove(actor=p["member"], team=t, user=p["viewer"]),
        lambda t, p: services.invitation_create(actor=p["admin"], team=t, email="z@acme.test", role="owner"),
        lambda t, p: services.team_update(actor=p["admin"], team=t, data={"name": "Taken"}),
        lambda t, p: services.password_set(actor=p["member"], user=p["member"], password="short"),
    ],
)
def test_a_refused_change_writes_no_event(team_roles, refused):
    team, _, people = team_roles
    with pytest.raises((ValidationError, PermissionDenied)):
        refused(team, people)
    assert events() == []


def test_a_rolled_back_change_leaves_no_event(team_roles):
    team, _, people = team_roles
    seen = []

    def change_then_fail():
        with transaction.atomic():
            services.membership_set_role(actor=people["owner"], team=team, user=people["viewer"], role="member")
            seen.extend(events())
            raise RuntimeError("the caller's transaction fails after the change")

    with pytest.raises(RuntimeError):
        change_then_fail()
    assert seen != []
    assert events() == []


# --- the team page ---------------------------------------------------------------------------------------


@pytest.fixture
def trail(team_roles, address):
    team, other, people = team_roles
    services.membership_set_role(actor=people["owner"], team=team, user=people["viewer"], role="member")
    services.invitation_create(actor=people["admin"], team=team, email="=cmd@acme.test")
    services.password_set(actor=people["member"], user=people["member"], password="N3w-pass-Word")
    services.team_update(actor=people["outsider"], team=other, data={"name": "Elsewhere"})  # another team's
    return team, people


def test_owners_and_admins_read_the_trail_members_do_not(trail):
    team, people = trail
    url = reverse("accounts:team_audit", args=[team.pk])
    for role, status in (("owner", 200), ("admin", 200), ("member", 403), ("viewer", 403)):
        client = Client()
        client.force_login(User.objects.get(pk=people[role].pk))  # the member's password changed above
        assert client.get(url).status_code == status, role
    outsider = Client()
    outsider.force_login(people["outsider"])
    assert outsider.get(url).status_code == 404


def test_the_trail_lists_the_team_and_its_members_accounts_and_filters(trail):
    team, people = trail
    client = Client()
    client.force_login(people["admin"])
    url = reverse("accounts:team_audit", args=[team.pk])
    listed = [e.kind for e in client.get(url).context["page"]]
    assert listed == [K.PASSWORD_CHANGED, K.INVITATION_SENT, K.ROLE_CHANGED]
    assert [e.kind for e in client.get(url, {"kind": "role_changed"}).context["page"]] == [K.ROLE_CHANGED]
    assert [e.kind for e in client.get(url, {"person": people["member"].pk}).context["page"]] == [K.PASSWORD_CHANGED]
    assert client.get(url, {"since": "2999-01-01"}).context["page"].object_list == []
    bad = client.get(url, {"since": "yesterday", "kind": "stolen"})
    assert bad.status_code == 400
    assert set(bad.context["form"].errors) == {"since", "kind"}
    assert "Account changes" in client.get(reverse("accounts:team_detail", args=[team.pk])).content.decode()


def test_the_trail_exports_as_csv_safe_for_spreadsheets(trail):
    team, people = trail
    client = Client()
    client.force_login(people["owner"])
    response = client.get(reverse("accounts:team_audit", args=[team.pk]), {"format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["time (UTC)", "what", "by", "about", "email", "details", "address"]
    assert [r[1] for r in rows[1:]] == ["Password changed", "Invitation sent", "Role changed"]
    assert rows[2][4] == "'=cmd@acme.test"  # a formula is written as text
    assert rows[1][6] == "203.0.113.9"


def test_the_trail_is_read_only_in_admin_for_everyone(client, trail, root):
    sign_in_to_admin(client, root)
    event = AccountEvent.objects.first()
    assert client.get(reverse("admin:accounts_accountevent_changelist")).status_code == 200
    assert client.get(reverse("admin:accounts_accountevent_add")).status_code == 403
    assert (
        client.post(reverse("admin:accounts_accountevent_delete", args=[event.pk]), {"post": "yes"}).status_code == 403
    )
    assert AccountEvent.objects.filter(pk=event.pk).exists()


def test_the_client_address_comes_from_the_request(client, team_roles):
    team, _, people = team_roles
    client.force_login(people["owner"])
    client.post(
        reverse("accounts:membership_role", args=[team.pk, people["viewer"].pk]),
        {"role": "member"},
        REMOTE_ADDR="192.0.2.44",
    )
    assert the_one(K.ROLE_CHANGED).address == "192.0.2.44"
