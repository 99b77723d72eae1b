"""The embedded set-up's email backend: one .eml file per message under var/mail/."""

import contextlib
import os
import re
import uuid

from django.core.mail.backends.filebased import EmailBackend
from django.utils import timezone


class FilePerMessageEmailBackend(EmailBackend):
    """Django's file backend writes a whole connection's messages into one file, created when the connection
    is opened; this writes one .eml file per message, created only when a message is written, named after its
    Message-ID: an outbox row sent again after a crash is the same message and replaces its own file.

    Opening and closing the connection writes nothing: the outbox sweep opened a connection every minute,
    and Django's open() created an empty file each time, with nothing to send."""

    def open(self):
        return False  # each message opens its own file in send_messages

    def send_messages(self, email_messages):
        sent = 0
        for message in email_messages or ():
            path = os.path.join(self.file_path, self._file_name(message))
            draft = f"{path}.{uuid.uuid4().hex[:8]}.partial"
            try:
                with self._lock, open(draft, "xb") as self.stream:
                    self.write_message(message)
                # Whole or not at all; a message sent again (the same Message-ID) replaces its file, as a mailbox
                # shows one message per Message-ID.
                os.replace(draft, path)
            except Exception:
                with contextlib.suppress(OSError):
                    os.unlink(draft)
                if not self.fail_silently:
                    raise
                continue
            finally:
                self.stream = None
            sent += 1
        return sent

    @staticmethod
    def _file_name(message) -> str:
        """Named after its Message-ID when it has one (the outbox gives every row a stable one), else the time."""
        message_id = (message.extra_headers or {}).get("Message-ID", "")
        safe = re.sub(r"[^A-Za-z0-9.@_-]", "", message_id)
        if safe:
            return f"{safe}.eml"
        return f"{timezone.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:12]}.eml"
