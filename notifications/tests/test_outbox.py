"""The outbox: rows written in the caller's transaction, once per event; delivery, retries, leases, dead rows."""

from datetime import timedelta
from smtplib import SMTPServerDisconnected

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.tests.factories import UserFactory
from notifications import delivery, services
from notifications.models import Kind, OutboxEmail, OutboxState
from notifications.tests.backends import CountingBackend
from tasks.tests.factories import TaskFactory

pytestmark = pytest.mark.django_db


def enqueue(n=1, **overrides):
    for i in range(n):
        services.email_enqueue(
            **{
                "kind": Kind.TASK_ASSIGNED,
                "recipient": f"person{i}@example.test",
                "dedupe_key": f"test:{i}",
                "context": {"recipient_name": "Ann", "actor_name": "Bob", "message": "Hello", "url": "/tasks/1/"},
                **overrides,
            }
        )


def make_due(**filters):
    """Stand at the rows' next attempt time without sleeping: move it into the past."""
    OutboxEmail.objects.filter(**filters).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


@pytest.fixture
def counting_backend(settings):
    settings.EMAIL_BACKEND = "notifications.tests.backends.CountingBackend"
    CountingBackend.reset()
    yield CountingBackend
    CountingBackend.reset()


# --- writing ---------------------------------------------------------------------------------------------


def test_a_change_that_rolls_back_leaves_no_email(django_capture_on_commit_callbacks):
    def change_that_fails():
        with transaction.atomic():
            enqueue()
            assert OutboxEmail.objects.count() == 1
            raise RuntimeError("the change failed")

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError):
        change_that_fails()

    assert OutboxEmail.objects.count() == 0
    assert callbacks == []  # and no worker was asked to deliver anything


def test_one_transaction_asks_for_one_delivery_of_all_its_rows(django_capture_on_commit_callbacks, monkeypatch):
    from notifications import tasks

    asked = []
    monkeypatch.setattr(tasks.deliver_outbox_emails, "apply_async", lambda args, **kw: asked.append(args[0]))

    def savepoint_that_rolls_back():
        with transaction.atomic():
            enqueue(1, dedupe_key="rolled-back", recipient="gone@example.test")
            raise RuntimeError

    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        enqueue(3)
        with pytest.raises(RuntimeError):
            savepoint_that_rolls_back()
        enqueue(1, dedupe_key="after", recipient="after@example.test")

    assert len(callbacks) == 4  # one per row kept; the first sends them all, the others find nothing left
    (ids,) = asked
    rows = set(OutboxEmail.objects.values_list("pk", flat=True))
    assert len(rows) == 4
    assert rows <= set(ids)
    assert len(set(ids) - rows) <= 1  # the rolled-back row's id may ride along; the worker finds no such row


def test_the_same_event_twice_writes_one_row_and_asks_for_one_delivery(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        first = services.email_enqueue(
            kind=Kind.TASK_ASSIGNED, recipient="ann@example.test", dedupe_key="task:1:assigned:9:3", context={}
        )
        second = services.email_enqueue(
            kind=Kind.TASK_ASSIGNED, recipient="ann@example.test", dedupe_key="task:1:assigned:9:3", context={}
        )

    assert (first, second) == (True, False)
    assert OutboxEmail.objects.count() == 1
    assert len(callbacks) == 1


def test_an_enqueued_row_is_rendered_pending_and_due_now():
    enqueue(context={"recipient_name": "Ann", "actor_name": "Bob", "message": "Bob assigned you X", "url": "/t/1/"})

    row = OutboxEmail.objects.get()
    assert row.status == OutboxState.PENDING
    assert row.attempts == 0
    assert row.subject == ""  # every email about a task is titled by the task, for one thread in every client
    assert "Hello Ann," in row.body_text
    assert "Bob assigned you X" in row.body_text
    assert "http://testserver/t/1/" in row.body_html
    assert row.next_attempt_at <= timezone.now()


def test_commit_asks_a_worker_to_deliver_exactly_the_new_rows(django_capture_on_commit_callbacks, monkeypatch):
    from notifications import tasks

    asked = []
    monkeypatch.setattr(tasks.deliver_outbox_emails, "apply_async", lambda args, **kw: asked.append(args[0]))

    with django_capture_on_commit_callbacks(execute=True):
        enqueue(2)

    assert sorted(i for ids in asked for i in ids) == sorted(OutboxEmail.objects.values_list("pk", flat=True))


def test_a_broker_that_is_down_loses_no_row(django_capture_on_commit_callbacks, monkeypatch, caplog):
    from kombu.exceptions import OperationalError

    from notifications import tasks

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to redis")

    monkeypatch.setattr(tasks.deliver_outbox_emails, "apply_async", broker_down)

    with django_capture_on_commit_callbacks(execute=True):
        enqueue()

    assert OutboxEmail.objects.get().status == OutboxState.PENDING  # committed; the sweep will send it
    assert "the outbox sweep will deliver" in caplog.text


# --- delivering ------------------------------------------------------------------------------------------


def test_delivery_sends_marks_sent_and_keeps_the_message_id(mailoutbox):
    enqueue(3)

    report = delivery.outbox_deliver()

    assert report.sent == 3
    assert sorted(m.to[0] for m in mailoutbox) == [f"person{i}@example.test" for i in range(3)]
    for row in OutboxEmail.objects.all():
        assert row.status == OutboxState.SENT
        assert row.sent_at is not None
        assert row.attempts == 1
        assert row.claimed_until is None
        sent = next(m for m in mailoutbox if m.to == [row.recipient])
        assert row.provider_message_id == sent.extra_headers["Message-ID"]


def test_delivery_of_given_ids_sends_only_those(mailoutbox):
    enqueue(3)
    first = OutboxEmail.objects.get(recipient="person0@example.test")

    delivery.outbox_deliver(ids=[first.pk])

    assert [m.to[0] for m in mailoutbox] == ["person0@example.test"]
    assert OutboxEmail.objects.filter(status=OutboxState.PENDING).count() == 2


def test_running_delivery_twice_sends_nothing_twice(mailoutbox):
    enqueue(2)
    ids = list(OutboxEmail.objects.values_list("pk", flat=True))

    delivery.outbox_deliver(ids=ids)
    delivery.outbox_deliver(ids=ids)
    delivery.outbox_deliver()

    assert len(mailoutbox) == 2


def test_the_provider_message_id_from_anymail_is_stored(settings, mailoutbox):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"  # its message ids are outbox positions
    enqueue(2)

    delivery.outbox_deliver()

    for row in OutboxEmail.objects.all():
        assert row.status == OutboxState.SENT
        (sent,) = [m for m in mailoutbox if m.to == [row.recipient]]
        assert row.provider_message_id == str(sent.anymail_status.message_id) == str(mailoutbox.index(sent))


def test_a_row_written_with_context_only_is_rendered_by_the_worker(mailoutbox):
    task = TaskFactory(title="Ship it")
    OutboxEmail.objects.create(
        recipient="ann@example.test",
        subject="",
        kind=Kind.TASK_OVERDUE,
        task=task,
        dedupe_key="task:1:overdue:2030-01-01:1",
        context={
            "recipient_name": "Ann",
            "message": "“Ship it” is overdue.",
            "url": "/tasks/1/",
            "task_title": "Ship it",
        },
        next_attempt_at=timezone.now(),
    )

    delivery.outbox_deliver()

    (sent,) = mailoutbox
    row = OutboxEmail.objects.get()
    assert row.status == OutboxState.SENT
    assert sent.subject == row.subject
    assert "Ship it" in row.subject
    assert "Hello Ann," in sent.body
    assert row.body_text == sent.body
    assert row.body_html
    assert sent.alternatives[0][0] == row.body_html


def test_a_failing_backend_retries_with_growing_delays_then_gives_up_after_five(counting_backend):
    counting_backend.fail_with = SMTPServerDisconnected("Connection unexpectedly closed")
    enqueue()
    delays = []

    for attempt in range(1, 6):
        before = timezone.now()
        delivery.outbox_deliver()
        row = OutboxEmail.objects.get()
        assert row.attempts == attempt
        if attempt < 5:
            assert row.status == OutboxState.FAILED
            delays.append((row.next_attempt_at - before).total_seconds())
            delivery.outbox_deliver()  # not yet due: nothing happens
            assert OutboxEmail.objects.get().attempts == attempt
            make_due()

    assert row.status == OutboxState.DEAD
    assert row.last_error == "SMTPServerDisconnected: Connection unexpectedly closed"
    assert delays == sorted(delays)
    assert len(set(delays)) == 4
    assert 30 <= delays[0] <= 61
    assert delays[-1] <= 60 * 60 + 1
    make_due()
    delivery.outbox_deliver()  # a dead row is never tried again
    assert OutboxEmail.objects.get().attempts == 5


def test_backoff_is_capped_and_jittered():
    many = [delivery.retry_delay(3).total_seconds() for _ in range(200)]
    assert min(many) >= 480
    assert max(many) <= 960
    assert len(set(many)) > 150
    assert all(delivery.retry_delay(n).total_seconds() <= 3600 for n in range(1, 30))


def test_a_refused_address_goes_dead_at_once(counting_backend):
    from anymail.exceptions import AnymailRecipientsRefused

    counting_backend.fail_with = AnymailRecipientsRefused("invalid address")
    enqueue()

    delivery.outbox_deliver()

    row = OutboxEmail.objects.get()
    assert (row.status, row.attempts) == (OutboxState.DEAD, 1)


def test_a_failure_does_not_stop_the_rest_of_the_batch(counting_backend, monkeypatch):
    enqueue(3)
    real_send = delivery.outbox_send

    def send_all_but_person1(row, conn):
        if row.recipient == "person1@example.test":
            raise ConnectionResetError("reset by peer")
        return real_send(row, conn)

    monkeypatch.setattr(delivery, "outbox_send", send_all_but_person1)

    report = delivery.outbox_deliver()

    assert (report.sent, report.failed) == (2, 1)
    assert OutboxEmail.objects.get(recipient="person1@example.test").status == OutboxState.FAILED


def test_a_row_held_by_a_dead_worker_is_retaken_after_its_lease(mailoutbox):
    enqueue()
    (_claimed,) = delivery.outbox_claim()  # a worker claims it ... and dies

    assert delivery.outbox_deliver().sent == 0  # another worker: the lease still holds
    assert OutboxEmail.objects.get().status == OutboxState.SENDING
    make_due()  # the lease expires

    assert delivery.outbox_deliver().sent == 1
    row = OutboxEmail.objects.get()
    assert row.status == OutboxState.SENT
    assert row.attempts == 2  # the lost worker counts as an attempt
    assert len(mailoutbox) == 1


def test_a_row_that_keeps_killing_its_workers_ends_dead(mailoutbox, settings):
    enqueue()
    for _ in range(settings.AETHER_OUTBOX_MAX_ATTEMPTS):
        assert delivery.outbox_claim()  # claimed ... and the worker dies
        make_due()

    assert delivery.outbox_claim() == []

    row = OutboxEmail.objects.get()
    assert row.status == OutboxState.DEAD
    assert "lost" in row.last_error
    assert mailoutbox == []


def test_a_worker_hands_back_rows_it_cannot_send_within_half_its_lease(counting_backend, settings):
    settings.AETHER_OUTBOX_LEASE_SECONDS = 1
    counting_backend.delay = 0.2
    enqueue(10)

    report = delivery.outbox_deliver(budget=0.1)

    assert 1 <= report.sent < 10
    assert report.released == 10 - report.sent
    assert report.more
    assert OutboxEmail.objects.filter(status=OutboxState.PENDING, claimed_until=None).count() == 10 - report.sent
    assert delivery.outbox_deliver().sent == 10 - report.sent  # due at once for the next worker


# --- the admin's operations ------------------------------------------------------------------------------


def test_send_again_queues_a_fresh_set_of_attempts(mailoutbox, django_capture_on_commit_callbacks):
    staff = UserFactory(is_staff=True)
    enqueue(2)
    delivery.outbox_deliver()
    sent, other = OutboxEmail.objects.order_by("pk")
    OutboxEmail.objects.filter(pk=other.pk).update(status=OutboxState.DEAD, attempts=5, last_error="boom")

    with django_capture_on_commit_callbacks() as callbacks:
        assert services.outbox_send_again(actor=staff, ids=[sent.pk, other.pk]) == 2

    assert len(callbacks) == 1
    for row in OutboxEmail.objects.all():
        assert (row.status, row.attempts, row.sent_at, row.last_error) == (OutboxState.PENDING, 0, None, "")
    delivery.outbox_deliver()
    assert len(mailoutbox) == 4


def test_mark_dead_spares_sent_and_sending_rows():
    staff = UserFactory(is_staff=True, email="admin@example.test")
    enqueue(4)
    rows = list(OutboxEmail.objects.order_by("pk"))
    OutboxEmail.objects.filter(pk=rows[0].pk).update(status=OutboxState.SENT, sent_at=timezone.now())
    OutboxEmail.objects.filter(pk=rows[1].pk).update(status=OutboxState.SENDING)
    OutboxEmail.objects.filter(pk=rows[2].pk).update(status=OutboxState.FAILED, last_error="timeout")

    assert services.outbox_mark_dead(actor=staff, ids=[r.pk for r in rows]) == 2

    statuses = dict(OutboxEmail.objects.values_list("pk", "status"))
    assert [statuses[r.pk] for r in rows] == [OutboxState.SENT, OutboxState.SENDING, OutboxState.DEAD, OutboxState.DEAD]
    assert OutboxEmail.objects.get(pk=rows[2].pk).last_error == "Marked dead by admin@example.test. timeout"
