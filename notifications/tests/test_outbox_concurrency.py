"""Several workers delivering at once, each with its own database connection: no row is sent twice."""

from collections import Counter

import pytest
from django.utils import timezone

from aether.testing import run_concurrently
from notifications import delivery
from notifications.models import Kind, OutboxEmail, OutboxState
from notifications.tests.backends import CountingBackend


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode", ["sweep", "ids"])
def test_concurrent_workers_never_send_a_row_twice(settings, mode):
    settings.EMAIL_BACKEND = "notifications.tests.backends.CountingBackend"
    CountingBackend.reset()
    CountingBackend.delay = 0.0005  # long enough for the workers' batches to overlap
    n_rows, n_workers = 600, 6
    OutboxEmail.objects.bulk_create(
        OutboxEmail(
            recipient=f"p{i}@example.test",
            subject="s",
            body_text="b",
            kind=Kind.TASK_ASSIGNED,
            dedupe_key=f"c:{i}",
            next_attempt_at=timezone.now(),
        )
        for i in range(n_rows)
    )
    ids = list(OutboxEmail.objects.values_list("pk", flat=True))
    # "ids": every worker is handed every id, as if each transaction's message reached all of them.
    reports, errors = run_concurrently(
        lambda _: delivery.outbox_deliver(ids=ids if mode == "ids" else None), n_workers, timeout=30
    )

    assert errors == []
    sends = Counter(m.to[0] for m in CountingBackend.sent)
    assert len(sends) == n_rows
    assert set(sends.values()) == {1}
    assert sum(r.sent for r in reports) == n_rows
    assert sum(1 for r in reports if r.sent) >= 2  # the work really was shared
    assert OutboxEmail.objects.filter(status=OutboxState.SENT).count() == n_rows
    CountingBackend.reset()
