"""Removals racing on real PostgreSQL connections never leave a team without an owner."""

import threading
import time

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from accounts import services
from accounts.hooks import member_leaving_register, member_leaving_unregister
from accounts.models import Membership, Role
from accounts.tests.factories import MembershipFactory, TeamFactory
from aether.testing import run_concurrently


@pytest.fixture(autouse=True)
def slow_leaving():
    """Widen the race: each removal dwells after counting the owners and before deleting the membership, so
    that without the lock both would count two owners and both delete."""

    def dwell(**kwargs):
        time.sleep(0.5)

    member_leaving_register(dwell)
    yield
    member_leaving_unregister(dwell)


@pytest.mark.django_db(transaction=True)
def test_two_owners_removing_each_other_at_once_leave_one_owner():
    team = TeamFactory()
    a, b = (MembershipFactory(team=team, role=Role.OWNER).user for _ in range(2))
    pairs = [(a, b), (b, a)]
    connected = threading.Barrier(2)

    def remove(i):
        actor, user = pairs[i]
        connection.ensure_connection()  # a new connection can take longer than the whole removal
        connected.wait(timeout=30)
        services.membership_remove(actor=actor, team=team, user=user)
        return user.pk

    for _ in range(3):  # the race has two orders; a few rounds make both likely
        results, errors = run_concurrently(remove, 2)

        assert len(results) == 1, errors
        (error,) = errors
        assert isinstance(error, ValidationError | PermissionDenied)  # refused: the last owner, or no longer one
        (owner,) = Membership.objects.filter(team=team)
        assert owner.role == Role.OWNER
        assert owner.user_id != results[0]
        gone = b if owner.user_id == a.pk else a
        MembershipFactory(team=team, user=gone, role=Role.OWNER)  # back for the next round
        for user in (a, b):
            user.__dict__.pop("_aether_roles", None)


@pytest.mark.django_db(transaction=True)
def test_owners_removed_at_once_by_a_third_leave_that_one():
    team = TeamFactory()
    boss, a, b = (MembershipFactory(team=team, role=Role.OWNER).user for _ in range(3))
    others = [a, b]

    results, errors = run_concurrently(lambda i: services.membership_remove(actor=boss, team=team, user=others[i]), 2)

    assert (len(results), errors) == (2, [])
    assert list(Membership.objects.filter(team=team).values_list("user_id", "role")) == [(boss.pk, Role.OWNER)]
