"""Creating users, teams and memberships that race another with the same key answers a field error, never an
IntegrityError (PostgreSQL, real connections released together by aether.testing.run_concurrently)."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts import services
from accounts.models import Invitation, Membership, Role, Team, User
from accounts.tests.factories import TeamFactory, UserFactory, token_of
from aether.testing import run_concurrently

pytestmark = pytest.mark.django_db(transaction=True)

N = 6


def field_errors(errors):
    """The (field, messages) of each error, asserting that every one is a ValidationError."""
    assert all(isinstance(e, ValidationError) for e in errors), errors
    return [sorted(e.message_dict.items()) for e in errors]


def test_users_created_at_once_with_one_address_make_one_user(db):
    results, errors = run_concurrently(
        lambda i: services.user_create(email=f"Same@Example.test{' ' * i}", password="a-long-password-1"), N
    )
    assert len(results) == 1
    assert field_errors(errors) == [[("email", ["A user with this email address already exists."])]] * (N - 1)
    assert list(User.objects.values_list("email", flat=True)) == ["same@example.test"]


def test_teams_of_one_name_created_at_once_each_get_their_own_slug(db):
    owners = [UserFactory(email=f"owner{i}@example.test") for i in range(N)]
    results, errors = run_concurrently(lambda i: services.team_create(owner=owners[i], name="Design Team"), N)
    assert errors == []
    assert sorted(Team.objects.values_list("slug", flat=True)) == sorted(
        ["design-team"] + [f"design-team-{n}" for n in range(2, N + 1)]
    )
    # Each team has exactly its creator as owner.
    assert sorted(Membership.objects.values_list("team__pk", "user__email", "role")) == sorted(
        (t.pk, owners[[o.pk for o in owners].index(m.user_id)].email, Role.OWNER)
        for t in results
        for m in t.memberships.all()
    )
    assert Membership.objects.count() == N


def test_teams_asking_for_one_slug_at_once_make_one_team_and_slug_errors(db):
    owners = [UserFactory(email=f"owner{i}@example.test") for i in range(N)]
    results, errors = run_concurrently(
        lambda i: services.team_create(owner=owners[i], name=f"Team {i}", slug="the-slug"), N
    )
    assert len(results) == 1
    assert field_errors(errors) == [[("slug", ["A team with this slug already exists."])]] * (N - 1)
    assert list(Team.objects.values_list("slug", flat=True)) == ["the-slug"]
    assert Membership.objects.count() == 1  # the losers' owner memberships were rolled back with them


def test_one_person_added_to_a_team_at_once_is_one_membership(team_roles):
    team, _, people = team_roles
    newcomer = UserFactory(email="new@acme.test")
    results, errors = run_concurrently(
        lambda i: services.membership_add(actor=people["owner"], team=team, user=newcomer, role=Role.MEMBER), N
    )
    assert len(results) == 1
    assert field_errors(errors) == [[("user", ["This person is already a member of the team."])]] * (N - 1)
    assert Membership.objects.filter(team=team, user=newcomer).count() == 1


def test_two_invitations_to_one_address_accepted_at_once_make_one_account(db):
    teams = [TeamFactory(name="A", slug="a"), TeamFactory(name="B", slug="b")]
    inviter = UserFactory(email="boss@example.test")
    invitations = [
        Invitation.objects.create(
            team=t, email="new@example.test", role=Role.MEMBER, invited_by=inviter,
            expires_at=timezone.now() + timedelta(days=1),
        )
        for t in teams
    ]  # fmt: skip

    tokens = [token_of(i) for i in invitations]
    results, errors = run_concurrently(
        lambda i: services.invitation_accept(token=tokens[i], password="a-long-password-1"), 2
    )

    assert len(results) == 1
    assert field_errors(errors) == [[("email", ["An account with this address exists: sign in to accept."])]]
    (user, membership) = results[0]
    assert User.objects.filter(email="new@example.test").count() == 1
    assert list(Membership.objects.filter(user=user).values_list("team__slug", flat=True)) == [membership.team.slug]
    # The loser's invitation is still open: the invitee signs in and accepts it.
    assert Invitation.objects.filter(accepted_at__isnull=True).count() == 1
