"""Every writer of tasks and stages that this suite can reach (the HTML views, the API, the scheduled jobs,
archiving, the recurrence job, trash and restore, Django admin) drives one small team's tasks, step by step;
each step must leave exactly the Activity rows of its change (verbs in order, with the acting user), and
nothing else."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Membership
from accounts.tests.admin_forms import admin_form
from accounts.tests.factories import TeamFactory, UserFactory, sign_in_to_admin
from tasks.models import Activity, Status, Task
from tasks.services.archiving import completed_tasks_archive
from tasks.services.deadline_notices import due_soon_notify, overdue_notify
from tasks.services.recurrence import recurrences_run
from tasks.tests.api_helpers import api_client
from tasks.tests.factories import ProjectFactory, TemplateFactory, TemplateStageFactory

pytestmark = pytest.mark.django_db

V = Activity.Verb


@pytest.fixture
def team():
    team = TeamFactory(name="Small")
    member = UserFactory(email="mia@small.test", full_name="Mia Member")
    Membership.objects.create(team=team, user=member, role="member")
    project = ProjectFactory(team=team, name="Site")
    template = TemplateFactory(team=team, name="Two steps")
    TemplateStageFactory(template=template, order=1, name="Build")
    TemplateStageFactory(template=template, order=2, name="Ship")
    return member, project, template


class Trail:
    """Runs steps and records, for each, the Activity rows it wrote: (step, task title, actor, verbs)."""

    def __init__(self):
        self.last = Activity.objects.order_by("-id").values_list("id", flat=True).first() or 0
        self.seen = []

    def step(self, name, response=None):
        if response is not None:
            assert response.status_code in (200, 201, 204, 302), (name, response.status_code, response.content[:300])
        rows = list(
            Activity.objects.filter(id__gt=self.last)
            .order_by("id")
            .values_list("id", "task__title", "actor_id", "verb")
        )
        if rows:
            self.last = rows[-1][0]
        by_task = {}
        for _, title, actor, verb in rows:
            by_task.setdefault((title, actor), []).append(verb)
        self.seen.append((name, sorted(by_task.items())))


def test_every_writer_leaves_its_activity_rows(client, team):
    member, project, template = team
    me = member.pk
    client.force_login(member)
    api = api_client(member)
    trail = Trail()

    # --- the HTML pages ---
    trail.step(
        "html create",
        client.post(
            reverse("tasks:task_create", args=[project.pk]),
            {"title": "Page task", "template": template.pk, "priority": 2, "assignee": me},
        ),
    )
    page = Task.objects.get(title="Page task")
    build, ship = page.stages.order_by("order")
    edit = {"title": "Page task", "description": "Now described", "priority": 3, "assignee": me, "due_date": ""}
    trail.step("html edit", client.post(reverse("tasks:task_edit", args=[page.pk]), edit))
    trail.step("html comment", client.post(reverse("tasks:comment_add", args=[page.pk]), {"body": "On it"}))
    trail.step(
        "html add stage",
        client.post(reverse("tasks:stage_add", args=[page.pk]), {"name": "QA", "estimated_hours": "1"}),
    )
    qa = page.stages.get(name="QA")
    trail.step("html move stage", client.post(reverse("tasks:stage_move", args=[qa.pk]), {"direction": "up"}))
    trail.step("html start stage", client.post(reverse("tasks:stage_start", args=[build.pk])))
    trail.step(
        "html complete stage",
        client.post(reverse("tasks:stage_complete", args=[build.pk]), {f"stage{build.pk}-actual_hours": "2"}),
    )
    trail.step("html reopen stage", client.post(reverse("tasks:stage_reopen", args=[build.pk])))
    trail.step("html delete stage", client.post(reverse("tasks:stage_delete", args=[qa.pk])))
    for stage in (build, ship):
        client.post(reverse("tasks:stage_complete", args=[stage.pk]), {f"stage{stage.pk}-actual_hours": "1"})
    trail.step("html complete every stage")
    trail.step("html reopen task", client.post(reverse("tasks:task_status", args=[page.pk]), {"status": "in_progress"}))
    trail.step("html trash", client.post(reverse("tasks:task_delete", args=[page.pk])))
    trail.step("html restore", client.post(reverse("tasks:task_restore", args=[page.pk])))
    repeats = {"frequency": "daily", "interval": 1, "monthly_on": "day", "end": "never"}
    trail.step("html repeats", client.post(reverse("tasks:task_recurrence", args=[page.pk]), repeats))
    moved = client.post(reverse("tasks:task_due_date", args=[page.pk]), {"due_date": "2031-05-06"})
    trail.step("html calendar move", moved)

    # --- the API ---
    created = api.post(
        "/api/v1/tasks/",
        {"project": project.pk, "title": "Api task", "stages": [{"name": "Only", "estimated_hours": "2"}]},
        format="json",
    )
    trail.step("api create", created)
    task_id = created.json()["id"]
    only = created.json()["stages"][0]["id"]
    trail.step("api edit", api.patch(f"/api/v1/tasks/{task_id}/", {"priority": "high", "assignee": me}, format="json"))
    trail.step("api comment", api.post(f"/api/v1/tasks/{task_id}/comments/", {"body": "Done soon"}, format="json"))
    trail.step(
        "api add stage",
        api.post(f"/api/v1/tasks/{task_id}/stages/", {"name": "Extra", "estimated_hours": "1"}, format="json"),
    )
    extra = Task.objects.get(pk=task_id).stages.get(name="Extra").pk
    trail.step("api start stage", api.patch(f"/api/v1/stages/{only}/", {"status": "in_progress"}, format="json"))
    trail.step(
        "api complete stage",
        api.patch(f"/api/v1/stages/{only}/", {"status": "completed", "actual_hours": "3"}, format="json"),
    )
    trail.step("api delete stage", api.delete(f"/api/v1/stages/{extra}/"))
    trail.step("api trash", api.delete(f"/api/v1/tasks/{task_id}/"))
    trail.step("api restore", api.post(f"/api/v1/tasks/{task_id}/restore/"))
    recurrence = f"/api/v1/tasks/{task_id}/recurrence/"
    trail.step("api repeats", api.put(recurrence, {"rule": "FREQ=WEEKLY"}, format="json"))
    trail.step("api stop repeats", api.delete(recurrence))

    # --- Django admin, as the site's operator (a superuser outside the team) ---
    root = UserFactory(email="root@small.test", is_staff=True, is_superuser=True)
    operator = Client()
    sign_in_to_admin(operator, root)
    change = reverse("admin:tasks_task_change", args=[page.pk])
    data = {**admin_form(operator, change, "task_form"), "description": "Said in admin"}
    trail.step("admin edit", operator.post(change, data))
    changelist = reverse("admin:tasks_task_changelist")
    trail.step("admin trash", operator.post(changelist, {"action": "move_to_trash", "_selected_action": [page.pk]}))
    trail.step("admin restore", operator.post(changelist, {"action": "restore", "_selected_action": [page.pk]}))

    # --- the scheduled jobs: notices are not changes of a task, archiving is ---
    now = datetime.now(UTC)
    Task.objects.filter(pk=page.pk).update(due_date=now.date() - timedelta(days=3))
    overdue_notify(now=now)
    due_soon_notify(now=now)
    trail.step("deadline jobs")
    Task.objects.filter(pk=task_id).update(completed_at=now - timedelta(days=40))
    completed_tasks_archive(now=now)
    trail.step("archiving")
    recurrences_run(now=now)
    trail.step("recurrence job")

    assert trail.seen == [
        ("html create", [(("Page task", me), [V.CREATED, V.ASSIGNED])]),
        ("html edit", [(("Page task", me), [V.UPDATED, V.UPDATED])]),
        ("html comment", [(("Page task", me), [V.COMMENTED])]),
        ("html add stage", [(("Page task", me), [V.STAGE_ADDED])]),
        ("html move stage", [(("Page task", me), [V.STAGES_REORDERED])]),
        ("html start stage", [(("Page task", me), [V.STAGE_STARTED, V.STATUS_CHANGED])]),
        ("html complete stage", [(("Page task", me), [V.STAGE_COMPLETED])]),
        ("html reopen stage", [(("Page task", me), [V.STAGE_REOPENED])]),
        ("html delete stage", [(("Page task", me), [V.STAGE_DELETED])]),
        ("html complete every stage", [(("Page task", me), [V.STAGE_COMPLETED, V.STAGE_COMPLETED, V.COMPLETED])]),
        ("html reopen task", [(("Page task", me), [V.STAGE_REOPENED, V.REOPENED])]),
        ("html trash", [(("Page task", me), [V.DELETED])]),
        ("html restore", [(("Page task", me), [V.RESTORED])]),
        ("html repeats", [(("Page task", me), [V.RECURRENCE_SET])]),
        ("html calendar move", [(("Page task", me), [V.UPDATED])]),
        ("api create", [(("Api task", me), [V.CREATED])]),
        ("api edit", [(("Api task", me), [V.UPDATED, V.ASSIGNED])]),
        ("api comment", [(("Api task", me), [V.COMMENTED])]),
        ("api add stage", [(("Api task", me), [V.STAGE_ADDED])]),
        ("api start stage", [(("Api task", me), [V.STAGE_STARTED, V.STATUS_CHANGED])]),
        ("api complete stage", [(("Api task", me), [V.STAGE_COMPLETED])]),
        ("api delete stage", [(("Api task", me), [V.STAGE_DELETED, V.COMPLETED])]),
        ("api trash", [(("Api task", me), [V.DELETED])]),
        ("api restore", [(("Api task", me), [V.RESTORED])]),
        ("api repeats", [(("Api task", me), [V.RECURRENCE_SET])]),
        ("api stop repeats", [(("Api task", me), [V.RECURRENCE_STOPPED])]),
        ("admin edit", [(("Page task", root.pk), [V.UPDATED])]),
        ("admin trash", [(("Page task", root.pk), [V.DELETED])]),
        ("admin restore", [(("Page task", root.pk), [V.RESTORED])]),
        ("deadline jobs", []),
        ("archiving", [(("Api task", None), [V.ARCHIVED])]),
        ("recurrence job", [(("Page task", None), [V.CREATED, V.ASSIGNED])]),
    ]
    assert Task.objects.get(pk=task_id).status == Status.COMPLETED
