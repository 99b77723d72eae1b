"""Live pages under load (#23, docs/performance.md "Live"): commit-to-page latency with many pages open, the
pages' own times meanwhile, and the web process's memory with many idle streams.

Run on a copy of a big database (it writes: people, teams, boards and tasks named live-bench-*, created once and
reused, then comments and status changes on those tasks):

    createdb -T aether_bench_1m aether_live_1m
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aether_live_1m REDIS_URL=redis://127.0.0.1:6379/6 \\
      .venv/bin/python bench/live_bench.py

It starts the Procfile's web process (gunicorn.conf.py: gunicorn with uvicorn's worker serving aether/asgi.py,
DEBUG off; bench/pages_bench.py's `Gunicorn`), then:

1. Latency: `--pages` people (distinct accounts, each the owner of their own team, board and task) each open
   their board's event stream. This process then makes `--writes` changes, `--rate` a second, each to one
   person's task through the services (a comment, then a status move, in turn): the time from the commit (an
   on-commit callback registered before the service's own, so it runs first) to the arrival of the event at
   that person's stream, over a socket, as a browser's EventSource reads it: p50, p95, max. A change whose event
   never arrives counts as lost; an event about someone else's task at a person's stream counts as misdelivered.
2. The pages meanwhile: bob's pages of the big project (bench/pages_bench.py's), fetched over a kept-alive
   connection while the streams are open and the writes go on: p50 and p95 each.
3. Memory: a web process of one worker, its resident memory (VmRSS) after a warm-up, and again with `--idle`
   open idle streams (heartbeats only) of the same people.
It exits 1 when a figure misses its budget: latency p95 over 1 s, a page's p50 over 100 ms, the process with
the idle streams over 200 MB, a lost or misdelivered event.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.pages_bench import Gunicorn, pages_of, session_cookie  # sets Django up, so it comes first

# isort: split
from django.db import transaction

from accounts.models import User
from accounts.services.teams import team_create
from tasks.models import Project, Status, Task
from tasks.services.comment import comment_create
from tasks.services.project import project_create
from tasks.services.task import task_create, task_set_status

CLIENT = sys.argv[1:] == ["--client"]


def bench_people(n: int) -> list[tuple[User, Task]]:
    """`n` people, each the owner of a team with one board and one task of their own (made the first time)."""
    found = []
    for i in range(n):
        email = f"live-bench-{i:04d}@bench.test"
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email=email, full_name=f"Live Bench {i:04d}")
            team = team_create(owner=user, name=f"live-bench-{i:04d}")
            project = project_create(actor=user, team=team, name="Board")
            task_create(actor=user, project=project, title=f"The task of person {i}")
        project = Project.objects.filter(team__memberships__user=user).get()
        task = Task.objects.filter(project=project, deleted_at__isnull=True).order_by("pk").first()
        found.append((user, task))
    return found


def percentiles(values: list[float]) -> tuple[float, float, float]:
    return statistics.median(values), statistics.quantiles(values, n=20)[-1], max(values)


class Streams:
    """Event streams read over plain sockets by a client process of their own (`--client`: one event loop, as a
    browser reads its EventSource), which reports each stream's opening and each event with its arrival time
    (time.perf_counter: CLOCK_MONOTONIC, one clock for both processes)."""

    def __init__(self, port: int):
        self.port = port
        self.open = 0
        self.failed: list[str] = []
        self.handlers: dict[int, object] = {}
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--client"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        threading.Thread(target=self._reports, daemon=True).start()

    def start(self, cookie: str, path: str, on_event) -> None:
        n = len(self.handlers)
        self.handlers[n] = on_event
        self.process.stdin.write(json.dumps([n, self.port, cookie, path]) + "\n")
        self.process.stdin.flush()

    def _reports(self) -> None:
        for line in self.process.stdout:
            kind, n, rest = line.rstrip("\n").split(" ", 2)
            if kind == "open":
                self.open += 1
            elif kind == "failed":
                self.failed.append(rest)
            else:
                at, data = rest.split(" ", 1)
                self.handlers[int(n)](json.loads(data), float(at))

    def close(self) -> None:
        self.process.kill()
        self.process.wait()

    def wait_open(self, n: int, timeout: float = 60) -> int:
        """How many of `n` streams have not answered after `timeout` seconds (a refusal stops the run)."""
        deadline = time.monotonic() + timeout
        while self.open + len(self.failed) < n and time.monotonic() < deadline:
            time.sleep(0.1)
        if self.failed:
            raise SystemExit(f"{self.open} of {n} streams opened; refused: {self.failed[:3]}")
        return n - self.open


def client() -> None:
    """The client process of `Streams`: a stream per line of standard input ([n, port, cookie, path])."""

    async def read(n: int, port: int, cookie: str, path: str) -> None:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            head = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\nAccept: text/event-stream\r\n"
            writer.write(f"{head}\r\n".encode())
            await writer.drain()
            status = await reader.readline()
            if b" 200 " not in status:
                print(f"failed {n} {status.decode(errors='replace').strip()}", flush=True)
                return
            while (await reader.readline()) not in (b"\r\n", b""):
                pass
            print(f"open {n} -", flush=True)
            while line := await reader.readline():
                if line.startswith(b"data: ["):
                    print(f"event {n} {time.perf_counter()} {line[6:].decode().strip()}", flush=True)
        except OSError as error:
            print(f"failed {n} {error}", flush=True)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        tasks = set()
        while line := await reader.readline():
            task = loop.create_task(read(*json.loads(line)))
            tasks.add(task)
        await asyncio.gather(*tasks)

    asyncio.run(main())


def worker_pids(server: Gunicorn) -> list[int]:
    pid = server.process.pid
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def bench_latency(args, people) -> dict:
    server = Gunicorn(args.workers)
    try:
        streams = Streams(server.port)
        pending: dict[int, float] = {}  # person -> commit time of their change not yet heard
        latencies: list[float] = []
        misdelivered = []
        lock = threading.Lock()

        def heard(i: int, task_id: int):
            def on_event(told: list[dict], at: float) -> None:
                ours = [e for e in told if e.get("kind") in ("task", "comment")]
                if any(e.get("task") != task_id for e in ours):
                    misdelivered.append((i, told))
                with lock:
                    if ours and i in pending:
                        latencies.append((at - pending.pop(i)) * 1000)
                    elif ours and args.verbose:
                        print("unexpected", i, told, flush=True)

            return on_event

        cookies = [session_cookie(user.email) for user, _ in people]
        for i, (_user, task) in enumerate(people):
            streams.start(cookies[i], f"/live/stream/?project={task.project_id}", heard(i, task.pk))
        unopened = streams.wait_open(len(people))
        print(
            f"{streams.open} streams open (one person each, their own board; {unopened} not answered), "
            f"{args.workers} web workers"
        )

        pages, _ = pages_of(args.email)
        page_times: dict[str, list[float]] = {name: [] for name in pages}
        stop = threading.Event()

        def browse() -> None:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            headers = {"Cookie": session_cookie(args.email), "Host": "127.0.0.1"}
            while not stop.is_set():
                for name, url in pages.items():
                    start = time.perf_counter()
                    conn.request("GET", url, headers=headers)
                    response = conn.getresponse()
                    response.read()
                    assert response.status == 200, (url, response.status)
                    page_times[name].append((time.perf_counter() - start) * 1000)
                    time.sleep(0.05)

        browser = threading.Thread(target=browse, daemon=True)
        browser.start()
        lost = 0
        for n in range(args.writes):
            i = n % len(people)
            user, task = people[i]
            started = time.perf_counter()

            def committed(i=i) -> None:
                with lock:
                    pending[i] = time.perf_counter()

            with transaction.atomic():
                transaction.on_commit(committed)  # first: the commit's time, before the publisher runs
                if n // len(people) % 2 == 0:
                    comment_create(actor=user, task=task, body=f"change {n}")
                else:
                    task.refresh_from_db()
                    moved = Status.IN_PROGRESS if task.status == Status.PENDING else Status.PENDING
                    task_set_status(actor=user, task=task, status=moved)
            time.sleep(max(0.0, 1 / args.rate - (time.perf_counter() - started)))
        time.sleep(3)
        stop.set()
        browser.join(30)
        with lock:
            lost = len(pending)
            if args.verbose and pending:
                print("not heard:", sorted(pending), flush=True)
        p50, p95, top = percentiles(latencies)
        print(
            f"latency commit -> stream, {len(latencies)} changes at {args.rate}/s: p50 {p50:.1f} ms, p95 {p95:.1f} ms,"
            f" max {top:.1f} ms; lost {lost}, misdelivered {len(misdelivered)}"
        )
        print("bob's pages meanwhile (big project):")
        page_p50 = {}
        for name, times in page_times.items():
            p50_, p95_, _ = percentiles(times)
            page_p50[name] = p50_
            print(f"  {name:<34} p50 {p50_:6.1f} ms  p95 {p95_:6.1f} ms  ({len(times)} requests)")
        streams.close()
        return {"p95": p95, "lost": lost + unopened, "misdelivered": len(misdelivered), "pages": page_p50}
    finally:
        server.stop()


def bench_memory(args, people) -> float:
    server = Gunicorn(1)
    try:
        (worker,) = worker_pids(server)
        cookies = [session_cookie(user.email) for user, _ in people]
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        pages, _ = pages_of(args.email)
        for url in pages.values():  # warm: the code paths a page takes are loaded
            conn.request("GET", url, headers={"Cookie": session_cookie(args.email), "Host": "127.0.0.1"})
            conn.getresponse().read()
        before = rss_mb(worker)
        streams = Streams(server.port)
        for n in range(args.idle):
            task = people[n % len(people)][1]
            streams.start(cookies[n % len(people)], f"/live/stream/?project={task.project_id}", lambda *_: None)
        unopened = streams.wait_open(args.idle)
        time.sleep(args.settle)
        with_streams = rss_mb(worker)
        print(
            f"memory of the one web worker: {before:.0f} MB warmed up, {with_streams:.0f} MB with {args.idle} idle "
            f"streams open ({(with_streams - before) * 1024 / args.idle:.1f} KB a stream; {unopened} not answered; "
            f"{len(list(Path(f'/proc/{worker}/task').iterdir()))} threads)"
        )
        streams.close()
        return with_streams
    finally:
        server.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=200, help="people, each with their board's stream open")
    parser.add_argument("--writes", type=int, default=400)
    parser.add_argument("--rate", type=float, default=10.0, help="changes a second")
    parser.add_argument("--idle", type=int, default=1000, help="idle streams for the memory figure")
    parser.add_argument("--settle", type=float, default=20.0, help="seconds the idle streams stay open first")
    parser.add_argument("--workers", type=int, default=2, help="web workers for the latency run")
    parser.add_argument("--email", default="bob@example.com", help="whose pages are timed meanwhile")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--skip", default="", help="latency or memory: leave that part out")
    args = parser.parse_args()

    people = bench_people(max(args.pages, 1))
    print(f"{Task.objects.count():,} tasks in the database; {len(people)} bench people")
    failures = []
    if args.skip != "latency":
        result = bench_latency(args, people[: args.pages])
        if result["p95"] > 1000:
            failures.append(f"latency p95 {result['p95']:.0f} ms > 1000 ms")
        if result["lost"] or result["misdelivered"]:
            failures.append(f"{result['lost']} lost, {result['misdelivered']} misdelivered")
        failures += [f"{name} p50 {t:.0f} ms > 100 ms" for name, t in result["pages"].items() if t > 100]
    if args.skip != "memory":
        rss = bench_memory(args, people)
        if rss > 200:
            failures.append(f"RSS {rss:.0f} MB > 200 MB")
    if failures:
        print("over budget: " + "; ".join(failures))
        sys.exit(1)
    print("within budget: latency p95 <= 1 s, pages p50 <= 100 ms, RSS <= 200 MB with the idle streams")


if __name__ == "__main__":
    client() if CLIENT else main()
