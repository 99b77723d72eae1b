"""HTTP load test of Aether (gunicorn), with locust: the mobile API, people in a browser, and two saturating
profiles that bench/load.py uses to compare the task list API with a trivial Django view (the ceiling).

`bench/load.py` starts the server with production settings and runs the profiles; this file can also be used
on its own. What one simulated mobile user (MobileClient) does, by weight: list a page of tasks (with filters
now and then), open a task, read its comments, look at /me/, create a task (with an Idempotency-Key, retried
once with the same key as a flaky network would) and comment on it. Every user signs in once with a JWT and
refreshes it when it expires.

Run it against a server on this machine only (see docs/performance.md for the exact set-up and figures):

    .venv/bin/locust -f bench/locustfile.py --headless -u 20 -r 5 -t 60s --host http://127.0.0.1:8001

AETHER_BENCH_EMAIL / AETHER_BENCH_PASSWORD choose the account (default: the demo member bob).

A GET whose kept-alive connection the server closed just as it was sent (a gunicorn worker recycled after
`max_requests` drops its idle connections) is sent once more on a new connection, as browsers and HTTP
libraries do for idempotent requests (RFC 9110, 9.2.2); such retries are counted and written to
AETHER_BENCH_RETRIES_FILE when the run ends, so bench/load.py reports them beside the errors. A second
failure, and any failure of a POST, is an error.
"""

import os
import random
import re
import uuid

from locust import HttpUser, between, constant, events, task
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

EMAIL = os.environ.get("AETHER_BENCH_EMAIL", "bob@example.com")
PASSWORD = os.environ.get("AETHER_BENCH_PASSWORD", "aether-demo")
RETRIED = [0]


class _CountedRetry(Retry):
    def increment(self, *args, **kwargs):
        RETRIED[0] += 1
        return super().increment(*args, **kwargs)


@events.quitting.add_listener
def _write_retries(environment, **kwargs):
    if os.environ.get("AETHER_BENCH_RETRIES_FILE"):
        with open(os.environ["AETHER_BENCH_RETRIES_FILE"], "w") as f:
            f.write(str(RETRIED[0]))


class AetherUser(HttpUser):
    abstract = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Once, for a GET on a connection the server closed; never for a POST, never on a status code.
        retry = _CountedRetry(total=1, connect=1, read=1, status=0, other=0, allowed_methods={"GET", "HEAD"})
        self.client.mount("http://", HTTPAdapter(max_retries=retry))


class MobileClient(AetherUser):
    wait_time = between(0.05, 0.3)

    def on_start(self):
        if os.environ.get("AETHER_BENCH_ACCESS"):  # signed in once by bench/load.py: Argon2 is not the subject
            self.tokens = {"access": os.environ["AETHER_BENCH_ACCESS"], "refresh": os.environ["AETHER_BENCH_REFRESH"]}
        else:
            response = self.client.post("/api/v1/auth/token/", json={"email": EMAIL, "password": PASSWORD})
            response.raise_for_status()
            self.tokens = response.json()
        self.client.headers["Authorization"] = f"Bearer {self.tokens['access']}"
        # "(start)": what a client reads once when it opens, kept apart from the steady state measured below
        me = self.client.get("/api/v1/me/", name="(start) /api/v1/me/").json()
        projects = self.client.get("/api/v1/projects/", name="(start) /api/v1/projects/").json()["results"]
        self.projects = [p["id"] for p in projects]
        tasks = self.client.get("/api/v1/tasks/?page_size=50", name="(start) /api/v1/tasks/").json()["results"]
        self.task_ids = [t["id"] for t in tasks]
        self.me = me["id"]

    def _get(self, path, name):
        with self.client.get(path, name=name, catch_response=True) as response:
            if response.status_code == 401:  # access token expired: rotate it, as the app does
                refreshed = self.client.post("/api/v1/auth/token/refresh/", json={"refresh": self.tokens["refresh"]})
                self.tokens = refreshed.json()
                self.client.headers["Authorization"] = f"Bearer {self.tokens['access']}"
                response.success()
            elif response.status_code != 200:
                response.failure(f"{response.status_code}: {response.text[:200]}")
            return response

    @task(6)
    def list_tasks(self):
        query = random.choice(
            ["", "&assignee=me", "&status=in_progress", "&ordering=due_date", "&overdue=true", "&priority=high"]
        )
        self._get(f"/api/v1/tasks/?page_size=50{query}", "/api/v1/tasks/?page_size=50[&filter]")

    @task(4)
    def open_task(self):
        if self.task_ids:
            self._get(f"/api/v1/tasks/{random.choice(self.task_ids)}/", "/api/v1/tasks/{id}/")

    @task(2)
    def read_comments(self):
        if self.task_ids:
            self._get(f"/api/v1/tasks/{random.choice(self.task_ids)}/comments/", "/api/v1/tasks/{id}/comments/")

    @task(1)
    def me_endpoint(self):
        self._get("/api/v1/me/", "/api/v1/me/")

    @task(1)
    def create_task_and_comment(self):
        key = uuid.uuid4().hex
        body = {
            "project": random.choice(self.projects),
            "title": f"Load test task {key[:8]}",
            "priority": random.choice(["low", "medium", "high", "urgent"]),
            "assignee": self.me,
            "stages": [{"name": "Do", "estimated_hours": 2}, {"name": "Check", "estimated_hours": 1}],
        }
        headers = {"Idempotency-Key": key}
        first = self.client.post("/api/v1/tasks/", json=body, headers=headers, name="POST /api/v1/tasks/")
        again = self.client.post("/api/v1/tasks/", json=body, headers=headers, name="POST /api/v1/tasks/ (retry)")
        if first.status_code == 201 and again.status_code == 200 and again.json()["id"] == first.json()["id"]:
            task_id = first.json()["id"]
            self.client.post(
                f"/api/v1/tasks/{task_id}/comments/", json={"body": "Started."}, name="/api/v1/tasks/{id}/comments/"
            )


BROWSER_EMAIL = os.environ.get("AETHER_BENCH_BROWSER_EMAIL", "alice@example.com")


class Browser(AetherUser):
    """A person in the browser: My work, a board, task pages (and the dashboard where there is one), and now
    and then a new task through the form, completed from its page."""

    wait_time = between(0.05, 0.3)

    def on_start(self):
        if os.environ.get("AETHER_BENCH_SESSION"):  # signed in once by bench/load.py
            self.client.cookies.set("sessionid", os.environ["AETHER_BENCH_SESSION"])
            self._after_sign_in()
            return
        page = self.client.get("/accounts/login/", name="/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        response = self.client.post(
            "/accounts/login/",
            data={"username": BROWSER_EMAIL, "password": PASSWORD, "csrfmiddlewaretoken": token},
            headers={"Referer": self.host + "/accounts/login/"},
            name="POST /accounts/login/",
            allow_redirects=False,
        )
        if response.status_code != 302:
            raise RuntimeError(f"sign-in failed: {response.status_code}")
        self._after_sign_in()

    def _after_sign_in(self):
        self._page("/my-work/", "(start) /my-work/")  # sets the CSRF cookie the forms need
        board = self.client.get("/projects/", name="(start) /projects/")
        self.projects = sorted({int(n) for n in re.findall(r'href="/projects/(\d+)/"', board.text)})
        self.task_ids = []
        for pk in self.projects[:3]:
            self.task_ids += [
                int(n)
                for n in re.findall(
                    r'href="/tasks/(\d+)/"', self.client.get(f"/projects/{pk}/", name="(start) /projects/{id}/").text
                )
            ]
        with self.client.get("/dashboard/", name="(start) /dashboard/ (is there one?)", catch_response=True) as probe:
            self.dashboard = probe.status_code == 200
            probe.success()

    def _page(self, path, name):
        with self.client.get(path, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}")

    def _csrf(self):
        return self.client.cookies.get("csrftoken", "")

    @task(4)
    def my_work(self):
        self._page("/my-work/", "/my-work/")

    @task(3)
    def board(self):
        if self.projects:
            self._page(f"/projects/{random.choice(self.projects)}/", "/projects/{id}/ (board)")

    @task(4)
    def task_page(self):
        if self.task_ids:
            self._page(f"/tasks/{random.choice(self.task_ids)}/", "/tasks/{id}/")

    @task(1)
    def dashboard_page(self):
        if self.dashboard:
            self._page("/dashboard/", "/dashboard/")

    @task(1)
    def create_and_complete(self):
        if not self.projects:
            return
        project = random.choice(self.projects)
        headers = {"Referer": f"{self.host}/projects/{project}/", "X-CSRFToken": self._csrf()}
        created = self.client.post(
            f"/projects/{project}/tasks/new/",
            data={"title": f"Load {uuid.uuid4().hex[:8]}", "priority": "2", "csrfmiddlewaretoken": self._csrf()},
            headers=headers,
            name="POST /projects/{id}/tasks/new/",
            allow_redirects=False,
        )
        match = re.search(r"/tasks/(\d+)/", created.headers.get("Location", ""))
        if created.status_code != 302 or not match:
            return
        task_id = int(match.group(1))
        self._page(f"/tasks/{task_id}/", "/tasks/{id}/")
        with self.client.post(
            f"/tasks/{task_id}/status/",
            data={"status": "completed", "csrfmiddlewaretoken": self._csrf()},
            headers=headers,
            name="POST /tasks/{id}/status/ (complete)",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"{response.status_code}")


class TaskListOnly(AetherUser):
    """Saturating: the mobile task list (a page of 50) as fast as the server answers (no think time)."""

    wait_time = constant(0)

    def on_start(self):
        MobileClient.on_start(self)

    @task
    def list_tasks(self):
        self.client.get("/api/v1/tasks/?page_size=50", name="/api/v1/tasks/?page_size=50 (saturating)")


# Each simulated person's own filter of the task list (cycled over the 32 people): what a mobile client polls.
FILTERS = [
    "?page_size=50",
    "?page_size=50&assignee=me",
    "?page_size=50&ordering=due_date",
    "?page_size=50&ordering=-priority",
    "?page_size=50&status=in_progress",
    "?page_size=50&priority=high&ordering=-created_at",
    "?page_size=50&status=pending&ordering=due_date",
    "?page_size=25&ordering=priority",
]
TOKENS = [t for t in os.environ.get("AETHER_BENCH_TOKENS", "").split(",") if t]
_next_person = [0]


class DistinctRevalidating(AetherUser):
    """Saturating: a distinct person each (their own token, from AETHER_BENCH_TOKENS, and their own filter),
    polling their task list: three requests in four revalidate the copy they hold (If-None-Match with its
    ETag: a 304 while nothing changed), one in four asks afresh (a page computed, no cache of any kind)."""

    wait_time = constant(0)

    def on_start(self):
        person = _next_person[0]
        _next_person[0] += 1
        self.client.headers["Authorization"] = f"Bearer {TOKENS[person % len(TOKENS)]}"
        self.url = "/api/v1/tasks/" + FILTERS[person % len(FILTERS)]
        self.etag = None
        self.turn = person  # people start at different points of the cycle

    @task
    def poll(self):
        self.turn += 1
        if self.etag is not None and self.turn % 4:
            with self.client.get(
                self.url,
                headers={"If-None-Match": self.etag},
                name="/api/v1/tasks/ revalidated (If-None-Match)",
                catch_response=True,
            ) as response:
                if response.status_code not in (200, 304):
                    response.failure(str(response.status_code))
                elif response.status_code == 200:
                    self.etag = response.headers.get("ETag")
            return
        with self.client.get(self.url, name="/api/v1/tasks/ computed", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(str(response.status_code))
            else:
                self.etag = response.headers.get("ETag")


class TrivialViewOnly(AetherUser):
    """Saturating: a view that returns a few bytes, through every middleware (bench/load_urls.py): what the
    framework and the server can do at best on this machine."""

    wait_time = constant(0)

    @task
    def trivial(self):
        self.client.get("/bench/trivial/", name="/bench/trivial/ (ceiling)")
