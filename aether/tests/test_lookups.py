"""`field__any` (aether/lookups.py) selects exactly what `field__in` selects, on plain fields and relations,
with NULLs, empty lists and subqueries; the values travel as one array parameter."""

from __future__ import annotations

import pytest
from django.db import connection

from accounts.models import Membership
from accounts.tests.factories import MembershipFactory
from tasks.models import Task
from tasks.tests.factories import TaskFactory

pytestmark = pytest.mark.django_db


def ids(qs):
    return sorted(qs.values_list("pk", flat=True))


def test_any_selects_what_in_selects():
    tasks = [TaskFactory(title=f"T{i}") for i in range(5)]
    members = [MembershipFactory() for _ in range(3)]
    wanted = [tasks[0].pk, tasks[3].pk, 10**9]
    cases = [
        (Task.objects, "pk", wanted),
        (Task.objects, "title", ["T1", "T4", "nope"]),
        (Task.objects, "pk", [None, tasks[2].pk]),
        (Task.objects, "pk", []),
        (Membership.objects, "user_id", [members[0].user_id, members[2].user_id]),
        (Membership.objects, "user", [members[1].user_id]),
        (Task.objects, "pk", Task.objects.filter(title__in=["T0", "T2"]).values("pk")),
    ]
    for manager, field, values in cases:
        expected = ids(manager.filter(**{f"{field}__in": values}))
        assert ids(manager.filter(**{f"{field}__any": values})) == expected, (field, values)
    assert ids(Task.objects.exclude(pk__any=wanted)) == ids(Task.objects.exclude(pk__in=wanted))


def test_the_values_are_one_array_parameter():
    sent = []

    def wrapper(execute, sql, params, many, context):
        sent.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        list(Task.objects.filter(pk__any=list(range(1, 2001))))
    sql, params = sent[-1]
    assert '"tasks_task"."id" = ANY(%s)' in sql
    assert len(params) == 1
    assert list(params[0]) == list(range(1, 2001))
