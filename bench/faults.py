"""Faults under load (issue 24): kill every process and both services while 20 people use Aether, then check that
nothing acknowledged was lost, nothing refused was kept, and nothing was sent or made twice.

    .venv/bin/python bench/faults.py                 # the full form: 5 minutes, each fault several times
    .venv/bin/python bench/faults.py --short         # about a minute, one fault of each kind (make test runs it)

What it starts, all its own (nothing of the machine's PostgreSQL or Redis is touched): in a temporary folder, an
embedded PostgreSQL 18 and Redis (aether/embedded.py, on free ports), and on them Aether as the Procfile runs it:
web (gunicorn, 2 workers), a Celery worker and beat. The periodic jobs are set to run every few seconds (outbox
sweep, batches, overdue and due-soon notices, repeating tasks) so that faults land while they run; emails are
written one file each under the run's var/mail/ (the file backend of `make run`).

The load: 20 people (seeded), each a browser session and a mobile API client, creating tasks (due yesterday,
today, tomorrow or later, with stages, some repeating daily), editing them, moving their stages, commenting with
@mentions of each other, trashing and restoring, signing in and out, with think time between steps. Every write
carries a marker, and its answer is journaled: acknowledged (2xx, or the form's redirect), refused (an error
status) or unknown (the connection died with the web process: no answer to judge).

The faults, on a schedule: SIGKILL of a gunicorn worker, of gunicorn's master (with its workers, then started
again, as a supervisor would), of the Celery worker (while it runs the outbox delivery, the overdue job or the
repeating-task job: the kill waits for the worker's log to say the job was received), of beat; PostgreSQL
stopped in immediate mode (a crash: no checkpoint, recovery on start) and started again; Redis killed (SIGKILL)
and started again. While a service is down the run asks the API, a page and /healthz what a client sees; once
it is back it measures how long until the site answers again, without restarting any of Aether's processes.

After the load it lets the system settle (every outbox row sent, the jobs run again), stops the processes and
checks (exit status 1 on any breach):

1. every acknowledged write is in the database (by its marker), nothing refused is, an unknown one at most once
   (and a write in flight when PostgreSQL crashed, answered 503, is in doubt: at most once, counted apart);
2. the activity history has one row per acknowledged change (creates, edits, comments, stage moves, trash and
   restore: per task and verb, at least the acknowledged, at most those plus the unknown);
3. every email that should exist (a mention, an assignment, a deadline notice) has its outbox row, every row was
   sent, provider message ids are unique, and the mail folder holds exactly one file per sent row, each with
   its row's Message-ID;
4. every task overdue or due soon at the end has exactly one notice for its due date, one in-app notification
   and one email; every date of every repeating task up to today was made exactly once, as one task;
5. analytics' kept figures equal a full recompute (analytics/recompute.py);
6. signed-out sessions and refresh tokens stay refused;
7. no request hung past its timeout; no answer was a 500; every 503 had Retry-After; the site answered again
   within 10 s of PostgreSQL or Redis coming back; no process of Aether died that the schedule did not kill.

docs/faults.md describes the run and what was fixed; docs/performance.md records its figures.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import email
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
PASSWORD = "faults-run-correct-horse-24"  # noqa: S105 (the run's own throwaway accounts)
PEOPLE = 20
REQUEST_TIMEOUT = 20  # seconds; gunicorn's own timeout is 30
RECOVERY_LIMIT = 10.0  # seconds after a service is back
PROBE_TIMEOUT = 10  # a slow answer (a busy machine) is still an answer: the recovery probe waits this long
JOB_SECONDS = 2  # how often beat runs the deadline and repeating-task jobs during the run
FAST_JOBS = {
    "Outbox sweep": 3,
    "Batches and digests": 5,
    "Overdue detection": JOB_SECONDS,
    "Due-soon reminders": JOB_SECONDS,
    "Repeating tasks": JOB_SECONDS,
}


def today_utc() -> date:
    return datetime.now(tz=UTC).date()  # the run's team is on UTC


def say(*args):
    print(f"[{time.strftime('%H:%M:%S')}]", *args, flush=True)


# --- the stack: services and processes ------------------------------------------------------------------------


class Stack:
    """The run's own PostgreSQL and Redis (aether/embedded.py's classes, in the run's folder) and Aether's three
    processes on them, each in a process group of its own so that a kill reaches all of it."""

    def __init__(self, var: Path):
        from aether.embedded import Postgres, Redis, State, _free_port

        self.var = var
        (var / "embedded").mkdir(parents=True, exist_ok=True)
        state = State(var / "embedded")
        self.postgres = Postgres(var, state, say=lambda m: say(m))
        self.redis = Redis(var, state, say=lambda m: say(m))
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.logs = var / "logs"
        self.logs.mkdir(exist_ok=True)
        self.processes: dict[str, subprocess.Popen] = {}
        self.killed_by_us: set[int] = set()
        self.unexpected_exits: list[str] = []

    def start_services(self):
        self.postgres.start()
        self.redis.start()

    def env(self) -> dict:
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DJANGO_"))},
            "DATABASE_URL": self.postgres.url(),
            "REDIS_URL": self.redis.url(),
            "REDIS_KEY_PREFIX": "faults",
            "AETHER_ENV_FILE": "",
            "AETHER_VAR_DIR": str(self.var),
            "STATIC_ROOT": str(ROOT / "var" / "faults-static"),
            "DEBUG": "0",
            "SECRET_KEY": "faults-run-secret-key-" + "x" * 40,
            "ALLOWED_HOSTS": "127.0.0.1",
            "SITE_URL": self.base,
            "SECURE_SSL_REDIRECT": "0",
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "AETHER_STAFF_SECOND_FACTOR": "0",
            "API_THROTTLE_TOKEN_ADDRESS": "100000/min",  # 20 people share one address
            "API_THROTTLE_USER": "100000/min",
            "AETHER_SIGNIN_PAIR_LIMIT": "1000",
            "AETHER_EMAIL_BATCH_SECONDS": "0",  # each email at once: what is checked is one file per row
            # A worker killed mid-delivery holds its rows this long (300 s in production): the run settles sooner.
            "AETHER_OUTBOX_LEASE_SECONDS": "15",
            "AETHER_RECURRENCE_BOUND": "50",
            "WEB_CONCURRENCY": "2",
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "WORKER_CONCURRENCY": "2",
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "INFO",
        }

    def manage(self, *args, check=True):
        result = subprocess.run(
            [str(BIN / "python"), "manage.py", *args], cwd=ROOT, env=self.env(), capture_output=True, text=True
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def helper(self, command: str, payload: dict) -> dict:
        """Run this file's `command` in a child with Django set up on the run's services; its JSON answer."""
        result = subprocess.run(
            [str(BIN / "python"), __file__, command],
            input=json.dumps(payload),
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{command} failed:\n{result.stdout}\n{result.stderr[-4000:]}")
        return json.loads(result.stdout.strip().splitlines()[-1])

    COMMANDS = {
        "web": ["gunicorn", "aether.asgi", "-c", "gunicorn.conf.py"],
        "worker": ["celery", "-A", "aether", "worker", "--loglevel=INFO", "--concurrency=2", "-n", "faults@%h"],
        "beat": ["celery", "-A", "aether", "beat", "--loglevel=INFO", "--scheduler",
                 "django_celery_beat.schedulers:DatabaseScheduler", "--pidfile="],
    }  # fmt: skip

    def start(self, name: str):
        command = self.COMMANDS[name]
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 (kept open by the child)
        self.processes[name] = subprocess.Popen(
            [str(BIN / command[0]), *command[1:]],
            cwd=ROOT,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self, name: str):
        process = self.processes[name]
        self.killed_by_us.add(process.pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        # Whatever of the group outlived the leader (a gunicorn worker notices its master is gone within a second).
        deadline = time.monotonic() + 5
        while _group_alive(process.pid) and time.monotonic() < deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            time.sleep(0.05)

    def web_workers(self) -> list[int]:
        master = self.processes["web"].pid
        try:
            return [int(p) for p in Path(f"/proc/{master}/task/{master}/children").read_text().split()]
        except FileNotFoundError:
            return []

    def check_alive(self):
        for name, process in self.processes.items():
            if process.poll() is not None and process.pid not in self.killed_by_us:
                self.unexpected_exits.append(f"{name} (pid {process.pid}) exited with {process.returncode}")
                self.killed_by_us.add(process.pid)  # reported once
                self.start(name)

    def postgres_crash(self):
        self.postgres._run(
            [str(self.postgres._bin() / "pg_ctl"), "-D", str(self.postgres.data), "-m", "immediate", "-w", "stop"]
        )

    def redis_crash(self):
        pid = self.redis.running()
        if pid:
            os.kill(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.02)

    def stop_all(self):
        for name in list(self.processes):
            process = self.processes[name]
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for service in (self.redis, self.postgres):
            with contextlib.suppress(Exception):
                service.stop()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


# --- the journal of what the clients saw ----------------------------------------------------------------------


@dataclass
class Journal:
    writes: list = field(default_factory=list)
    requests: int = 0
    hung: list = field(default_factory=list)
    errors_500: list = field(default_factory=list)
    bad_503: list = field(default_factory=list)
    answers: collections.Counter = field(default_factory=collections.Counter)
    signed_out_sessions: list = field(default_factory=list)
    signed_out_refresh: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def write(self, **entry):
        with self.lock:
            self.writes.append(entry)


class _RefusedConnection:
    """The answer of a request that reached no server (connection refused): certainly not written."""

    status_code = 0
    headers: dict = {}
    text = ""


REFUSED_CONNECTION = _RefusedConnection()


def outcome_of(response) -> str:
    if response is None:
        return "unknown"
    if response is REFUSED_CONNECTION:
        return "refused"
    return "ack" if 200 <= response.status_code < 400 else "refused"


class Client:
    """One person: a browser session and an API client, journaling every answer."""

    def __init__(self, run: Run, email_address: str):
        import requests

        self.run = run
        self.email = email_address
        self.web = requests.Session()
        self.api = requests.Session()
        self.access = self.refresh = None

    def request(self, session, method, path, **kwargs):
        """The answer, or None when the connection died (a web process killed mid-request)."""
        import requests

        kwargs.setdefault("timeout", REQUEST_TIMEOUT)
        kwargs.setdefault("allow_redirects", False)
        journal = self.run.journal
        started = time.monotonic()
        try:
            response = session.request(method, self.run.stack.base + path, **kwargs)
        except requests.Timeout:
            with journal.lock:
                journal.requests += 1
                journal.hung.append(
                    f"{method} {path} sent at {started - self.run.started:.1f} s, no answer in {REQUEST_TIMEOUT} s"
                )
            return None
        except requests.ConnectionError as exc:
            refused = "Connection refused" in str(exc)  # nothing listened: the request reached no server
            with journal.lock:
                journal.requests += 1
                journal.answers["connection refused" if refused else "connection lost"] += 1
            return REFUSED_CONNECTION if refused else None
        response.sent_at = started - self.run.started
        response.answered_at = time.monotonic() - self.run.started
        with journal.lock:
            journal.requests += 1
            journal.answers[response.status_code] += 1
            if response.status_code == 500:
                journal.errors_500.append(f"{method} {path}")
            if response.status_code == 503 and not _proper_503(path, response):
                journal.bad_503.append(f"{method} {path}: {response.headers.get('Retry-After')} {response.text[:120]}")
        if response.status_code == 503:
            time.sleep(min(int(response.headers.get("Retry-After", "1") or 1), 1))
        return response

    # -- signing in and out ------------------------------------------------------------------------------------
    def csrf(self) -> str:
        return self.web.cookies.get("csrftoken", "")

    def web_sign_in(self) -> bool:
        page = self.request(self.web, "GET", "/accounts/login/")
        if page is None or page.status_code != 200:
            return False
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        if not token:
            return False
        response = self.request(
            self.web,
            "POST",
            "/accounts/login/",
            data={"username": self.email, "password": PASSWORD, "csrfmiddlewaretoken": token.group(1)},
        )
        return response is not None and response.status_code == 302

    def web_sign_out(self):
        cookie = self.web.cookies.get("sessionid")
        response = self.request(self.web, "POST", "/accounts/logout/", data={"csrfmiddlewaretoken": self.csrf()})
        if response is not None and response.status_code == 302 and cookie:
            with self.run.journal.lock:
                self.run.journal.signed_out_sessions.append(cookie)
        self.web.cookies.clear()

    def api_sign_in(self) -> bool:
        response = self.request(
            self.api, "POST", "/api/v1/auth/token/", json={"email": self.email, "password": PASSWORD}
        )
        if response is None or response.status_code != 200:
            return False
        body = response.json()
        self.access, self.refresh = body["access"], body["refresh"]
        self.api.headers["Authorization"] = f"Bearer {self.access}"
        return True

    def api_sign_out(self):
        refresh = self.refresh
        response = self.request(self.api, "POST", "/api/v1/auth/logout/", json={"refresh": refresh})
        if response is not None and 200 <= response.status_code < 300:
            with self.run.journal.lock:
                self.run.journal.signed_out_refresh.append(refresh)
        self.access = self.refresh = None
        self.api.headers.pop("Authorization", None)


def _proper_503(path: str, response) -> bool:
    if not response.headers.get("Retry-After"):
        return False
    if path == "/healthz":
        return True
    if path.startswith("/api/"):
        try:
            body = response.json()
        except ValueError:
            return False
        return body.get("code") == "service_unavailable" and set(body) == {"code", "detail", "errors"}
    return "Aether is briefly unavailable" in response.text


# --- the people -----------------------------------------------------------------------------------------------


@dataclass
class OwnTask:
    id: int
    stages: list  # [stage id, status]
    deleted: bool = False
    tainted: bool = False  # an answer was lost: its state is not known any more, no state change is sent


class Person(threading.Thread):
    def __init__(self, run: Run, index: int, user: dict, seed: int):
        super().__init__(daemon=True, name=f"person-{index}")
        self.run_ = run
        self.rng = random.Random(seed * 1000 + index)
        self.user = user
        self.client = Client(run, user["email"])
        self.tasks: list[OwnTask] = []
        self.web_in = self.api_in = False

    def marker(self) -> str:
        return f"fr{uuid.UUID(int=self.rng.getrandbits(128)).hex[:16]}"

    def run(self):
        actions = [
            (self.api_create, 5),
            (self.web_create, 3),
            (self.api_edit, 3),
            (self.stage_move, 4),
            (self.api_comment, 4),
            (self.web_comment, 2),
            (self.trash_restore, 2),
            (self.set_repeat, 1),
            (self.read, 4),
            (self.sign_out_and_in, 1),
        ]
        functions, weights = zip(*actions, strict=True)
        while not self.run_.stop.is_set():
            try:
                if not self.api_in:
                    self.api_in = self.client.api_sign_in()
                if not self.web_in:
                    self.web_in = self.client.web_sign_in()
                if self.api_in and self.web_in:
                    self.rng.choices(functions, weights)[0]()
            except Exception as exc:  # a bug in the client must not end the run silently
                self.run_.client_errors.append(f"{type(exc).__name__}: {exc}")
            time.sleep(self.rng.uniform(0.2, 0.8))

    # -- helpers -----------------------------------------------------------------------------------------------
    def _api(self, method, path, **kwargs):
        response = self.client.request(self.client.api, method, path, **kwargs)
        if response is not None and response.status_code == 401:
            self.api_in = False
        return response

    def _web_post(self, path, data):
        data = {**data, "csrfmiddlewaretoken": self.client.csrf()}
        response = self.client.request(self.client.web, "POST", path, data=data)
        if (
            response is not None
            and response.status_code == 302
            and "/accounts/login/" in response.headers.get("Location", "")
        ):
            self.web_in = False
            return response, "refused"  # signed out (a lost session): nothing was written
        if response is not None and response.status_code == 403:
            self.web_in = False  # a CSRF cookie lost with the session
        return response, outcome_of(response)

    def _journal(self, op, outcome, response, **entry):
        self.run_.journal.write(
            op=op,
            outcome=outcome,
            status=getattr(response, "status_code", None),
            person=self.user["id"],
            sent=getattr(response, "sent_at", None),
            answered=getattr(response, "answered_at", None),
            **entry,
        )

    def _due(self) -> str | None:
        today = today_utc()
        choice = self.rng.choice(["past", "past", "today", "tomorrow", "later", None])
        return {
            "past": (today - timedelta(days=self.rng.randint(1, 5))).isoformat(),
            "today": today.isoformat(),
            "tomorrow": (today + timedelta(days=1)).isoformat(),
            "later": (today + timedelta(days=20)).isoformat(),
            None: None,
        }[choice]

    def _other(self) -> dict:
        return self.rng.choice([u for u in self.run_.users if u["id"] != self.user["id"]])

    def _live(self) -> OwnTask | None:
        live = [t for t in self.tasks if not t.tainted]
        return self.rng.choice(live) if live else None

    # -- the actions ------------------------------------------------------------------------------------------
    def api_create(self):
        marker = self.marker()
        assignee = self.rng.choice([self.user, self._other(), None])
        body = {
            "project": self.rng.choice(self.run_.projects),
            "title": f"Task {marker}",
            "priority": self.rng.choice(["low", "medium", "high", "urgent"]),
            "assignee": assignee["id"] if assignee else None,
            "due_date": self._due(),
            "stages": [{"name": "Do", "estimated_hours": 2}, {"name": "Check", "estimated_hours": 1}],
        }
        response = self._api("POST", "/api/v1/tasks/", json=body, headers={"Idempotency-Key": marker})
        outcome = outcome_of(response)
        if outcome == "unknown":  # retried with the same key, as the mobile client does
            response = self._api("POST", "/api/v1/tasks/", json=body, headers={"Idempotency-Key": marker})
            outcome = "ack" if outcome_of(response) == "ack" else "unknown"  # the first may have been written
        self._journal(
            "create",
            outcome,
            response,
            marker=marker,
            title=body["title"],
            assignee=body["assignee"],
            due=body["due_date"],
        )
        if outcome == "ack":
            data = response.json()
            self.tasks.append(OwnTask(data["id"], [[s["id"], s["status"]] for s in data.get("stages", [])]))

    def web_create(self):
        marker = self.marker()
        project = self.rng.choice(self.run_.projects)
        due = self._due()
        title = f"Page task {marker}"
        response, outcome = self._web_post(
            f"/projects/{project}/tasks/new/",
            {"title": title, "priority": "2", "due_date": due or "", "idempotency_key": marker},
        )
        task_id = None
        if outcome == "ack":
            match = re.search(r"/tasks/(\d+)/", response.headers.get("Location", ""))
            if match is None:
                outcome = "refused"
            else:
                task_id = int(match.group(1))
        self._journal("create", outcome, response, marker=marker, title=title, due=due)
        if task_id:
            self.tasks.append(OwnTask(task_id, [], tainted=False))

    def api_edit(self):
        task = self._live()
        if task is None or task.deleted:
            return
        marker = self.marker()
        response = self._api("PATCH", f"/api/v1/tasks/{task.id}/", json={"title": f"Edited {marker}"})
        outcome = outcome_of(response)
        self._journal("edit", outcome, response, marker=marker, task=task.id, verb="updated")
        task.tainted |= outcome == "unknown"

    def stage_move(self):
        candidates = [
            t for t in self.tasks if not t.tainted and not t.deleted and any(s[1] != "completed" for s in t.stages)
        ]
        if not candidates:
            return
        task = self.rng.choice(candidates)
        stage = next(s for s in task.stages if s[1] != "completed")
        if stage[1] == "pending":
            if self.rng.random() < 0.5:
                response = self._api("PATCH", f"/api/v1/stages/{stage[0]}/", json={"status": "in_progress"})
                outcome = outcome_of(response)
            else:
                response, outcome = self._web_post(f"/stages/{stage[0]}/start/", {})
            verb, after = "stage_started", "in_progress"
        else:
            response = self._api(
                "PATCH", f"/api/v1/stages/{stage[0]}/", json={"status": "completed", "actual_hours": 1.5}
            )
            outcome = outcome_of(response)
            verb, after = "stage_completed", "completed"
        self._journal("stage", outcome, response, task=task.id, verb=verb)
        if outcome == "ack":
            stage[1] = after
        task.tainted |= outcome == "unknown"

    def api_comment(self):
        self._comment(web=False)

    def web_comment(self):
        self._comment(web=True)

    def _comment(self, *, web: bool):
        pool = [t for t in self.run_.all_tasks() if t]
        if not pool:
            return
        task_id = self.rng.choice(pool)
        marker = self.marker()
        mentioned = self._other()
        body = f"Comment {marker} for @{mentioned['handle']}"
        if web:
            response, outcome = self._web_post(f"/tasks/{task_id}/comments/", {"body": body})
        else:
            response = self._api("POST", f"/api/v1/tasks/{task_id}/comments/", json={"body": body})
            outcome = outcome_of(response)
        self._journal("comment", outcome, response, marker=marker, task=task_id, mentioned=mentioned["id"])

    def trash_restore(self):
        task = self._live()
        if task is None:
            return
        web = self.rng.random() < 0.5
        if task.deleted:
            verb = "restored"
            if web:
                response, outcome = self._web_post(f"/tasks/{task.id}/restore/", {})
            else:
                response = self._api("POST", f"/api/v1/tasks/{task.id}/restore/")
                outcome = outcome_of(response)
        else:
            verb = "deleted"
            if web:
                response, outcome = self._web_post(f"/tasks/{task.id}/delete/", {})
            else:
                response = self._api("DELETE", f"/api/v1/tasks/{task.id}/")
                outcome = outcome_of(response)
        self._journal("trash", outcome, response, task=task.id, verb=verb)
        if outcome == "ack":
            task.deleted = verb == "deleted"
        task.tainted |= outcome == "unknown"

    def set_repeat(self):
        task = self._live()
        if task is None or task.deleted or getattr(task, "repeats", False):
            return
        starts = (today_utc() - timedelta(days=self.rng.randint(0, 3))).isoformat()
        response = self._api(
            "PUT", f"/api/v1/tasks/{task.id}/recurrence/", json={"rule": "FREQ=DAILY", "starts_on": starts}
        )
        outcome = outcome_of(response)
        self._journal("repeat", outcome, response, task=task.id, verb="recurrence_set", starts_on=starts)
        task.repeats = outcome != "refused"
        task.tainted |= outcome == "unknown"

    def read(self):
        if self.rng.random() < 0.5:
            self._api("GET", "/api/v1/tasks/?page_size=20")
        else:
            page = self.client.request(self.client.web, "GET", self.rng.choice(["/my-work/", "/projects/"]))
            if page is not None and page.status_code == 302:
                self.web_in = False

    def sign_out_and_in(self):
        if self.rng.random() < 0.5:
            self.client.web_sign_out()
            self.web_in = False
        else:
            self.client.api_sign_out()
            self.api_in = False


# --- the run ----------------------------------------------------------------------------------------------------


FAULTS_FULL = [
    "web worker", "postgres", "worker during outbox delivery", "redis", "beat", "worker during overdue job",
    "web master", "postgres during repeating job", "worker during repeating job", "redis during outbox delivery",
    "web worker", "postgres", "beat", "redis", "worker during outbox delivery", "web master",
]  # fmt: skip
FAULTS_SHORT = ["web worker", "worker during outbox delivery", "postgres", "beat", "redis", "web master"]
SETTLE_JOBS = ["tasks.notify_overdue", "tasks.notify_due_soon", "tasks.create_recurring_occurrences"]
JOB_TASKS = {
    "outbox delivery": "notifications.deliver_outbox",  # also matches deliver_outbox_emails
    "overdue job": "tasks.notify_overdue",
    "repeating job": "tasks.create_recurring_occurrences",
}


class Run:
    def __init__(self, args):
        self.args = args
        self.var = Path(args.var) if args.var else Path(tempfile.mkdtemp(prefix="aether-faults-"))
        self.var.mkdir(parents=True, exist_ok=True)
        self.var.chmod(0o755)  # as root, PostgreSQL's own user keeps its data here
        self.stack = Stack(self.var)
        self.journal = Journal()
        self.stop = threading.Event()
        self.client_errors: list[str] = []
        self.started = time.monotonic()  # again when the load starts
        self.faults: list[dict] = []
        self.database_crashes: list[tuple[float, float]] = []  # (from, to) of each immediate stop, run seconds
        self.outage_views: list[str] = []
        self.users: list[dict] = []
        self.projects: list[int] = []
        self.people: list[Person] = []

    def all_tasks(self) -> list[int]:
        return [t.id for p in self.people for t in p.tasks if not t.deleted]

    # -- set-up --------------------------------------------------------------------------------------------------
    def set_up(self):
        say(f"services and data in {self.var}")
        self.stack.start_services()
        self.stack.manage("migrate", "--noinput")
        self.stack.manage("setup_periodic_tasks")
        self.collect_static()
        made = self.stack.helper("_setup", {"people": PEOPLE, "jobs": FAST_JOBS})
        self.users, self.projects = made["users"], made["projects"]
        for name in ("web", "worker", "beat"):
            self.stack.start(name)
        self.wait_for_site(60)
        self.probe = Client(self, self.users[0]["email"])
        if not (self.probe.api_sign_in() and self.probe.web_sign_in()):
            raise RuntimeError("the probe could not sign in")

    def collect_static(self):
        """The production storage needs collectstatic (a minute and more here): done once into var/faults-static
        and reused while nothing under static/ or in the virtualenv changed since."""
        import fcntl

        target = Path(self.stack.env()["STATIC_ROOT"])
        target.mkdir(parents=True, exist_ok=True)
        with open(target.parent / "faults-static.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            manifest = target / "staticfiles.json"
            sources = [p.stat().st_mtime for p in (ROOT / "static").rglob("*") if p.is_file()]
            sources += [p.stat().st_mtime for p in BIN.parent.glob(".installed*")]
            if not manifest.exists() or manifest.stat().st_mtime < max(sources):
                say("collectstatic (once, into var/faults-static)")
                self.stack.manage("collectstatic", "--noinput", "--clear")

    def wait_for_site(self, seconds: float) -> float | None:
        """Seconds until /healthz and the API both answer 200 (None if not within `seconds`)."""
        import requests

        started = time.monotonic()
        self.last_failure = ""
        self.failures: list[str] = []  # what the probe saw until the site was back, with the time
        while time.monotonic() - started < seconds:
            if self.last_failure and (not self.failures or not self.failures[-1].endswith(self.last_failure)):
                self.failures.append(f"{time.monotonic() - started:.1f} s: {self.last_failure}")
            try:
                health = requests.get(self.stack.base + "/healthz", timeout=PROBE_TIMEOUT)
                ok = health.status_code == 200
                self.last_failure = f"healthz {health.status_code} {health.text[:80]}"
                if ok and getattr(self, "probe", None) is not None:
                    me = requests.get(
                        self.stack.base + "/api/v1/me/",
                        headers={"Authorization": f"Bearer {self.probe.access}"},
                        timeout=PROBE_TIMEOUT,
                    )
                    if me.status_code == 401 and self.probe.api_sign_in():
                        continue
                    page = requests.get(
                        self.stack.base + "/my-work/", cookies=self.probe.web.cookies, timeout=PROBE_TIMEOUT
                    )
                    ok = me.status_code == 200 and page.status_code == 200
                    self.last_failure = f"api {me.status_code}, page {page.status_code}"
                if ok:
                    return time.monotonic() - started
            except requests.RequestException as exc:
                self.last_failure = f"{type(exc).__name__}"
            time.sleep(0.1)
        return None

    # -- faults ------------------------------------------------------------------------------------------------
    def wait_for_job(self, job: str, seconds: float = 20) -> str:
        """Block until the worker's log says `job` was received (the kill lands while it runs)."""
        log = self.stack.logs / "worker.log"
        start = log.stat().st_size if log.exists() else 0
        deadline = time.monotonic() + seconds
        pattern = re.compile(rf"Task {re.escape(JOB_TASKS[job])}\w*\[([0-9a-f-]+)\] received")
        while time.monotonic() < deadline:
            with open(log, "rb") as f:
                f.seek(start)
                text = f.read().decode(errors="replace")
            match = pattern.search(text)
            if match:
                return match.group(1)
            time.sleep(0.01)
        return ""

    def wait_for_log(self, name: str, pattern: str, start, seconds: float = 60) -> float | None:
        """Call `start`, then the seconds until `name`'s log shows `pattern` anew (None if not within `seconds`)."""
        log = self.stack.logs / f"{name}.log"
        offset = log.stat().st_size
        started = time.monotonic()
        start()
        while time.monotonic() - started < seconds:
            with open(log, "rb") as f:
                f.seek(offset)
                if re.search(pattern, f.read().decode(errors="replace")):
                    return time.monotonic() - started
            time.sleep(0.05)
        return None

    def job_finished(self, job_id: str) -> bool:
        text = (self.stack.logs / "worker.log").read_text(errors="replace")
        return bool(job_id) and re.search(rf"\[{job_id}\] (succeeded|raised)", text) is not None

    def inject(self, fault: str):
        stack = self.stack
        record = {"fault": fault, "at": round(time.monotonic() - self.started, 1)}
        during = next((job for job in JOB_TASKS if fault.endswith(job)), None)
        if fault == "web worker":
            workers = stack.web_workers()
            if workers:
                os.kill(workers[0], signal.SIGKILL)
            record["recovered_s"] = self.wait_for_site(30)
        elif fault == "web master":
            stack.kill("web")
            time.sleep(1)
            stack.start("web")
            record["recovered_s"] = self.wait_for_site(60)
        elif fault == "beat":
            stack.kill("beat")
            time.sleep(1)
            # Back: the new beat sends a job.
            record["recovered_s"] = self.wait_for_log("beat", r"Sending due task", lambda: stack.start("beat"))
        elif fault.startswith("worker"):
            job_id = self.wait_for_job(during)
            stack.kill("worker")
            record["during_job"] = bool(job_id) and not self.job_finished(job_id)
            time.sleep(1)
            # Back: the new worker finishes a task.
            record["recovered_s"] = self.wait_for_log("worker", r"\] succeeded in", lambda: stack.start("worker"))
        elif fault.startswith(("postgres", "redis")):
            service = fault.split()[0]
            if during:
                job_id = self.wait_for_job(during)
                record["during_job"] = bool(job_id) and not self.job_finished(job_id)
            crash_started = time.monotonic() - self.started
            (stack.postgres_crash if service == "postgres" else stack.redis_crash)()
            if service == "postgres":
                self.database_crashes.append((crash_started, time.monotonic() - self.started))
            time.sleep(0.5)
            self.look_during_outage(service)
            time.sleep(self.args.down)
            (stack.postgres.start if service == "postgres" else stack.redis.start)()
            record["recovered_s"] = self.wait_for_site(30)
            if record["recovered_s"] is None or record["recovered_s"] > RECOVERY_LIMIT:
                record["breach"] = f"not answering {RECOVERY_LIMIT:.0f} s after {service} came back"
                record["probe_saw"] = self.failures[-8:]
        self.faults.append(record)
        say(f"fault: {fault}: {record}")

    def look_during_outage(self, service: str):
        """What a client sees while `service` is down: the API's 503, the page, /healthz."""
        import requests

        base = self.stack.base
        seen = []
        api = requests.get(
            base + "/api/v1/tasks/", headers={"Authorization": f"Bearer {self.probe.access}"}, timeout=REQUEST_TIMEOUT
        )
        seen.append(("api", api.status_code == 503 and _proper_503("/api/", api), api.status_code))
        page = requests.get(base + "/my-work/", cookies=self.probe.web.cookies, timeout=REQUEST_TIMEOUT)
        page_ok = (page.status_code == 503 and _proper_503("/my-work/", page)) or (
            service == "redis" and page.status_code == 200  # a page that needs no Redis still shows
        )
        seen.append(("page", page_ok, page.status_code))
        health = requests.get(base + "/healthz", timeout=REQUEST_TIMEOUT)
        named = {"postgres": "database", "redis": "broker"}[service]
        seen.append(("healthz", health.status_code == 503 and health.json().get(named) == "down", health.status_code))
        for what, ok, status in seen:
            line = f"{service} down: {what} answered {status}"
            self.outage_views.append(line + ("" if ok else "  <-- BREACH"))

    # -- the load and the schedule ----------------------------------------------------------------------------
    def go(self) -> int:
        try:
            self.set_up()
            self.started = time.monotonic()
            self.people = [Person(self, i, u, self.args.seed) for i, u in enumerate(self.users)]
            for person in self.people:
                person.start()
            schedule = FAULTS_SHORT if self.args.short else FAULTS_FULL
            gap = self.args.seconds / (len(schedule) + 1)
            for fault in schedule:
                self.sleep_until(self.started + gap * (len(self.faults) + 1))
                self.inject(fault)
                self.stack.check_alive()
            self.sleep_until(self.started + self.args.seconds)
            self.stop.set()
            for person in self.people:
                person.join(REQUEST_TIMEOUT * 3)
            load_seconds = time.monotonic() - self.started
            say(f"load stopped after {load_seconds:.0f} s; {self.journal.requests} requests; settling")
            self.stack.check_alive()
            settle = self.settle()
            signed_out = self.check_signed_out()
            self.stack.check_alive()
            self.stack.stop_all()
            report = self.stack_helper_check()
            return self.report(report, settle, signed_out, load_seconds)
        finally:
            self.stop.set()
            self.stack.stop_all()
            if not self.args.keep:
                self.clean()

    def sleep_until(self, moment: float):
        while time.monotonic() < moment:
            self.stack.check_alive()
            time.sleep(min(0.5, max(0.0, moment - time.monotonic())))

    def settle(self) -> dict:
        """Wait until the outbox is delivered and the jobs have run since the load stopped."""
        from_now = time.monotonic()
        deadline = from_now + self.args.settle
        log = self.stack.logs / "worker.log"
        offset = log.stat().st_size
        state = {}
        while time.monotonic() < deadline:
            state = self.stack.helper("_pending", {})
            with open(log, "rb") as f:
                f.seek(offset)
                text = f.read().decode(errors="replace")
            # Each deadline and repeating-task job ran to its end twice since the load stopped.
            state["job_runs"] = min(len(re.findall(rf"Task {job}\[[^\]]+\] succeeded", text)) for job in SETTLE_JOBS)
            if state["pending"] == 0 and state["job_runs"] >= 2:
                break
            time.sleep(1)
        state["seconds"] = round(time.monotonic() - from_now, 1)
        return state

    def check_signed_out(self) -> dict:
        import requests

        base = self.stack.base
        sessions = [
            requests.get(base + "/my-work/", cookies={"sessionid": c}, allow_redirects=False, timeout=10).status_code
            for c in self.journal.signed_out_sessions
        ]
        tokens = [
            requests.post(base + "/api/v1/auth/token/refresh/", json={"refresh": r}, timeout=10).status_code
            for r in self.journal.signed_out_refresh
        ]
        return {
            "sessions": len(sessions),
            "sessions_still_open": sum(1 for s in sessions if s != 302),
            "refresh_tokens": len(tokens),
            "refresh_tokens_still_valid": sum(1 for s in tokens if s != 401),
        }

    def stack_helper_check(self) -> dict:
        # The services again, without Aether's processes: the check reads what was left.
        self.stack.start_services()
        writes = list(self.journal.writes)
        # A write in flight when PostgreSQL crashed, answered 503, is in doubt: its COMMIT may have reached the disk
        # while its answer could not be made (the in-doubt commit every database client faces; the API's
        # Idempotency-Key and the form's hidden key make a retry return the first task). Counted, not a breach.
        for w in writes:
            in_flight = w["sent"] is not None and any(
                w["sent"] <= to and w["answered"] >= start for start, to in self.database_crashes
            )
            if w["outcome"] == "refused" and w["status"] == 503 and in_flight:
                w["outcome"] = "in doubt"
        return self.stack.helper("_check", {"writes": writes, "mail": str(self.var / "mail")})

    def clean(self):
        data = self.stack.postgres.data
        shutil.rmtree(self.var, ignore_errors=True)
        if data.exists() and not str(data).startswith(str(self.var)):
            shutil.rmtree(data, ignore_errors=True)

    # -- the report --------------------------------------------------------------------------------------------
    def report(self, check: dict, settle: dict, signed_out: dict, load_seconds: float) -> int:
        j = self.journal
        breaches = list(check["breaches"])
        if j.hung:
            breaches.append(f"{len(j.hung)} requests hung past {REQUEST_TIMEOUT} s: {j.hung[:5]}")
        if j.errors_500:
            breaches.append(f"{len(j.errors_500)} answers were 500: {j.errors_500[:5]}")
        if j.bad_503:
            breaches.append(f"{len(j.bad_503)} 503 answers without Retry-After or the error shape: {j.bad_503[:5]}")
        breaches += [f"fault {f['fault']}: {f['breach']}" for f in self.faults if "breach" in f]
        breaches += [f"client view: {v}" for v in self.outage_views if "BREACH" in v]
        breaches += [f"process died unprompted: {e}" for e in self.stack.unexpected_exits]
        breaches += [f"client error: {e}" for e in self.client_errors[:5]]
        if settle.get("pending"):
            breaches.append(f"outbox not delivered {settle['seconds']} s after the load: {settle}")
        if signed_out["sessions_still_open"] or signed_out["refresh_tokens_still_valid"]:
            breaches.append(f"signed out but still accepted: {signed_out}")
        outcomes = collections.Counter(w["outcome"] for w in j.writes)
        summary = {
            "command": " ".join(["bench/faults.py", *sys.argv[1:]]),
            "load_seconds": round(load_seconds),
            "people": len(self.users),
            "requests": j.requests,
            "answers": {str(k): v for k, v in sorted(j.answers.items(), key=lambda kv: str(kv[0]))},
            "writes": dict(outcomes),
            "faults": self.faults,
            "outage_views": self.outage_views,
            "settle": settle,
            "signed_out": signed_out,
            "figures": check["figures"],
            "breaches": breaches,
        }
        print(json.dumps(summary, indent=2, default=str))
        if self.args.json:
            Path(self.args.json).write_text(json.dumps(summary, indent=2, default=str))
        say("PASS: every invariant held" if not breaches else f"FAIL: {len(breaches)} breaches")
        return 1 if breaches else 0


# --- the helpers that run inside Django (on the run's services) -------------------------------------------------


def _django():
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aether.settings")
    django.setup()


def helper_setup(payload: dict) -> dict:
    _django()
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    from accounts.models import Membership, Team, User
    from tasks.models import Project

    team, _ = Team.objects.get_or_create(slug="faults", defaults={"name": "Faults", "time_zone": "UTC"})
    users = []
    for i in range(1, payload["people"] + 1):
        handle = f"p{i:02d}"
        user = User.objects.filter(email=f"{handle}@faults.example").first() or User.objects.create_user(
            email=f"{handle}@faults.example", password=PASSWORD, full_name=f"Person {i:02d}"
        )
        Membership.objects.get_or_create(team=team, user=user, defaults={"role": "owner" if i == 1 else "member"})
        users.append({"id": user.pk, "email": user.email, "handle": handle})
    projects = [Project.objects.get_or_create(team=team, name=f"Faults {n}")[0].pk for n in range(1, 4)]
    for name, seconds in payload["jobs"].items():
        interval, _ = IntervalSchedule.objects.get_or_create(every=seconds, period=IntervalSchedule.SECONDS)
        PeriodicTask.objects.filter(name=name).update(interval=interval, expire_seconds=seconds)
    return {"users": users, "projects": projects}


def helper_pending(payload: dict) -> dict:
    _django()
    from notifications.models import OutboxEmail, OutboxState

    return {"pending": OutboxEmail.objects.exclude(status__in=[OutboxState.SENT, OutboxState.MERGED]).count()}


def helper_check(payload: dict) -> dict:
    _django()
    from django.db.models import Count, F

    from analytics.recompute import figures_verify
    from notifications.models import Kind, Notification, OutboxEmail, OutboxState
    from tasks.deadlines import deadlines_at
    from tasks.models import Activity, Comment, DeadlineNotice, NoticeKind, Occurrence, Recurrence, Task

    breaches: list[str] = []
    writes = payload["writes"]

    def created_by_people(title: str):
        """The "created" rows of tasks people made with this title (the repeating job's copies have no actor)."""
        return Activity.objects.filter(verb="created", actor__isnull=False, new_value__title=title)

    def need(condition: bool, message: str):
        if not condition:
            breaches.append(message)

    # 1. writes: acknowledged present once, refused absent, unknown at most once.
    lost = kept_refused = in_doubt_landed = 0
    for w in writes:
        if w["op"] == "create":
            found = created_by_people(w["title"]).count()
        elif w["op"] == "edit":
            found = Activity.objects.filter(verb="updated", field="title", new_value=f"Edited {w['marker']}").count()
        elif w["op"] == "comment":
            found = Comment.objects.filter(body__contains=w["marker"]).count()
        else:
            continue
        if w["outcome"] == "ack" and found != 1:
            lost += 1
            breaches.append(f"acknowledged {w['op']} {w['marker']} found {found} times")
        elif w["outcome"] == "refused" and found != 0:
            kept_refused += 1
            breaches.append(f"refused ({w['status']}) {w['op']} {w['marker']} found {found} times")
        elif w["outcome"] == "in doubt" and found == 1:
            in_doubt_landed += 1
        if w["outcome"] in ("unknown", "in doubt") and found > 1:
            breaches.append(f"{w['op']} {w['marker']} (answer lost) found {found} times")

    # 2. activity: per task and verb, between the acknowledged and those plus the unknown.
    expected = collections.defaultdict(lambda: [0, 0])
    for w in writes:
        task_id = w.get("task")
        if w["op"] == "create" and w["outcome"] != "refused":
            task_id = created_by_people(w["title"]).values_list("task_id", flat=True).first()
            verb = "created"
        elif w["op"] == "comment":
            verb = "commented"
        else:
            verb = w.get("verb")
        if task_id is None or verb is None:
            continue
        slot = expected[(task_id, verb)]
        slot[0] += w["outcome"] == "ack"
        slot[1] += w["outcome"] in ("ack", "unknown", "in doubt")
    counts = collections.Counter(
        Activity.objects.filter(task_id__in={k[0] for k in expected}, actor__isnull=False).values_list(
            "task_id", "verb"
        )
    )
    activity_off = 0
    for (task_id, verb), (low, high) in expected.items():
        n = counts.get((task_id, verb), 0)
        if not low <= n <= high:
            activity_off += 1
            breaches.append(
                f"task {task_id}: {n} '{verb}' activity rows for {low} acknowledged (+{high - low} unknown)"
            )

    # 3. emails: rows that should exist, each sent once, one file each.
    for w in writes:
        if w["op"] == "comment" and w["outcome"] == "ack":
            comment = Comment.objects.filter(body__contains=w["marker"]).first()
            if comment is None:
                continue
            n = OutboxEmail.objects.filter(kind=Kind.MENTIONED, user_id=w["mentioned"], task_id=w["task"]).count()
            need(n >= 1, f"no mention email for comment {w['marker']}")
    assigned_tasks = (
        Task.objects.filter(occurrence=None)
        .exclude(assignee=None)
        .exclude(assignee=F("created_by"))
        .values_list("pk", "assignee_id")
    )
    for task_id, assignee in assigned_tasks:
        need(
            OutboxEmail.objects.filter(kind=Kind.TASK_ASSIGNED, task_id=task_id, user_id=assignee).exists(),
            f"no assignment email for task {task_id}",
        )
    rows = OutboxEmail.objects.exclude(status=OutboxState.MERGED)
    unsent = rows.exclude(status=OutboxState.SENT).count()
    need(unsent == 0, f"{unsent} outbox rows not sent")
    sent = list(rows.filter(status=OutboxState.SENT).values_list("pk", "provider_message_id"))
    ids = collections.Counter(pid for _, pid in sent)
    doubled_ids = [pid for pid, n in ids.items() if n > 1 or not pid]
    need(not doubled_ids, f"provider message ids not unique: {doubled_ids[:5]}")
    files = collections.Counter()
    mail = Path(payload["mail"])
    for path in mail.glob("*.eml") if mail.exists() else []:
        files[email.message_from_bytes(path.read_bytes())["Message-ID"]] += 1
    doubled_files = sum(n - 1 for n in files.values() if n > 1)
    missing_files = [pid for pid in ids if files.get(pid, 0) == 0]
    stray_files = [m for m in files if m not in ids]
    need(not doubled_files, f"{doubled_files} emails written more than once")
    need(not missing_files, f"{len(missing_files)} sent rows without their email file: {missing_files[:3]}")
    need(not stray_files, f"{len(stray_files)} email files of no sent row (sent twice?): {stray_files[:3]}")
    need(sum(files.values()) == len(sent), f"{sum(files.values())} email files for {len(sent)} sent rows")

    # 4. deadlines and repeats: exactly once.
    rules = deadlines_at()
    NOTICE_KINDS = {NoticeKind.OVERDUE: Kind.TASK_OVERDUE, NoticeKind.DUE_SOON: Kind.TASK_DUE_SOON}
    deadline_missed = deadline_doubled = 0
    for kind, window in ((NoticeKind.OVERDUE, rules.overdue()), (NoticeKind.DUE_SOON, rules.due_soon())):
        for task in Task.objects.active().filter(window, due_date__isnull=False):
            notices = DeadlineNotice.objects.filter(task=task, kind=kind, due_date=task.due_date).count()
            in_app = Notification.objects.filter(task=task, kind=NOTICE_KINDS[kind]).count()
            emails = OutboxEmail.objects.filter(task=task, kind=NOTICE_KINDS[kind]).exclude(status=OutboxState.MERGED)
            emails = emails.count()
            if notices == 0 or in_app == 0 or emails == 0:
                deadline_missed += 1
                breaches.append(
                    f"task {task.pk} {kind} due {task.due_date}: {notices} notices, {in_app} in-app, {emails} emails"
                )
    for kind in NoticeKind.values:
        for row in (
            Notification.objects.filter(kind=NOTICE_KINDS[kind])
            .values("task_id", "user_id")
            .annotate(n=Count("id"))
            .filter(n__gt=1)
        ):
            notices = DeadlineNotice.objects.filter(task_id=row["task_id"], kind=kind).count()
            if row["n"] > notices:
                deadline_doubled += 1
                breaches.append(f"task {row['task_id']}: {row['n']} {kind} notifications for {notices} due dates")
    occurrences_missed = occurrences_doubled = 0
    today = rules.today("UTC")
    # A series whose task is in the trash is paused (the job makes nothing for it): not expected to catch up.
    for recurrence in Recurrence.objects.filter(stopped_at__isnull=True, task__deleted_at__isnull=True):
        # Caught up: the job made every date up to today (next_on is the first date not made yet).
        if recurrence.next_on is not None and recurrence.next_on <= today:
            occurrences_missed += 1
            breaches.append(f"recurrence {recurrence.pk}: {recurrence.next_on} not made by the end")
        made = list(Occurrence.objects.filter(recurrence=recurrence).values_list("on_date", "task_id"))
        task_ids = [t for _, t in made]
        need(None not in task_ids and len(set(task_ids)) == len(task_ids), f"recurrence {recurrence.pk}: {made}")
        # Each date one task: the tasks the job created for this series (their "created" rows name it).
        copies = Activity.objects.filter(verb="created", actor=None, new_value__series=recurrence.task_id).count()
        if copies != len(made):
            occurrences_doubled += copies > len(made)
            breaches.append(f"recurrence {recurrence.pk}: {copies} tasks made for {len(made)} dates")

    # 5. analytics' kept figures against a recompute.
    differences = figures_verify()
    need(not differences, f"{len(differences)} analytics figures differ from a recompute: {differences[:3]}")

    return {
        "breaches": breaches,
        "figures": {
            "acknowledged_writes_lost": lost,
            "refused_writes_kept": kept_refused,
            "in_doubt_writes_landed": in_doubt_landed,
            "activity_rows_off": activity_off,
            "outbox_rows": rows.count(),
            "emails_sent": len(sent),
            "email_files": sum(files.values()),
            "emails_lost": unsent + len(missing_files),
            "emails_doubled": doubled_files + len(stray_files) + len(doubled_ids),
            "deadline_notices": DeadlineNotice.objects.count(),
            "deadline_notices_missed": deadline_missed,
            "deadline_notices_doubled": deadline_doubled,
            "occurrences": Occurrence.objects.count(),
            "occurrences_missed": occurrences_missed,
            "occurrences_doubled": occurrences_doubled,
            "analytics_differences": len(differences),
            "tasks": Task.objects.count(),
            "comments": Comment.objects.count(),
        },
    }


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("_setup", "_pending", "_check"):
        payload = json.loads(sys.stdin.read() or "{}")
        answer = {"_setup": helper_setup, "_pending": helper_pending, "_check": helper_check}[argv[0]](payload)
        print(json.dumps(answer, default=str))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", action="store_true", help="about a minute, one fault of each kind")
    parser.add_argument("--seconds", type=float, help="length of the load (default 300, or 50 with --short)")
    parser.add_argument("--down", type=float, default=None, help="seconds PostgreSQL or Redis stays down")
    parser.add_argument("--settle", type=float, default=90, help="at most this long to settle after the load")
    parser.add_argument("--seed", type=int, default=24)
    parser.add_argument("--var", help="the run's folder (default: a new temporary one, removed at the end)")
    parser.add_argument("--keep", action="store_true", help="keep the run's folder (logs, mail, data)")
    parser.add_argument("--json", help="also write the summary to this file")
    args = parser.parse_args(argv)
    args.seconds = args.seconds or (50 if args.short else 300)
    args.down = args.down if args.down is not None else (2 if args.short else 5)
    # SIGTERM (a test's timeout, Ctrl-C's cousin) unwinds like Ctrl-C: the run's processes and services stop.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    return Run(args).go()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
