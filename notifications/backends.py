"""The embedded set-up's email backend: one .eml file per message under var/mail/."""

import os
import uuid

from django.core.mail.backends.filebased import EmailBackend
from django.utils import timezone


class FilePerMessageEmailBackend(EmailBackend):
    """Django's file backend writes a whole connection's messages into one file, created when the connection
    is opened; this writes one uniquely named .eml file per message, created only when a message is written.

    Opening and closing the connection writes nothing: the outbox sweep opened a connection every minute,
    and Django's open() created an empty file each time, with nothing to send."""

    def open(self):
        return False  # each message opens its own file in send_messages

    def send_messages(self, email_messages):
        sent = 0
        for message in email_messages or ():
            stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
            path = os.path.join(self.file_path, f"{stamp}-{uuid.uuid4().hex[:12]}.eml")
            try:
                with self._lock, open(path, "xb") as self.stream:
                    self.write_message(message)
            except Exception:
                if not self.fail_silently:
                    raise
                continue
            finally:
                self.stream = None
            sent += 1
        return sent
