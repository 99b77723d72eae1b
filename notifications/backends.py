import os
import uuid

from django.core.mail.backends.filebased import EmailBackend
from django.utils import timezone


class FilePerMessageEmailBackend(EmailBackend):
    """Django's file backend writes a whole connection's messages into one file named by the second; this
    writes one uniquely named .eml file per message, so each file under var/mail/ is exactly one email."""

    def _get_filename(self):
        if self._fname is None:
            stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
            self._fname = os.path.join(self.file_path, f"{stamp}-{uuid.uuid4().hex[:12]}.eml")
        return self._fname

    def send_messages(self, email_messages):
        sent = 0
        for message in email_messages:
            sent += super().send_messages([message])
            self.close()
            self._fname = None
        return sent
