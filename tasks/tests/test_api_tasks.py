"""What the task API does: creating with stages or a template, idempotency, filters and ordering, moving
stages, comments, activity, templates, restore."""

import threading
from datetime import timedelta

import pytest

from aether.testing import run_concurrently
from tasks.deadlines import deadlines_at
from tasks.models import Activity, Priority, Stage, Status, Task
from tasks.tests.api_helpers import api_client, error_fields
from tasks.tests.factories import (
    LabelFactory,
    ProjectFactory,
    StageFactory,
    TaskFactory,
    TemplateFactory,
    TemplateStageFactory,
)


@pytest.fixture
def acme(team_roles):
    team, _other, people = team_roles
    return team, ProjectFactory(team=team, name="Website"), people


def create(client, body, **headers):
    return client.post("/api/v1/tasks/", body, format="json", **headers)


# --- creating -------------------------------------------------------------------------------------------


def test_create_a_task_with_stages(acme):
    team, project, people = acme
    label = LabelFactory(team=team, name="bug")
    body = {
        "project": project.pk,
        "title": "  Fix sign-in  ",
        "priority": "urgent",
        "assignee": people["member"].pk,
        "due_date": "2030-01-31",
        "labels": [label.pk],
        "stages": [{"name": "Fix", "estimated_hours": "3.5"}, {"name": "Review", "estimated_hours": 1}],
    }

    response = create(api_client(people["member"]), body)

    assert response.status_code == 201
    task = response.json()
    assert {k: task[k] for k in ("project", "title", "status", "priority", "assignee", "created_by", "due_date")} == {
        "project": project.pk,
        "title": "Fix sign-in",
        "status": "pending",
        "priority": "urgent",
        "assignee": people["member"].pk,
        "created_by": people["member"].pk,
        "due_date": "2030-01-31",
    }
    assert task["labels"] == [{"id": label.pk, "name": "bug", "color": label.color}]
    assert [(s["order"], s["name"], s["estimated_hours"], s["status"]) for s in task["stages"]] == [
        (1, "Fix", 3.5, "pending"),
        (2, "Review", 1.0, "pending"),
    ]
    assert task["is_overdue"] is False
    saved = Task.objects.get(pk=task["id"])
    assert saved.priority == Priority.URGENT
    assert Activity.objects.filter(task=saved, verb=Activity.Verb.CREATED).count() == 1


def test_create_from_a_template_copies_its_stages(acme):
    team, project, people = acme
    template = TemplateFactory(team=team)
    TemplateStageFactory(template=template, order=1, name="Design")
    TemplateStageFactory(template=template, order=2, name="Build")

    response = create(api_client(people["member"]), {"project": project.pk, "title": "New", "template": template.pk})

    assert response.status_code == 201
    assert [s["name"] for s in response.json()["stages"]] == ["Design", "Build"]


def test_a_template_of_another_team_is_an_unknown_id(acme, team_roles):
    _team, project, people = acme
    foreign = TemplateFactory(team=team_roles[1])

    response = create(api_client(people["member"]), {"project": project.pk, "title": "New", "template": foreign.pk})

    assert response.status_code == 400
    assert error_fields(response) == ["template"]
    assert not Task.objects.exists()


def test_template_and_stages_together_are_refused(acme):
    team, project, people = acme
    template = TemplateFactory(team=team)
    body = {
        "project": project.pk,
        "title": "x",
        "template": template.pk,
        "stages": [{"name": "a", "estimated_hours": 1}],
    }

    response = create(api_client(people["member"]), body)

    assert response.status_code == 422  # well-formed, but not together (aether/refusals.py)
    assert error_fields(response) == ["stages"]


def test_an_assignee_outside_the_team_is_refused_by_the_service(acme, team_roles):
    """The outsider shares no team with the requester's project team, though the requester could know them."""
    _team, project, people = acme
    other_team = team_roles[1]
    both = people["admin"]
    other_team.memberships.create(user=both, role="member")
    stranger = other_team.memberships.get(role="owner").user

    response = create(api_client(both), {"project": project.pk, "title": "x", "assignee": stranger.pk})

    assert response.status_code == 422
    assert error_fields(response) == ["assignee"]


# --- idempotency ----------------------------------------------------------------------------------------


def test_the_same_idempotency_key_returns_the_first_task(acme):
    _team, project, people = acme
    client = api_client(people["member"])

    first = create(client, {"project": project.pk, "title": "Once"}, HTTP_IDEMPOTENCY_KEY="key-1")
    second = create(client, {"project": project.pk, "title": "Once"}, HTTP_IDEMPOTENCY_KEY="key-1")

    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json() == second.json()
    assert Task.objects.count() == 1


def test_the_same_key_from_another_user_is_another_task(acme):
    _team, project, people = acme

    a = create(api_client(people["member"]), {"project": project.pk, "title": "A"}, HTTP_IDEMPOTENCY_KEY="k")
    b = create(api_client(people["admin"]), {"project": project.pk, "title": "B"}, HTTP_IDEMPOTENCY_KEY="k")

    assert (a.status_code, b.status_code) == (201, 201)
    assert a.json()["id"] != b.json()["id"]


@pytest.mark.parametrize("key", ["a\x00b", "tab\there"])
def test_an_idempotency_key_with_control_characters_is_a_400_naming_it(acme, key):
    """Found by the stateful fuzzing: a NUL in the header reached PostgreSQL, which refused it with a 500."""
    _team, project, people = acme

    response = create(api_client(people["member"]), {"project": project.pk, "title": "x"}, HTTP_IDEMPOTENCY_KEY=key)

    assert response.status_code == 400
    assert error_fields(response) == ["idempotency_key"]
    assert not Task.objects.exists()


def test_an_idempotency_key_too_long_is_a_400_naming_it(acme):
    _team, project, people = acme

    response = create(
        api_client(people["member"]), {"project": project.pk, "title": "x"}, HTTP_IDEMPOTENCY_KEY="k" * 65
    )

    assert response.status_code == 400
    assert error_fields(response) == ["idempotency_key"]
    assert not Task.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_requests_with_the_same_key_create_one_task(team_roles, monkeypatch):
    """Both requests pass the "already created?" check before either inserts; the unique constraint decides."""
    _team, _other, people = team_roles
    project = ProjectFactory(team=team_roles[0])
    both_checked = threading.Barrier(2, timeout=10)
    from tasks.services import task as task_services

    check_member = task_services.check_assignable

    def check_member_then_wait(*args, **kwargs):
        check_member(*args, **kwargs)
        both_checked.wait()  # both requests are now past the lookup of an existing task

    monkeypatch.setattr(task_services, "check_assignable", check_member_then_wait)
    results, errors = run_concurrently(
        lambda _: create(
            api_client(people["member"]), {"project": project.pk, "title": "Race"}, HTTP_IDEMPOTENCY_KEY="race"
        ),
        2,
    )

    assert errors == []
    assert sorted(r.status_code for r in results) == [200, 201]
    assert results[0].json()["id"] == results[1].json()["id"]
    assert Task.objects.filter(idempotency_key="race").count() == 1


# --- listing --------------------------------------------------------------------------------------------


def test_filters_and_ordering(acme):
    team, project, people = acme
    member = people["member"]
    today = deadlines_at().today()
    label = LabelFactory(team=team)
    late = TaskFactory(project=project, title="Late report", due_date=today - timedelta(days=2), assignee=member)
    late.labels.add(label)
    soon = TaskFactory(project=project, title="Soon", due_date=today + timedelta(days=1), priority=Priority.HIGH)
    done = TaskFactory(
        project=project, title="Done", due_date=today - timedelta(days=5), status=Status.COMPLETED, completed_at=today
    )
    TaskFactory(project=project, title="Archived", archived_at=done.completed_at)
    TaskFactory(project=ProjectFactory(team=team), title="Elsewhere report")
    client = api_client(member)

    def ids(query):
        response = client.get(f"/api/v1/tasks/?{query}")
        assert response.status_code == 200, response.content
        return [t["id"] for t in response.json()["results"]]

    assert ids(f"project={project.pk}&ordering=due_date") == [done.pk, late.pk, soon.pk]
    assert ids(f"project={project.pk}&ordering=-due_date") == [soon.pk, late.pk, done.pk]
    assert ids("assignee=me") == [late.pk]
    assert ids(f"assignee={member.pk}") == [late.pk]
    assert ids("overdue=true") == [late.pk]
    assert ids(f"label={label.pk}") == [late.pk]
    assert ids("priority=high") == [soon.pk]
    assert ids("status=completed") == [done.pk]
    assert ids(f"due_before={today.isoformat()}&ordering=due_date") == [done.pk, late.pk]
    assert ids(f"due_after={today.isoformat()}") == [soon.pk]
    assert sorted(ids("search=report")) == sorted([late.pk, Task.objects.get(title="Elsewhere report").pk])
    late_json = client.get(f"/api/v1/tasks/{late.pk}/").json()
    assert late_json["is_overdue"] is True


def test_pages_link_to_each_other_without_overlap(acme):
    _team, project, people = acme
    for i in range(7):
        TaskFactory(project=project, title=f"T{i}")
    client = api_client(people["viewer"])

    first = client.get("/api/v1/tasks/?page_size=3&ordering=priority").json()
    second = client.get(first["next"]).json()
    third = client.get(second["next"]).json()

    assert first["previous"] is None
    assert third["next"] is None
    assert client.get(third["previous"]).json() == second
    seen = [t["id"] for page in (first, second, third) for t in page["results"]]
    assert sorted(seen) == sorted(Task.objects.values_list("pk", flat=True))


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=nope", "status"),
        ("priority=extreme", "priority"),
        ("assignee=someone", "assignee"),
        ("project=999999999", "project"),
        ("project=abc", "project"),
        ("label=999999999", "label"),
        ("due_before=2024-13-45", "due_before"),
        ("due_after=yesterday", "due_after"),
        ("overdue=maybe", "overdue"),
        ("ordering=title", "ordering"),
        ("search=" + "x" * 201, "search"),
        ("cursor=made-up", "cursor"),
        ("cursor=", "cursor"),
        ("page_size=0", "page_size"),
        ("page_size=101", "page_size"),
    ],
)
def test_an_invalid_filter_is_a_400_naming_the_parameter(acme, query, field):
    response = api_client(acme[2]["member"]).get(f"/api/v1/tasks/?{query}")

    assert response.status_code == 400
    assert error_fields(response) == [field]


def test_another_teams_project_as_a_filter_is_refused(acme, team_roles):
    foreign = ProjectFactory(team=team_roles[1])

    response = api_client(acme[2]["member"]).get(f"/api/v1/tasks/?project={foreign.pk}")

    assert response.status_code == 400
    assert error_fields(response) == ["project"]


# --- changing -------------------------------------------------------------------------------------------


def test_patch_changes_fields_and_records_activity(acme):
    _team, project, people = acme
    task = TaskFactory(project=project, created_by=people["member"])

    response = api_client(people["member"]).patch(
        f"/api/v1/tasks/{task.pk}/", {"title": "Renamed", "priority": "low", "due_date": None}, format="json"
    )

    assert response.status_code == 200
    assert (response.json()["title"], response.json()["priority"]) == ("Renamed", "low")
    assert set(Activity.objects.filter(task=task).values_list("field", flat=True)) == {"title", "priority"}


def test_stages_start_and_complete_through_status_and_the_task_follows(acme):
    _team, project, people = acme
    task = TaskFactory(project=project)
    first, second = StageFactory(task=task, order=1), StageFactory(task=task, order=2)
    client = api_client(people["member"])

    started = client.patch(f"/api/v1/stages/{first.pk}/", {"status": "in_progress"}, format="json")
    assert started.status_code == 200
    assert started.json()["status"] == "in_progress"
    assert started.json()["started_at"]
    assert client.get(f"/api/v1/tasks/{task.pk}/").json()["status"] == "in_progress"

    no_hours = client.patch(f"/api/v1/stages/{first.pk}/", {"status": "completed"}, format="json")
    assert no_hours.status_code == 409  # the stage has no hours yet
    assert error_fields(no_hours) == ["actual_hours"]
    assert Stage.objects.get(pk=first.pk).status == Status.IN_PROGRESS

    for stage in (first, second):
        done = client.patch(f"/api/v1/stages/{stage.pk}/", {"status": "completed", "actual_hours": 2.25}, format="json")
        assert done.status_code == 200, done.content
        assert (done.json()["status"], done.json()["actual_hours"]) == ("completed", 2.25)
    task_json = client.get(f"/api/v1/tasks/{task.pk}/").json()
    assert task_json["status"] == "completed"
    assert task_json["completed_at"] == task_json["stages"][1]["completed_at"]

    reopened = client.patch(f"/api/v1/stages/{second.pk}/", {"status": "in_progress"}, format="json")
    assert reopened.json()["status"] == "in_progress"
    assert client.get(f"/api/v1/tasks/{task.pk}/").json()["completed_at"] is None

    back = client.patch(f"/api/v1/stages/{second.pk}/", {"status": "pending"}, format="json")
    assert back.status_code == 409  # a started stage cannot go back
    assert error_fields(back) == ["status"]


def test_add_and_delete_stages(acme):
    _team, project, people = acme
    task = TaskFactory(project=project)
    StageFactory(task=task, order=1)
    client = api_client(people["member"])

    added = client.post(f"/api/v1/tasks/{task.pk}/stages/", {"name": "QA", "estimated_hours": 2}, format="json")

    assert added.status_code == 201
    assert (added.json()["order"], added.json()["name"]) == (2, "QA")
    first = task.stages.get(order=1)
    assert client.delete(f"/api/v1/stages/{first.pk}/").status_code == 204
    assert [(s["order"], s["name"]) for s in client.get(f"/api/v1/tasks/{task.pk}/").json()["stages"]] == [(1, "QA")]


def test_a_task_without_stages_is_completed_through_status(acme):
    _team, project, people = acme
    task = TaskFactory(project=project)

    response = api_client(people["member"]).patch(f"/api/v1/tasks/{task.pk}/", {"status": "completed"}, format="json")

    assert response.status_code == 200
    assert response.json()["status"] == "completed"
    assert response.json()["completed_at"]


def test_delete_moves_to_the_trash_and_restore_brings_it_back(acme):
    _team, project, people = acme
    task = TaskFactory(project=project)
    client = api_client(people["member"])

    assert client.delete(f"/api/v1/tasks/{task.pk}/").status_code == 204
    assert client.get(f"/api/v1/tasks/{task.pk}/").status_code == 404
    assert client.get("/api/v1/tasks/").json()["results"] == []

    restored = client.post(f"/api/v1/tasks/{task.pk}/restore/")

    assert restored.status_code == 200
    assert restored.json()["id"] == task.pk
    assert client.get(f"/api/v1/tasks/{task.pk}/").status_code == 200


def test_comments_and_activity(acme):
    _team, project, people = acme
    task = TaskFactory(project=project, created_by=people["admin"])
    client = api_client(people["member"])

    posted = client.post(f"/api/v1/tasks/{task.pk}/comments/", {"body": "On it"}, format="json")

    assert posted.status_code == 201
    member = people["member"]
    assert posted.json()["author"] == {"id": member.pk, "email": member.email, "full_name": member.full_name}
    assert [c["body"] for c in client.get(f"/api/v1/tasks/{task.pk}/comments/").json()["results"]] == ["On it"]
    activity = client.get(f"/api/v1/tasks/{task.pk}/activity/").json()["results"]
    assert [(a["verb"], a["actor"]["id"]) for a in activity] == [("commented", member.pk)]


def test_templates_are_created_by_admins_with_their_stages(acme):
    team, _project, people = acme
    body = {
        "team": team.pk,
        "name": "Bugfix",
        "stages": [{"name": "Reproduce", "estimated_hours": 1}, {"name": "Fix", "estimated_hours": 4}],
    }

    response = api_client(people["admin"]).post("/api/v1/templates/", body, format="json")

    assert response.status_code == 201
    assert [(s["order"], s["name"]) for s in response.json()["stages"]] == [(1, "Reproduce"), (2, "Fix")]
    listed = api_client(people["viewer"]).get("/api/v1/templates/").json()["results"]
    assert [t["name"] for t in listed] == ["Bugfix"]


def test_project_delete_is_refused_while_it_has_live_tasks(acme):
    _team, project, people = acme
    TaskFactory(project=project)

    response = api_client(people["admin"]).delete(f"/api/v1/projects/{project.pk}/")

    assert response.status_code == 409
    assert error_fields(response) == [None]
    assert project.__class__.objects.filter(pk=project.pk).exists()


def test_a_duplicate_project_name_is_a_409_naming_name(acme):
    team, project, people = acme

    response = api_client(people["admin"]).post(
        "/api/v1/projects/", {"team": team.pk, "name": project.name.upper()}, format="json"
    )

    assert response.status_code == 409
    assert error_fields(response) == ["name"]
