"""Every writer, from every door (the API, the HTML pages, Django admin, the scheduled jobs, the account
services), changes the ETag of what it affects, and the next conditional GET brings the change: each goes
through the one observer registry (aether/changes.py), which renews the generations once it commits.

A door nobody can forget: every ModelAdmin of a model whose rows an API answer shows writes through the
services or reports its writes (aether/admin_services.py), checked by walking admin.site._registry.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from accounts import services as account_services
from accounts.tests.admin_forms import admin_form
from accounts.tests.factories import UserFactory, sign_in_to_admin
from aether.admin_services import ReadOnlyAdminMixin, ServiceAdminMixin
from notifications.models import Kind, Notification
from notifications.services import notify
from tasks import services
from tasks.models import Comment, Label, Status, Template
from tasks.services.archiving import completed_tasks_archive
from tasks.services.deadline_notices import overdue_notify
from tasks.services.recurrence import recurrences_run
from tasks.tests.api_helpers import api_client
from tasks.tests.factories import LabelFactory, ProjectFactory, TemplateFactory, TemplateStageFactory

pytestmark = pytest.mark.django_db

URLS = {
    "list": "/api/v1/tasks/",
    "task": "/api/v1/tasks/{task}/",
    "comments": "/api/v1/tasks/{task}/comments/",
    "dashboard": "/api/v1/dashboard/?team={team}",
    "projects": "/api/v1/projects/",
    "templates": "/api/v1/templates/",
    "me": "/api/v1/me/",
    "notifications": "/api/v1/notifications/",
    "preferences": "/api/v1/notifications/preferences/",
}


class World:
    """A team with a task (assigned to the member, overdue, one stage, a label, a comment), and the member's API
    client. Each write "commits" as the code under test's outermost atomic block exits (conftest.py)."""

    def __init__(self, team_roles):
        self.team, _other, self.people = team_roles
        self.owner, self.member = self.people["owner"], self.people["member"]
        self.project = ProjectFactory(team=self.team, name="Launch")
        self.label = LabelFactory(team=self.team, name="urgent")
        self.template = TemplateFactory(team=self.team)
        TemplateStageFactory(template=self.template, order=1)
        self.task, _ = services.task_create(
            actor=self.owner,
            project=self.project,
            title="Write the plan",
            assignee=self.member,
            labels=[self.label],
            due_date=datetime.now(UTC).date() - timedelta(days=3),
            stages=[{"name": "Draft", "estimated_hours": "2"}],
        )
        self.comment = services.comment_create(actor=self.member, task=self.task, body="On it")
        self.client = api_client(self.member)

    def url(self, key: str) -> str:
        return URLS[key].format(task=self.task.pk, team=self.team.pk)

    def tags(self) -> dict[str, str]:
        return {key: self.client.get(self.url(key))["ETag"] for key in URLS}

    def browser(self, user=None) -> Client:
        browser = Client()
        browser.force_login(user or self.member)
        return browser

    def root(self) -> Client:
        return sign_in_to_admin(Client(), UserFactory(email="root@example.test", is_staff=True, is_superuser=True))

    def admin_post(self, model: str, pk: int, form_id: str, **changes) -> None:
        browser = self.root()
        url = reverse(f"admin:{model}_change", args=[pk])
        data = admin_form(browser, url, form_id)
        data.update(changes)
        response = browser.post(url, data)
        assert response.status_code == 302, response.content[:2000]


# --- the writers: each returns nothing; what it affects is listed in WRITERS ---------------------------------


def api_task_patch(w):
    assert w.client.patch(f"/api/v1/tasks/{w.task.pk}/", {"title": "Renamed"}, format="json").status_code == 200


def api_task_create(w):
    body = {"project": w.project.pk, "title": "Another"}
    assert w.client.post("/api/v1/tasks/", body, format="json").status_code == 201


def api_stage_start(w):
    stage = w.task.stages.get()
    response = w.client.patch(f"/api/v1/stages/{stage.pk}/", {"status": "in_progress"}, format="json")
    assert response.status_code == 200


def api_comment(w):
    assert w.client.post(f"/api/v1/tasks/{w.task.pk}/comments/", {"body": "Done?"}, format="json").status_code == 201


def api_comment_deleted(w):
    assert w.client.delete(f"/api/v1/comments/{w.comment.pk}/").status_code == 204


def api_trash(w):
    assert w.client.delete(f"/api/v1/tasks/{w.task.pk}/").status_code == 204


def api_recurrence(w):
    response = w.client.put(f"/api/v1/tasks/{w.task.pk}/recurrence/", {"rule": "FREQ=WEEKLY"}, format="json")
    assert response.status_code == 200, response.content


def api_project_created_by_an_admin(w):
    body = {"team": w.team.pk, "name": "Second"}
    assert api_client(w.people["admin"]).post("/api/v1/projects/", body, format="json").status_code == 201


def api_template_created_by_an_admin(w):
    body = {"team": w.team.pk, "name": "Release", "stages": [{"name": "Ship", "estimated_hours": 1}]}
    assert api_client(w.people["admin"]).post("/api/v1/templates/", body, format="json").status_code == 201


def api_notifications_read(w):
    assert w.client.post("/api/v1/notifications/read-all/").json()["marked"] >= 1


def api_preferences(w):
    body = [{"kind": "task_assigned", "email": False, "in_app": True}]
    assert w.client.put("/api/v1/notifications/preferences/", body, format="json").status_code == 200


def html_task_edit(w):
    data = {"title": "Renamed", "description": "", "priority": "2", "due_date": "", "assignee": "", "labels": []}
    assert w.browser().post(reverse("tasks:task_edit", args=[w.task.pk]), data).status_code == 302


def html_comment(w):
    response = w.browser().post(reverse("tasks:comment_add", args=[w.task.pk]), {"body": "From the page"})
    assert response.status_code in (200, 302)
    assert Comment.objects.filter(body="From the page").exists()


def html_label_added(w):
    response = w.browser().post(reverse("tasks:label_add", args=[w.task.pk]), {"name": "new", "color": "#00ff00"})
    assert response.status_code in (200, 302)
    assert Label.objects.filter(name="new").exists()


def html_profile_name(w):
    response = w.browser().post(reverse("accounts:profile"), {"full_name": "Someone Else"})
    assert response.status_code in (200, 302)
    w.member.refresh_from_db()
    assert w.member.full_name == "Someone Else"


def admin_task(w):
    w.admin_post("tasks_task", w.task.pk, "task_form", title="Renamed in admin")


def admin_label(w):
    w.admin_post("tasks_label", w.label.pk, "label_form", name="on fire", color="#00ff00")


def admin_comment(w):
    # Only its author edits a comment (accounts/permissions.py may_edit_comment); the operator may delete it.
    response = w.root().post(reverse("admin:tasks_comment_delete", args=[w.comment.pk]), {"post": "yes"})
    assert response.status_code == 302, response.content[:2000]


def admin_template(w):
    w.admin_post("tasks_template", w.template.pk, "template_form", name="Renamed template", created_by=str(w.owner.pk))


def admin_user_name(w):
    w.admin_post("accounts_user", w.member.pk, "user_form", full_name="Renamed by admin")


def job_archive(w):
    services.stage_complete(actor=w.owner, stage=w.task.stages.get(), actual_hours="2")
    assert completed_tasks_archive(now=datetime.now(UTC) + timedelta(days=365)).archived == 1


def job_overdue(w):
    Notification.objects.filter(user=w.member).delete()  # what the job adds must be new
    assert overdue_notify().claimed == 1


def job_recurrence(w):
    services.recurrence_set(actor=w.owner, task=w.task, rule="FREQ=DAILY")
    assert recurrences_run(now=datetime.now(UTC) + timedelta(days=2)).created >= 1


def job_analytics_rebuild(w):
    call_command("analytics_rebuild", verbosity=0)


def job_forecasts_refresh(w):
    # A forecast gone stale behind the observers' back (a lost refresh): the team's refresh rewrites it and
    # reports the task, so its ETags move on.
    from analytics.forecasts.refresh import team_refresh
    from analytics.models import Forecast

    Forecast.objects.filter(task=w.task).update(reason="stale")
    assert team_refresh(w.team.pk, force=True).changed == 1


def job_forecasts_daily(w):
    from analytics.forecasts.refresh import forecasts_daily
    from analytics.models import Forecast

    Forecast.objects.filter(task=w.task).update(reason="stale")
    assert w.team.pk in forecasts_daily().claimed


def member_joins(w):
    account_services.membership_add(actor=w.owner, team=w.team, user=UserFactory())


def member_role(w):
    account_services.membership_set_role(actor=w.owner, team=w.team, user=w.member, role="viewer")


def team_time_zone(w):
    account_services.team_update(actor=w.owner, team=w.team, data={"time_zone": "Pacific/Kiritimati"})


def notified(w):
    notify(kind=Kind.TASK_COMMENTED, user=w.member, actor=w.owner, event="e:9", message="Hi", task=w.task)


TASK_VIEWS = {"list", "task", "dashboard"}
WRITERS = {
    "API: change a task": (api_task_patch, TASK_VIEWS),
    "API: create a task": (api_task_create, {"list", "dashboard"}),
    "API: start a stage": (api_stage_start, TASK_VIEWS),
    "API: comment": (api_comment, {"comments", "task", "list"}),
    "API: delete a comment": (api_comment_deleted, {"comments", "task", "list"}),
    "API: trash a task": (api_trash, TASK_VIEWS),
    "API: make a task repeat": (api_recurrence, {"task"}),
    "API: a project created": (api_project_created_by_an_admin, {"projects", "me", "list", "dashboard"}),
    "API: a template created": (api_template_created_by_an_admin, {"templates"}),
    "API: notifications read": (api_notifications_read, {"notifications"}),
    "API: preferences": (api_preferences, {"preferences"}),
    "HTML: the task form": (html_task_edit, TASK_VIEWS),
    "HTML: a comment": (html_comment, {"comments", "task"}),
    "HTML: a label added": (html_label_added, {"list", "task"}),
    "HTML: a new name on the profile": (html_profile_name, {"me", "comments", "dashboard"}),
    "admin: a task": (admin_task, TASK_VIEWS),
    "admin: a label renamed": (admin_label, {"list", "task"}),
    "admin: a comment deleted": (admin_comment, {"comments", "list"}),
    "admin: a template renamed": (admin_template, {"templates"}),
    "admin: a person renamed": (admin_user_name, {"me", "comments"}),
    "job: archiving": (job_archive, TASK_VIEWS),
    "job: overdue notices": (job_overdue, {"notifications"}),
    "job: repeating tasks": (job_recurrence, {"list", "dashboard"}),
    "job: analytics_rebuild": (job_analytics_rebuild, {"dashboard"}),
    "job: a team's forecasts refreshed": (job_forecasts_refresh, TASK_VIEWS),
    "job: the daily forecasts": (job_forecasts_daily, TASK_VIEWS),
    "accounts: a member joins": (member_joins, {"me", "projects", "dashboard"}),
    "accounts: a role changes": (member_role, {"me", "list", "task", "notifications"}),
    "accounts: the team's time zone": (team_time_zone, {"list", "task", "dashboard", "me"}),
    "notifications: a new one": (notified, {"notifications"}),
}


@pytest.mark.parametrize(("writer", "affected"), WRITERS.values(), ids=WRITERS.keys())
def test_each_writer_changes_the_etag_of_what_it_affects(team_roles, writer, affected):
    world = World(team_roles)
    before = world.tags()

    writer(world)

    for key in affected:
        response = world.client.get(world.url(key), HTTP_IF_NONE_MATCH=before[key])
        assert response.status_code != 304, f"{key} is still not modified after the change"
        assert response.status_code == 404 or response["ETag"] != before[key]


def test_what_a_write_does_not_affect_stays_not_modified(team_roles):
    world = World(team_roles)
    before = world.tags()

    api_notifications_read(world)

    for key in ("list", "task", "comments", "dashboard", "projects", "templates", "me"):
        assert world.client.get(world.url(key), HTTP_IF_NONE_MATCH=before[key]).status_code == 304, key


def test_a_write_that_rolls_back_moves_nothing(team_roles):
    import contextlib

    from django.db import transaction

    world = World(team_roles)
    before = world.tags()

    with contextlib.suppress(RuntimeError), transaction.atomic():
        services.task_update(actor=world.owner, task=world.task, data={"title": "Rolled back"})
        raise RuntimeError("the request fails after the write: nothing commits, nothing is renewed")

    assert world.client.get(world.url("task"), HTTP_IF_NONE_MATCH=before["task"]).status_code == 304


def test_a_stage_completed_elsewhere_shows_in_the_task_status(team_roles):
    world = World(team_roles)
    tag = world.tags()["task"]
    services.stage_complete(actor=world.owner, stage=world.task.stages.get(), actual_hours="1")

    response = world.client.get(world.url("task"), HTTP_IF_NONE_MATCH=tag)

    assert response.json()["status"] == Status.COMPLETED


# Models whose rows an API answer shows; their admin writes through the services (which report) or not at all.
SHOWN = {"task", "stage", "comment", "label", "project", "template", "templatestage", "notification",
         "notificationpreference", "emailpreference", "user", "team", "membership"}  # fmt: skip


def test_every_admin_of_shown_rows_is_a_door_that_reports():
    forgotten = [
        f"{model._meta.app_label}.{model.__name__}"
        for model, model_admin in admin.site._registry.items()
        if model._meta.model_name in SHOWN and not isinstance(model_admin, ServiceAdminMixin | ReadOnlyAdminMixin)
    ]
    assert forgotten == [], f"admin writes these without telling the observers: {forgotten}"
    assert Template in admin.site._registry  # the walk sees the registry
