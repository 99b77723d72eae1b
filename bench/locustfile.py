"""HTTP load test of the mobile API against a running Aether (gunicorn), with locust.

What one simulated mobile user does, by weight: list a page of tasks (with filters now and then), open a task,
read its comments, look at /me/, create a task (with an Idempotency-Key, retried once with the same key as a
flaky network would) and comment on it. Every user signs in once with a JWT and refreshes it when it expires.

Run it against a server on this machine only (see docs/performance.md for the exact set-up and figures):

    .venv/bin/locust -f bench/locustfile.py --headless -u 20 -r 5 -t 60s --host http://127.0.0.1:8001

AETHER_BENCH_EMAIL / AETHER_BENCH_PASSWORD choose the account (default: the demo member bob).
"""

import os
import random
import uuid

from locust import HttpUser, between, task

EMAIL = os.environ.get("AETHER_BENCH_EMAIL", "bob@example.com")
PASSWORD = os.environ.get("AETHER_BENCH_PASSWORD", "aether-demo")


class MobileClient(HttpUser):
    wait_time = between(0.05, 0.3)

    def on_start(self):
        response = self.client.post("/api/v1/auth/token/", json={"email": EMAIL, "password": PASSWORD})
        response.raise_for_status()
        self.tokens = response.json()
        self.client.headers["Authorization"] = f"Bearer {self.tokens['access']}"
        me = self.client.get("/api/v1/me/").json()
        self.projects = [p["id"] for p in self.client.get("/api/v1/projects/").json()["results"]]
        self.task_ids = [t["id"] for t in self.client.get("/api/v1/tasks/?page_size=50").json()["results"]]
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
