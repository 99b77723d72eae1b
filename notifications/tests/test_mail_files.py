"""The embedded set-up's email files under var/mail/: one .eml per email sent, none for a sweep with nothing
to send (it used to write an empty file every minute: the worker opened its connection before claiming, and
Django's file backend creates its file on open)."""

from email import message_from_bytes

import pytest

from notifications import delivery, services
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
