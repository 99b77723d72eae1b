"""The web process's application (Procfile `web`: gunicorn with uvicorn's worker, gunicorn.conf.py).

ASGI because of the live pages' event streams (aether/live/views.py): an open stream is a waiting coroutine,
not a thread. Every other view is a plain sync Django view, which Django runs in a thread per request, as
under WSGI. aether/wsgi.py stays for a WSGI-only host (the pages work there; the streams would hold a thread
each, so a WSGI deployment should leave the live pages off behind its proxy).
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aether.settings")

application = get_asgi_application()
