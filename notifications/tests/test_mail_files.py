"""The embedded set-up's email files under var/mail/: one .eml per email sent, none for a sweep with nothing
to send (it used to write an empty file every minute: the worker opened its connection before claiming, and
Django's file backend creates its file on open)."""

from email import message_from_bytes

import pytest

from notifications import delivery, headers, services
from notifications.backends import FilePerMessageEmailBackend
from notifications.models import Kind, OutboxEmail, OutboxState

pytestmark = pytest.mark.django_db


@pytest.fixture
def mail_dir(settings, tmp_path):
    settings.EMAIL_BACKEND = "notifications.backends.FilePerMessageEmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path
    return tmp_path


def test_a_sweep_with_nothing_to_send_writes_no_file(mail_dir):
    for _ in range(3):
        report = delivery.outbox_deliver()
        assert report.sent == 0

    assert list(mail_dir.iterdir()) == []


def test_each_email_sent_is_one_whole_file(mail_dir):
    for i in range(2):
        services.email_enqueue(
            kind=Kind.TASK_ASSIGNED,
            recipient=f"person{i}@example.test",
            dedupe_key=f"file:{i}",
            context={"recipient_name": "Ann", "actor_name": "Bob", "message": f"Hello {i}", "url": "/tasks/1/"},
        )

    delivery.outbox_deliver()
    delivery.outbox_deliver()  # and a sweep after it, with nothing left

    files = sorted(mail_dir.iterdir())
    assert [f.suffix for f in files] == [".eml", ".eml"]
    messages = [message_from_bytes(f.read_bytes()) for f in files]
    assert sorted(m["To"] for m in messages) == ["person0@example.test", "person1@example.test"]
    assert OutboxEmail.objects.filter(status=OutboxState.SENT).count() == 2


def test_opening_and_closing_the_backend_writes_nothing(mail_dir):
    backend = FilePerMessageEmailBackend()
    backend.open()
    backend.close()
    assert backend.send_messages([]) == 0

    assert list(mail_dir.iterdir()) == []


def test_a_row_sent_again_after_a_crash_is_the_same_message_and_the_same_file(mail_dir):
    """A worker that sent a row and died (or whose PostgreSQL crashed) before its `sent` mark commits leaves the
    row to be sent again after its lease (notifications/delivery.py). The second send is the same message: the
    same Message-ID, written over the same file, so the recipient has one email, not two."""
    services.email_enqueue(
        kind=Kind.TASK_ASSIGNED,
        recipient="ann@example.test",
        dedupe_key="crash:1",
        context={"recipient_name": "Ann", "actor_name": "Bob", "message": "Hello", "url": "/tasks/1/"},
    )
    row = OutboxEmail.objects.get(dedupe_key="crash:1")
    first = delivery.outbox_send(row, FilePerMessageEmailBackend())  # sent; the `sent` mark never committed
    (claimed,) = delivery.outbox_claim()  # the row is still due: it is taken again
    second = delivery.outbox_send(claimed, FilePerMessageEmailBackend())

    assert first == second == headers.message_id(row)
    (only,) = mail_dir.iterdir()
    assert message_from_bytes(only.read_bytes())["Message-ID"] == first
    assert not list(mail_dir.glob("*.partial"))


def test_rows_have_distinct_message_ids(mail_dir):
    for i in range(3):
        services.email_enqueue(
            kind=Kind.TASK_ASSIGNED,
            recipient=f"p{i}@example.test",
            dedupe_key=f"distinct:{i}",
            context={"recipient_name": "Ann", "actor_name": "Bob", "message": "Hi", "url": "/tasks/1/"},
        )
    delivery.outbox_deliver()

    ids = list(OutboxEmail.objects.values_list("provider_message_id", flat=True))
    assert len(set(ids)) == 3
    assert len(list(mail_dir.glob("*.eml"))) == 3
