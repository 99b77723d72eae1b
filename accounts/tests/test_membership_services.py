import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts import services
from accounts.models import Membership, Role, Team, User
from accounts.permissions import Action, can

pytestmark = pytest.mark.django_db


def role_of(team, user):
    return Membership.objects.get(team=team, user=user).role


def fresh(user):
    """The same user without the per-request role cache."""
    return User.objects.get(pk=user.pk)


def test_user_create_normalises_the_email_and_refuses_a_duplicate_in_any_case():
    user = services.user_create(email="  Zoe@Example.TEST ", password="a-long-password-1", full_name=" Zoe ")
    assert (user.email, user.full_name) == ("zoe@example.test", "Zoe")
    assert user.check_password("a-long-password-1")

    with pytest.raises(ValidationError) as err:
        services.user_create(email="ZOE@example.test", password="another-password")
    assert "email" in err.value.message_dict
    assert User.objects.count() == 1


def test_user_create_refuses_an_invalid_email():
    with pytest.raises(ValidationError) as err:
        services.user_create(email="not-an-email", password="a-long-password-1")
    assert "email" in err.value.message_dict
    assert User.objects.count() == 0


def test_team_create_makes_the_creator_owner_with_a_unique_slug():
    user = services.user_create(email="o@example.test", password="a-long-password-1")
    first = services.team_create(owner=user, name="Design Team")
    second = services.team_create(owner=user, name="Design team")
    assert (first.slug, second.slug) == ("design-team", "design-team-2")
    assert role_of(first, user) == Role.OWNER


def test_team_create_refuses_an_unknown_time_zone():
    user = services.user_create(email="o@example.test", password="a-long-password-1")
    with pytest.raises(ValidationError) as err:
        services.team_create(owner=user, name="Mars", time_zone="Mars/Olympus")
    assert "time_zone" in err.value.message_dict
    assert Team.objects.count() == 0


@pytest.mark.parametrize(
    ("actor", "target", "role", "refusal"),
    [
        ("admin", "member", "viewer", None),
        ("admin", "viewer", "member", None),
        ("admin", "member", "admin", ValidationError),  # only owners make admins: a refusal on `role`
        ("admin", "owner", "member", ValidationError),
        ("owner", "member", "admin", None),
        ("owner", "admin", "member", None),
        ("member", "viewer", "member", PermissionDenied),  # below admin: not allowed at all
        ("viewer", "member", "viewer", PermissionDenied),
    ],
)
def test_who_may_change_which_role(team_roles, actor, target, role, refusal):
    team, _, people = team_roles
    before = role_of(team, people[target])
    if refusal is None:
        services.membership_set_role(actor=people[actor], team=team, user=people[target], role=role)
        assert role_of(team, people[target]) == role
    else:
        with pytest.raises(refusal) as err:
            services.membership_set_role(actor=people[actor], team=team, user=people[target], role=role)
        if refusal is ValidationError:
            assert err.value.message_dict == {"role": ["Only an owner can make or unmake an admin or an owner."]}
        assert role_of(team, people[target]) == before


def test_the_last_owner_cannot_step_down(team_roles):
    team, _, people = team_roles
    with pytest.raises(ValidationError) as err:
        services.membership_set_role(actor=people["owner"], team=team, user=people["owner"], role="admin")
    assert "role" in err.value.message_dict
    assert role_of(team, people["owner"]) == Role.OWNER


def test_unknown_role_is_refused(team_roles):
    team, _, people = team_roles
    with pytest.raises(ValidationError) as err:
        services.membership_set_role(actor=people["owner"], team=team, user=people["member"], role="god")
    assert "role" in err.value.message_dict


def test_removing_members(team_roles):
    team, _, people = team_roles
    services.membership_remove(actor=people["admin"], team=team, user=people["viewer"])
    assert not Membership.objects.filter(team=team, user=people["viewer"]).exists()

    with pytest.raises(ValidationError):
        services.membership_remove(actor=people["admin"], team=team, user=people["owner"])
    with pytest.raises(ValidationError):
        services.membership_remove(actor=people["owner"], team=team, user=people["owner"])
    assert role_of(team, people["owner"]) == Role.OWNER


def test_permissions_follow_the_role_ranking(team_roles):
    team, _, people = team_roles
    table = {
        name: [can(fresh(people[name]), action, team.pk) for action in Action]
        for name in ("owner", "admin", "member", "viewer", "outsider")
    }
    assert table == {
        "owner": [True, True, True, True],
        "admin": [True, True, True, False],
        "member": [True, True, False, False],
        "viewer": [True, False, False, False],
        "outsider": [False, False, False, False],
    }


def test_an_inactive_user_may_do_nothing(team_roles):
    team, _, people = team_roles
    owner = fresh(people["owner"])
    owner.is_active = False
    assert not can(owner, Action.VIEW, team.pk)


def test_an_anonymous_visitor_sees_no_team():
    from django.contrib.auth.models import AnonymousUser

    from tasks.selectors import projects_visible_to, tasks_visible_to

    assert list(tasks_visible_to(AnonymousUser())) == []
    assert list(projects_visible_to(AnonymousUser())) == []
