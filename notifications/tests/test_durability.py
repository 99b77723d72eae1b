"""Which commits wait for the disk (PostgreSQL's synchronous_commit), asked of the server mid-transaction.

The overdue and due-soon jobs commit their one large transaction without waiting for the WAL flush
(tasks/sql.py, commit_without_flush), which is safe only because an outbox row cannot be sent before that
commit is on disk: the delivery worker's claim, the step before any send, commits synchronously even though
the worker's session has synchronous_commit off for its per-row "sent" marks. These tests catch the setting
being dropped on either side.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.tests.factories import MembershipFactory
from notifications import delivery
from notifications.models import OutboxEmail
from tasks.services.deadline_notices import overdue_notify
from tasks.tests.factories import TaskFactory

pytestmark = pytest.mark.django_db


@contextmanager
def setting_seen_at(pattern: str):
    """Record synchronous_commit as the server has it when a statement matching `pattern` runs."""
    seen: list[str] = []
    wanted = re.compile(pattern, re.I | re.S)

    def wrapper(execute, sql, params, many, context):
        if wanted.search(sql):
            with context["connection"].cursor() as cursor:
                cursor.execute("SHOW synchronous_commit")
                seen.append(cursor.fetchone()[0])
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield seen


def test_the_overdue_job_commits_without_waiting_for_the_disk():
    membership = MembershipFactory()
    TaskFactory(
        project__team=membership.team, assignee=membership.user, due_date=timezone.localdate() - timedelta(days=3)
    )
    with setting_seen_at(r"^\s*INSERT INTO .*deadlinenotice") as seen:
        run = overdue_notify()
    assert run.claimed == 1
    assert seen == ["off"]


def test_the_delivery_claim_waits_for_the_disk_though_the_worker_session_does_not():
    OutboxEmail.objects.create(
        recipient="a@example.test", subject="s", kind="task_assigned", dedupe_key="d1", next_attempt_at=timezone.now()
    )
    delivery._commit_without_waiting_for_disk(True)  # as outbox_deliver sets it for the whole sweep
    try:
        with setting_seen_at(r"FOR UPDATE") as seen:
            claimed = delivery.outbox_claim()
    finally:
        delivery._commit_without_waiting_for_disk(False)
    assert [row.dedupe_key for row in claimed] == ["d1"]
    assert seen == ["on"]
