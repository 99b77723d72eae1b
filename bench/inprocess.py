"""The project's Django stack called in-process through its WSGI entry (the same middleware, authentication,
throttling and request signals as the ASGI web process runs), without a socket: what the API and dashboard
benchmarks time as "server time"; and the percentiles they report."""

from __future__ import annotations

import io
import statistics
import sys
from collections.abc import Callable


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def percentiles(samples: list[float]) -> dict:
    """p50, p95 and the maximum of timings in seconds, in milliseconds."""
    samples = sorted(samples)
    return {
        "p50": ms(statistics.median(samples)),
        "p95": ms(samples[max(0, int(len(samples) * 0.95) - 1)]),
        "max": ms(samples[-1]),
    }


class WSGIClient:
    def __init__(self, headers: dict[str, str]):
        """`headers`: WSGI environ keys sent with every request (HTTP_AUTHORIZATION, HTTP_COOKIE)."""
        from django.core.wsgi import get_wsgi_application

        self.app = get_wsgi_application()
        self.headers = headers

    def get(
        self, url: str, sink: Callable[[bytes], None] | None = None, extra: dict | None = None
    ) -> tuple[int, bytes]:
        """(status code, body). With `sink`, each chunk of the body goes to it and is not kept (a large export is
        streamed, not held), and the body returned is empty. `extra`: more environ keys for this request."""
        status, body, _ = self.request(url, sink, extra)
        return status, body

    def get_headers(self, url: str, extra: dict | None = None) -> dict[str, str]:
        return self.request(url, None, extra)[2]

    def request(self, url: str, sink=None, extra: dict | None = None) -> tuple[int, bytes, dict[str, str]]:
        path, _, query = url.partition("?")
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "testserver",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": "http",
            "wsgi.version": (1, 0),
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            **self.headers,
            **(extra or {}),
        }
        status, headers = [], {}

        def start_response(s, response_headers, exc_info=None):
            status.append(s)
            headers.update(response_headers)

        chunks = self.app(environ, start_response)
        kept = []
        try:
            for chunk in chunks:
                (kept.append if sink is None else sink)(chunk)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        return int(status[0].split()[0]), b"".join(kept), headers
