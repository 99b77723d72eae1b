"""Email backends for the outbox tests and the benchmark: they count what was sent instead of sending it."""

import os
import threading
import time

from django.core.mail.backends.base import BaseEmailBackend


class CountingBackend(BaseEmailBackend):
    """Records every accepted message in `CountingBackend.sent` (shared by threads); `delay` seconds per send.

    Set `CountingBackend.fail_with` to an exception to refuse every message instead."""

    sent: list = []
    lock = threading.Lock()
    delay = 0.0
    fail_with: Exception | None = None

    @classmethod
    def reset(cls):
        with cls.lock:
            cls.sent = []
        cls.delay = 0.0
        cls.fail_with = None

    def send_messages(self, email_messages):
        for message in email_messages:
            if self.fail_with is not None:
                raise self.fail_with
            if self.delay:
                time.sleep(self.delay)
            with self.lock:
                self.sent.append(message)
        return len(email_messages)


class SendLogBackend(BaseEmailBackend):
    """For real worker processes: appends "begin <recipient> <pid>" before and "sent <recipient> <pid>" once
    the (pretend) provider accepted each message, to the file named by AETHER_TEST_SEND_LOG. A send takes
    AETHER_TEST_SEND_DELAY seconds, half before the acceptance and half after (the provider's answer on its
    way back), so a kill can land on either side of it.

    Each line is one write() to a file opened with O_APPEND, so a SIGKILL loses no line that was written,
    and lines of several processes never interleave."""

    def send_messages(self, email_messages):
        path = os.environ["AETHER_TEST_SEND_LOG"]
        delay = float(os.environ.get("AETHER_TEST_SEND_DELAY", "0"))
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            for message in email_messages:
                os.write(fd, f"begin {message.to[0]} {os.getpid()}\n".encode())
                time.sleep(delay / 2)
                os.write(fd, f"sent {message.to[0]} {os.getpid()}\n".encode())
                time.sleep(delay / 2)
        finally:
            os.close(fd)
        return len(email_messages)
