"""Django admin writes tasks and stages through the services, as an admin would use it: every change form,
add form and action posted through the admin URLs with the page's own fields (inline management forms
included). Each change leaves the service's Activity rows with the admin as actor; each refusal shows the
rule's message (by its field, or as an error message), answers no 500 and changes nothing."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.tests.admin_forms import admin_form, form_errors, inline_errors, messages_of
from accounts.tests.factories import MembershipFactory, UserFactory, sign_in_to_admin
from notifications.models import Notification
from tasks import services
from tasks.models import Activity, Stage, Status, Task
from tasks.tests.factories import LabelFactory, ProjectFactory, TemplateFactory, TemplateStageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(db):
    """A superuser who belongs to no team: the site's operator."""
    return UserFactory(email="root@example.test", full_name="Root Admin", is_staff=True, is_superuser=True)


@pytest.fixture
def root_client(client, root):
    sign_in_to_admin(client, root)
    return client


@pytest.fixture
def project(team_roles):
    team, _, _ = team_roles
    return ProjectFactory(team=team, name="Launch")


@pytest.fixture
def member(team_roles):
    return team_roles[2]["member"]


def make_task(project, actor, stages=(("Design", 4), ("Build", 8)), **kwargs):
    task, _ = services.task_create(
        actor=actor,
        project=project,
        title=kwargs.pop("title", "Ship it"),
        stages=[{"name": n, "estimated_hours": h} for n, h in stages],
        **kwargs,
    )
    return task


def trail(task, after=0):
    """(verb, field, old, new, actor email) of the task's Activity rows with an id above `after`."""
    return [
        (a.verb, a.field, a.old_value, a.new_value, a.actor.email if a.actor else None)
        for a in Activity.objects.filter(task=task, pk__gt=after).select_related("actor").order_by("pk")
    ]


def last_activity_id():
    return Activity.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def snapshot(task):
    """Everything an admin post could change on a task and its stages."""
    task = Task.objects.get(pk=task.pk)
    return (
        {f.attname: getattr(task, f.attname) for f in Task._meta.concrete_fields if f.attname != "updated_at"},
        sorted(task.labels.values_list("pk", flat=True)),
        list(task.stages.order_by("order").values()),
        Activity.objects.filter(task=task).count(),
        Notification.objects.filter(task=task).count(),
    )


def change_url(task):
    return reverse("admin:tasks_task_change", args=[task.pk])


def stage_change_url(stage):
    return reverse("admin:tasks_stage_change", args=[stage.pk])


def changelist_action(client, model, action, objects, **extra):
    url = reverse(f"admin:tasks_{model}_changelist")
    return client.post(
        url, {"action": action, "_selected_action": [o.pk for o in objects], "index": 0, **extra}, follow=True
    )


def object_action(client, model, obj, action, **data):
    return client.post(reverse(f"admin:tasks_{model}_object_action", args=[obj.pk, action]), data, follow=True)


# --- the task change form --------------------------------------------------------------------------------


def test_lifecycle_fields_are_read_only_in_the_change_form(root_client, project, member):
    task = make_task(project, member)
    data = admin_form(root_client, change_url(task), "task_form")
    for field in ("status", "started_at", "completed_at", "deleted_at", "archived_at", "created_by", "project"):
        assert field not in data
    assert {"title", "description", "priority", "due_date", "assignee", "stages-TOTAL_FORMS"} <= set(data)
    for field in ("status", "actual_hours", "started_at", "completed_at", "order"):
        assert "stages-0-" + field not in data
    assert {k for k in data if k.startswith("stages-0-")} == {
        "stages-0-id",
        "stages-0-task",
        "stages-0-name",
        "stages-0-estimated_hours",
    }  # and an unticked DELETE box


def test_saving_the_change_form_is_task_update_with_one_activity_per_field(root_client, project, member, team_roles):
    task = make_task(project, member)
    label = LabelFactory(team=project.team, name="urgent")
    data = admin_form(root_client, change_url(task), "task_form")
    after = last_activity_id()

    data.update(title="Ship it now", priority="3", due_date="2026-12-24", assignee=str(member.pk), labels=[label.pk])
    response = root_client.post(change_url(task), data, follow=True)

    assert response.status_code == 200
    assert ("success", f'The task “<a href="{change_url(task)}">Ship it now</a>” was changed successfully.') in (
        messages_of(response)
    )
    assert trail(task, after) == [
        ("updated", "title", "Ship it", "Ship it now", "root@example.test"),
        ("updated", "priority", 2, 3, "root@example.test"),
        ("updated", "due_date", None, "2026-12-24", "root@example.test"),
        ("assigned", "assignee", None, member.pk, "root@example.test"),
        ("updated", "labels", [], [label.pk], "root@example.test"),
    ]
    # The assignee hears of it as from the web UI, with the admin as the actor.
    note = Notification.objects.get(user=member, kind="task_assigned")
    assert (note.actor.email, note.task_id, note.message) == (
        "root@example.test",
        task.pk,
        "Root Admin assigned you “Ship it now”",
    )


def test_a_status_posted_to_the_change_form_is_ignored_not_a_500(root_client, project, member):
    """The bug this replaced: status=completed in the change form answered 500 (IntegrityError)."""
    task = make_task(project, member, stages=())
    data = admin_form(root_client, change_url(task), "task_form")
    before = snapshot(task)

    data.update(status="completed", started_at_0="2026-01-01", completed_at_0="2026-01-01")
    response = root_client.post(change_url(task), data)

    assert response.status_code == 302
    assert snapshot(task) == before


def test_an_assignee_from_another_team_is_refused_by_the_field_and_nothing_changes(
    root_client, project, member, team_roles
):
    task = make_task(project, member)
    outsider = team_roles[2]["outsider"]
    data = admin_form(root_client, change_url(task), "task_form")
    before = snapshot(task)

    data.update(title="Renamed too", assignee=str(outsider.pk))
    response = root_client.post(change_url(task), data)

    assert response.status_code == 200
    assert form_errors(response) == {"assignee": ["Choose an active member of this team."]}
    assert "Choose an active member of this team." in response.content.decode()
    assert snapshot(task) == before


def test_a_label_of_another_team_is_refused_by_the_field(root_client, project, member, team_roles):
    task = make_task(project, member)
    foreign = LabelFactory(team=team_roles[1], name="theirs")
    data = admin_form(root_client, change_url(task), "task_form")
    before = snapshot(task)

    data.update(labels=[foreign.pk])
    response = root_client.post(change_url(task), data)

    assert response.status_code == 200
    assert form_errors(response) == {"labels": ["Choose labels of this team."]}
    assert snapshot(task) == before


def test_editing_a_task_in_the_trash_is_refused_at_the_top_of_the_form(root_client, project, member):
    task = make_task(project, member)
    services.task_delete(actor=member, task=task)
    data = admin_form(root_client, change_url(task), "task_form")
    before = snapshot(task)

    data.update(title="Edited in the trash")
    response = root_client.post(change_url(task), data)

    assert response.status_code == 200
    assert form_errors(response) == {"__all__": ["This task is in the trash; restore it first."]}
    assert snapshot(task) == before


# --- the stage inline -------------------------------------------------------------------------------------


def test_inline_edits_are_stage_update_and_a_ticked_delete_is_stage_delete(root_client, project, member):
    task = make_task(project, member)
    data = admin_form(root_client, change_url(task), "task_form")
    after = last_activity_id()

    data.update({"stages-0-name": "Sketch", "stages-0-estimated_hours": "5.5", "stages-1-DELETE": "on"})
    response = root_client.post(change_url(task), data)

    assert response.status_code == 302
    assert trail(task, after) == [
        (
            "stage_updated",
            "stage 1",
            {"name": "Design", "estimated_hours": "4.00"},
            {"name": "Sketch", "estimated_hours": "5.50"},
            "root@example.test",
        ),
        ("stage_deleted", "stage 2", "Build", None, "root@example.test"),
    ]
    assert list(task.stages.values_list("name", "estimated_hours")) == [("Sketch", Decimal("5.50"))]


def test_a_new_inline_row_is_stage_add(root_client, project, member):
    task = make_task(project, member)
    data = admin_form(root_client, change_url(task), "task_form")
    after = last_activity_id()

    data.update(
        {
            "stages-TOTAL_FORMS": "3",
            "stages-2-id": "",
            "stages-2-task": str(task.pk),
            "stages-2-name": "Test",
            "stages-2-estimated_hours": "2",
        }
    )
    response = root_client.post(change_url(task), data)

    assert response.status_code == 302
    added = task.stages.get(order=3)
    assert (added.name, added.estimated_hours, added.status) == ("Test", Decimal("2.00"), Status.PENDING)
    assert trail(task, after) == [("stage_added", "stage", None, {"id": added.pk, "name": "Test"}, "root@example.test")]


def test_a_stage_the_rules_refuse_is_shown_on_its_inline_row_and_nothing_is_written(root_client, project, member):
    task = make_task(project, member, stages=[(f"S{i}", 1) for i in range(services.MAX_STAGES)])
    data = admin_form(root_client, change_url(task), "task_form")
    before = snapshot(task)
    n = services.MAX_STAGES

    data.update(
        {
            "title": "Renamed in the same post",
            "stages-0-name": "Renamed stage",
            "stages-TOTAL_FORMS": str(n + 1),
            f"stages-{n}-id": "",
            f"stages-{n}-task": str(task.pk),
            f"stages-{n}-name": "One too many",
            f"stages-{n}-estimated_hours": "1",
        }
    )
    response = root_client.post(change_url(task), data)

    assert response.status_code == 200
    rows = inline_errors(response)
    assert rows[n] == {"__all__": [f"A task has at most {n} stages."]}
    assert all(row == {} for row in rows[:n])
    assert snapshot(task) == before  # neither the title nor the first stage's name was kept


def test_a_bad_estimate_in_the_inline_is_refused_by_its_field(root_client, project, member):
    task = make_task(project, member)
    data = admin_form(root_client, change_url(task), "task_form")
    before = snapshot(task)

    data.update({"stages-0-estimated_hours": "0"})
    response = root_client.post(change_url(task), data)

    assert response.status_code == 200
    assert inline_errors(response)[0] == {"estimated_hours": ["Ensure this value is greater than or equal to 0.01."]}
    assert snapshot(task) == before


# --- the task add form -----------------------------------------------------------------------------------


def test_the_add_form_is_task_create_with_its_stage_rows(root_client, project, member):
    url = reverse("admin:tasks_task_add")
    data = admin_form(root_client, url, "task_form")
    assert "status" not in data
    data.update(
        {
            "project": str(project.pk),
            "title": "From admin",
            "priority": "4",
            "assignee": str(member.pk),
            "stages-TOTAL_FORMS": "2",
            "stages-0-name": "Plan",
            "stages-0-estimated_hours": "3",
            "stages-1-name": "Do",
            "stages-1-estimated_hours": "5",
        }
    )
    response = root_client.post(url, data)

    assert response.status_code == 302
    task = Task.objects.get(title="From admin")
    assert (task.created_by.email, task.priority, task.assignee, task.status) == (
        "root@example.test",
        4,
        member,
        Status.PENDING,
    )
    assert list(task.stages.values_list("order", "name", "estimated_hours")) == [
        (1, "Plan", Decimal("3.00")),
        (2, "Do", Decimal("5.00")),
    ]
    assert trail(task) == [
        ("created", "", None, {"title": "From admin", "stages": 2}, "root@example.test"),
        ("assigned", "assignee", None, member.pk, "root@example.test"),
    ]
    assert Notification.objects.filter(user=member, kind="task_assigned", task=task).count() == 1


def test_the_add_form_copies_a_template(root_client, project):
    template = TemplateFactory(team=project.team, name="Release")
    TemplateStageFactory(template=template, order=1, name="Freeze", estimated_hours=2)
    url = reverse("admin:tasks_task_add")
    data = admin_form(root_client, url, "task_form")
    data.update(project=str(project.pk), title="Templated", template=str(template.pk))

    assert root_client.post(url, data).status_code == 302
    task = Task.objects.get(title="Templated")
    assert list(task.stages.values_list("name", flat=True)) == ["Freeze"]
    assert trail(task) == [("created", "", None, {"title": "Templated", "stages": 1}, "root@example.test")]


def test_the_add_form_refuses_a_template_and_stage_rows_together_and_creates_nothing(root_client, project):
    template = TemplateFactory(team=project.team, name="Release")
    url = reverse("admin:tasks_task_add")
    data = admin_form(root_client, url, "task_form")
    data.update(
        {
            "project": str(project.pk),
            "title": "Both",
            "template": str(template.pk),
            "stages-TOTAL_FORMS": "1",
            "stages-0-name": "Plan",
            "stages-0-estimated_hours": "3",
        }
    )
    response = root_client.post(url, data)

    assert response.status_code == 200
    assert form_errors(response) == {"__all__": ["Give either a template or a list of stages, not both."]}
    assert Task.objects.count() == 0
    assert Activity.objects.count() == 0


def test_the_add_form_refuses_a_template_of_another_team_by_its_field(root_client, project, team_roles):
    template = TemplateFactory(team=team_roles[1], name="Theirs")
    url = reverse("admin:tasks_task_add")
    data = admin_form(root_client, url, "task_form")
    data.update(project=str(project.pk), title="Foreign template", template=str(template.pk))

    response = root_client.post(url, data)

    assert response.status_code == 200
    assert form_errors(response) == {"template": ["Choose a template of this team."]}
    assert Task.objects.count() == 0


# --- task actions ----------------------------------------------------------------------------------------


def test_move_to_in_progress_starts_the_first_stage_and_sets_started_at(root_client, project, member):
    task = make_task(project, member)
    after = last_activity_id()

    response = changelist_action(root_client, "task", "move_to_in_progress", [task])

    assert response.status_code == 200
    assert ("success", "Moved 1 task(s) to in progress.") in messages_of(response)
    task.refresh_from_db()
    assert (task.status, task.started_at is not None) == (Status.IN_PROGRESS, True)
    assert trail(task, after) == [
        ("stage_started", "stage 1", None, "Design", "root@example.test"),
        ("status_changed", "status", "pending", "in_progress", "root@example.test"),
    ]


def test_completing_a_task_without_stages_then_reopening_it(root_client, project, member):
    task = make_task(project, member, stages=())
    after = last_activity_id()

    response = changelist_action(root_client, "task", "move_to_completed", [task])

    assert ("success", "Moved 1 task(s) to completed.") in messages_of(response)
    task.refresh_from_db()
    assert (task.status, task.completed_at is not None) == (Status.COMPLETED, True)
    assert trail(task, after) == [("completed", "status", "pending", "completed", "root@example.test")]
    # Its creator is told, as from the web UI.
    assert (
        Notification.objects.filter(user=member, kind="task_completed", task=task, actor__is_superuser=True).count()
        == 1
    )

    after = last_activity_id()
    response = changelist_action(root_client, "task", "reopen", [task])
    assert ("success", "Reopened 1 task(s).") in messages_of(response)
    task.refresh_from_db()
    assert (task.status, task.completed_at) == (Status.IN_PROGRESS, None)
    assert trail(task, after) == [("reopened", "status", "completed", "in_progress", "root@example.test")]


def test_moving_back_to_pending_without_started_stages(root_client, project, member):
    task = make_task(project, member, stages=())
    services.task_set_status(actor=member, task=task, status=Status.IN_PROGRESS)
    after = last_activity_id()

    changelist_action(root_client, "task", "move_to_pending", [task])

    task.refresh_from_db()
    assert (task.status, task.started_at) == (Status.PENDING, None)
    assert trail(task, after) == [("status_changed", "status", "in_progress", "pending", "root@example.test")]


def test_trash_and_restore(root_client, project, member):
    task = make_task(project, member)
    after = last_activity_id()

    response = changelist_action(root_client, "task", "move_to_trash", [task])
    assert ("success", "Moved 1 task(s) to the trash.") in messages_of(response)
    task.refresh_from_db()
    assert task.deleted_at is not None

    response = changelist_action(root_client, "task", "restore", [task])
    assert ("success", "Restored 1 task(s).") in messages_of(response)
    task.refresh_from_db()
    assert task.deleted_at is None
    assert trail(task, after) == [
        ("deleted", "", None, None, "root@example.test"),
        ("restored", "", None, None, "root@example.test"),
    ]


@pytest.mark.parametrize(
    ("arrange", "action", "message"),
    [
        (lambda t, m: None, "move_to_completed", "This task completes when its last stage is completed."),
        (lambda t, m: None, "reopen", "Only a completed task can be reopened."),
        (
            lambda t, m: services.stage_start(actor=m, stage=t.stages.get(order=1)),
            "move_to_pending",
            "A task with started stages cannot go back to pending.",
        ),
        (
            lambda t, m: services.task_delete(actor=m, task=t),
            "move_to_in_progress",
            "This task is in the trash; restore it first.",
        ),
    ],
    ids=["complete-with-open-stages", "reopen-open-task", "pending-after-start", "move-in-trash"],
)
def test_an_action_the_rules_refuse_shows_the_rule_and_changes_nothing(
    root_client, project, member, arrange, action, message
):
    task = make_task(project, member)
    arrange(task, member)
    before = snapshot(task)

    response = changelist_action(root_client, "task", action, [task])

    assert response.status_code == 200
    assert messages_of(response) == [("error", f"“Ship it”: {message}")]
    assert snapshot(task) == before


def test_a_batch_moves_what_the_rules_allow_and_names_what_they_refuse(root_client, project, member):
    bare = make_task(project, member, stages=(), title="Bare")
    staged = make_task(project, member, title="Staged")
    before = snapshot(staged)

    response = changelist_action(root_client, "task", "move_to_completed", [bare, staged])

    assert sorted(messages_of(response)) == [
        ("error", "“Staged”: This task completes when its last stage is completed."),
        ("success", "Moved 1 task(s) to completed."),
    ]
    assert Task.objects.get(pk=bare.pk).status == Status.COMPLETED
    assert snapshot(staged) == before


def test_the_change_page_offers_the_actions_that_apply_and_runs_them_for_that_task(root_client, project, member):
    task = make_task(project, member)
    page = root_client.get(change_url(task)).content.decode()
    for action in ("move_to_in_progress", "move_to_completed", "move_to_trash"):
        assert reverse("admin:tasks_task_object_action", args=[task.pk, action]) in page
    for action in ("move_to_pending", "reopen", "restore"):
        assert reverse("admin:tasks_task_object_action", args=[task.pk, action]) not in page
    after = last_activity_id()

    response = object_action(root_client, "task", task, "move_to_in_progress")

    assert response.redirect_chain == [(change_url(task), 302)]
    assert ("success", "Moved 1 task(s) to in progress.") in messages_of(response)
    assert [v for v, *_ in trail(task, after)] == ["stage_started", "status_changed"]


def test_an_object_action_refused_shows_the_rule_on_the_task_page(root_client, project, member):
    task = make_task(project, member)
    before = snapshot(task)

    response = object_action(root_client, "task", task, "move_to_completed")

    assert response.redirect_chain == [(change_url(task), 302)]
    assert messages_of(response) == [("error", "“Ship it”: This task completes when its last stage is completed.")]
    assert snapshot(task) == before


def test_an_object_action_answers_get_with_405_and_an_unknown_action_with_403(root_client, project, member):
    task = make_task(project, member)
    url = reverse("admin:tasks_task_object_action", args=[task.pk, "move_to_trash"])
    assert root_client.get(url).status_code == 405
    assert root_client.post(reverse("admin:tasks_task_object_action", args=[task.pk, "nope"])).status_code == 403
    assert Task.objects.get(pk=task.pk).deleted_at is None


def test_a_task_cannot_be_hard_deleted_in_admin(root_client, project, member):
    task = make_task(project, member)
    assert root_client.post(reverse("admin:tasks_task_delete", args=[task.pk]), {"post": "yes"}).status_code == 403
    assert Task.objects.filter(pk=task.pk).exists()


# --- who may act: superusers and other staff -------------------------------------------------------------


def staff(client, email, *, team=None, role=None, perms=("change_task", "view_task", "change_stage", "view_stage")):
    user = UserFactory(email=email, is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=perms))
    if team is not None:
        MembershipFactory(team=team, user=user, role=role)
    sign_in_to_admin(client, user)
    return user


def test_a_superuser_outside_the_team_acts_as_its_owner(root_client, project, member, root):
    task = make_task(project, member)
    assert not root.memberships.exists()
    changelist_action(root_client, "task", "move_to_trash", [task])
    assert trail(task)[-1] == ("deleted", "", None, None, "root@example.test")


def test_a_staff_admin_of_the_team_acts_where_their_role_allows(client, project, member):
    task = make_task(project, member)
    staff(client, "staffer@example.test", team=project.team, role="admin")
    data = admin_form(client, change_url(task), "task_form")
    data.update(title="Staff rename")

    assert client.post(change_url(task), data).status_code == 302
    assert trail(task)[-1] == ("updated", "title", "Ship it", "Staff rename", "staffer@example.test")


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_a_staff_member_or_viewer_of_the_team_administers_nothing_there(client, project, member, role):
    """Admin shows a staff user the teams they are an admin or owner of (aether/admin_site.py); a member of a
    team works in it on the site, where the same rules apply."""
    task = make_task(project, member)
    staff(client, f"{role}-staff@example.test", team=project.team, role=role)
    before = snapshot(task)

    assert client.get(change_url(task)).status_code == 302  # admin's "does not exist" redirect
    client.post(change_url(task), {"title": f"{role} rename", "priority": 2, "_save": "Save"})
    changelist_action(client, "task", "move_to_trash", [task])
    assert snapshot(task) == before


def test_a_staff_user_outside_the_team_does_not_see_its_tasks(client, project, member, team_roles):
    task = make_task(project, member)
    staff(client, "elsewhere@example.test", team=team_roles[1], role="owner")
    before = snapshot(task)

    assert client.get(change_url(task)).status_code == 302  # admin's "does not exist" redirect
    changelist = client.get(reverse("admin:tasks_task_changelist")).content.decode()
    assert "Ship it" not in changelist
    response = object_action(client, "task", task, "move_to_trash")
    assert response.status_code == 404
    assert snapshot(task) == before


# --- the stage admin -------------------------------------------------------------------------------------


def test_the_stage_change_form_is_stage_update_with_status_and_hours_read_only(root_client, project, member):
    task = make_task(project, member)
    stage = task.stages.get(order=1)
    data = admin_form(root_client, stage_change_url(stage), "stage_form")
    assert {"name", "estimated_hours"} <= set(data)
    assert not {"status", "actual_hours", "started_at", "completed_at", "order", "task"} & set(data)
    after = last_activity_id()

    data.update(name="Research", status="completed", actual_hours="3")
    assert root_client.post(stage_change_url(stage), data).status_code == 302

    stage.refresh_from_db()
    assert (stage.name, stage.status, stage.actual_hours) == ("Research", Status.PENDING, None)
    assert trail(task, after) == [
        ("stage_updated", "stage 1", {"name": "Design"}, {"name": "Research"}, "root@example.test")
    ]


def test_the_stage_change_form_refuses_a_stage_of_a_trashed_task_at_the_top(root_client, project, member):
    task = make_task(project, member)
    stage = task.stages.get(order=1)
    services.task_delete(actor=member, task=task)
    data = admin_form(root_client, stage_change_url(stage), "stage_form")
    before = snapshot(task)

    data.update(name="Research")
    response = root_client.post(stage_change_url(stage), data)

    assert response.status_code == 200
    assert form_errors(response) == {"__all__": ["This task is in the trash; restore it first."]}
    assert snapshot(task) == before


def test_the_stage_add_form_is_stage_add(root_client, project, member):
    task = make_task(project, member)
    url = reverse("admin:tasks_stage_add")
    data = admin_form(root_client, url, "stage_form")
    data.update(task=str(task.pk), name="Review", estimated_hours="1.5")
    after = last_activity_id()

    assert root_client.post(url, data).status_code == 302

    stage = task.stages.get(order=3)
    assert (stage.name, stage.estimated_hours) == ("Review", Decimal("1.50"))
    assert trail(task, after) == [
        ("stage_added", "stage", None, {"id": stage.pk, "name": "Review"}, "root@example.test")
    ]


def test_adding_a_stage_to_a_completed_task_reopens_it(root_client, project, member):
    task = make_task(project, member, stages=(("Only", 1),))
    services.stage_complete(actor=member, stage=task.stages.get(), actual_hours=1)
    url = reverse("admin:tasks_stage_add")
    data = admin_form(root_client, url, "stage_form")
    data.update(task=str(task.pk), name="Afterthought", estimated_hours="2")
    after = last_activity_id()

    assert root_client.post(url, data).status_code == 302

    task.refresh_from_db()
    assert (task.status, task.completed_at) == (Status.IN_PROGRESS, None)
    assert [v for v, *_ in trail(task, after)] == ["stage_added", "reopened"]


def test_deleting_a_stage_is_stage_delete(root_client, project, member):
    task = make_task(project, member)
    stage = task.stages.get(order=1)
    after = last_activity_id()

    response = root_client.post(reverse("admin:tasks_stage_delete", args=[stage.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert list(task.stages.values_list("order", "name")) == [(1, "Build")]
    assert trail(task, after) == [("stage_deleted", "stage 1", "Design", None, "root@example.test")]


def test_deleting_a_stage_the_rules_refuse_comes_back_with_the_rule(root_client, project, member):
    task = make_task(project, member)
    stage = task.stages.get(order=1)
    services.task_delete(actor=member, task=task)
    before = snapshot(task)

    response = root_client.post(reverse("admin:tasks_stage_delete", args=[stage.pk]), {"post": "yes"}, follow=True)

    assert response.redirect_chain == [(stage_change_url(stage), 302)]
    assert messages_of(response) == [("error", "This task is in the trash; restore it first.")]
    assert snapshot(task) == before


def test_delete_selected_stages_confirms_then_deletes_each_through_the_service(root_client, project, member):
    task = make_task(project, member)
    stages = list(task.stages.all())
    page = changelist_action(root_client, "stage", "delete_selected", stages)
    assert "Are you sure you want to delete the selected stages?" in page.content.decode()
    assert task.stages.count() == 2
    after = last_activity_id()

    response = changelist_action(root_client, "stage", "delete_selected", stages, post="yes")

    assert ("success", "Deleted 2 stage(s).") in messages_of(response)
    assert task.stages.count() == 0
    assert [(v, f) for v, f, *_ in trail(task, after)] == [("stage_deleted", "stage 1"), ("stage_deleted", "stage 1")]


def test_start_then_reopen_stage_actions(root_client, project, member):
    task = make_task(project, member)
    stage = task.stages.get(order=1)
    after = last_activity_id()

    response = changelist_action(root_client, "stage", "start", [stage])

    assert ("success", "Started 1 stage(s).") in messages_of(response)
    task.refresh_from_db()
    assert (task.status, task.started_at is not None) == (Status.IN_PROGRESS, True)
    assert trail(task, after) == [
        ("stage_started", "stage 1", None, "Design", "root@example.test"),
        ("status_changed", "status", "pending", "in_progress", "root@example.test"),
    ]

    response = changelist_action(root_client, "stage", "start", [stage])
    assert messages_of(response) == [("error", "“1. Design”: Only a pending stage can be started.")]
    response = changelist_action(root_client, "stage", "reopen", [stage])
    assert messages_of(response) == [("error", "“1. Design”: Only a completed stage can be reopened.")]


def test_complete_asks_for_the_actual_hours_on_an_intermediate_page(root_client, project, member):
    task = make_task(project, member, stages=(("Only", 4),))
    stage = task.stages.get()
    before = snapshot(task)

    page = changelist_action(root_client, "stage", "complete", [stage])

    assert page.status_code == 200
    assert f'name="actual_hours_{stage.pk}"' in page.content.decode()
    assert snapshot(task) == before  # asking writes nothing

    bad = changelist_action(root_client, "stage", "complete", [stage], post="yes", **{f"actual_hours_{stage.pk}": "-1"})
    assert bad.status_code == 200
    assert dict(bad.context["form"].errors) == {
        f"actual_hours_{stage.pk}": ["Ensure this value is greater than or equal to 0."]
    }
    assert snapshot(task) == before

    after = last_activity_id()
    done = changelist_action(
        root_client, "stage", "complete", [stage], post="yes", **{f"actual_hours_{stage.pk}": "3.5"}
    )

    assert ("success", "Completed 1 stage(s).") in messages_of(done)
    stage.refresh_from_db()
    task.refresh_from_db()
    assert (stage.status, stage.actual_hours) == (Status.COMPLETED, Decimal("3.50"))
    assert (task.status, task.completed_at) == (Status.COMPLETED, stage.completed_at)
    assert trail(task, after) == [
        ("stage_completed", "stage 1", None, {"name": "Only", "actual_hours": "3.50"}, "root@example.test"),
        ("completed", "status", "pending", "completed", "root@example.test"),
    ]

    reopened = changelist_action(root_client, "stage", "reopen", [stage])
    assert ("success", "Reopened 1 stage(s).") in messages_of(reopened)
    task.refresh_from_db()
    assert (task.status, task.completed_at) == (Status.IN_PROGRESS, None)


def test_complete_uses_recorded_hours_without_asking(root_client, project, member):
    task = make_task(project, member)
    stage = task.stages.get(order=1)
    services.stage_update(actor=member, stage=stage, data={"actual_hours": "2"})
    after = last_activity_id()

    response = changelist_action(root_client, "stage", "complete", [stage])

    assert ("success", "Completed 1 stage(s).") in messages_of(response)
    assert trail(task, after)[0] == (
        "stage_completed",
        "stage 1",
        None,
        {"name": "Design", "actual_hours": "2.00"},
        "root@example.test",
    )


def test_complete_from_the_stage_page_asks_and_posts_back_to_that_stage(root_client, project, member):
    task = make_task(project, member)
    stage = task.stages.get(order=2)
    url = reverse("admin:tasks_stage_object_action", args=[stage.pk, "complete"])
    assert url in root_client.get(stage_change_url(stage)).content.decode()

    page = root_client.post(url)
    assert page.status_code == 200
    assert f'name="actual_hours_{stage.pk}"' in page.content.decode()

    response = root_client.post(url, {"post": "yes", f"actual_hours_{stage.pk}": "8"}, follow=True)

    assert response.redirect_chain == [(stage_change_url(stage), 302)]
    stage.refresh_from_db()
    assert (stage.status, stage.actual_hours) == (Status.COMPLETED, Decimal("8.00"))
    task.refresh_from_db()
    assert task.status == Status.IN_PROGRESS  # the first stage is still open


def test_completing_a_stage_of_a_trashed_task_is_refused_with_the_rule(root_client, project, member):
    task = make_task(project, member)
    stage = task.stages.get(order=1)
    services.task_delete(actor=member, task=task)
    before = snapshot(task)

    response = changelist_action(
        root_client, "stage", "complete", [stage], post="yes", **{f"actual_hours_{stage.pk}": "1"}
    )

    assert messages_of(response) == [("error", "“1. Design”: This task is in the trash; restore it first.")]
    assert snapshot(task) == before


def test_stage_lists_and_pages_of_other_teams_are_hidden_from_other_staff(client, project, member, team_roles):
    task = make_task(project, member)
    stage = task.stages.get(order=1)
    staff(client, "elsewhere@example.test", team=team_roles[1], role="owner")
    assert client.get(stage_change_url(stage)).status_code == 302
    assert object_action(client, "stage", stage, "start").status_code == 404
    assert Stage.objects.get(pk=stage.pk).status == Status.PENDING


# --- projects and users: the doors that would delete tasks around the services -----------------------------


def test_a_project_with_live_tasks_cannot_be_deleted_in_admin(root_client, project, member):
    task = make_task(project, member)
    url = reverse("admin:tasks_project_delete", args=[project.pk])
    response = root_client.post(url, {"post": "yes"}, follow=True)
    assert response.status_code == 200
    assert messages_of(response) == [("error", "Move this project's tasks to the trash first.")]
    assert Task.objects.filter(pk=task.pk, deleted_at__isnull=True).exists()


def test_a_project_whose_tasks_are_all_in_the_trash_is_deleted_through_the_service(root_client, project, member):
    task = make_task(project, member)
    services.task_delete(actor=member, task=task)
    response = root_client.post(reverse("admin:tasks_project_delete", args=[project.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Task.objects.filter(pk=task.pk).exists()
    assert not type(project).objects.filter(pk=project.pk).exists()


def test_delete_selected_projects_names_the_refused_one(root_client, project, member, team_roles):
    make_task(project, member)
    empty = ProjectFactory(team=team_roles[0], name="Empty")
    changelist = reverse("admin:tasks_project_changelist")
    response = root_client.post(
        changelist,
        {"action": "delete_selected", "_selected_action": [project.pk, empty.pk], "post": "yes"},
        follow=True,
    )
    assert response.status_code == 200
    assert messages_of(response) == [
        ("error", "“Launch”: Move this project's tasks to the trash first."),
        ("success", "Deleted 1 project(s)."),
    ]
    assert type(project).objects.filter(pk=project.pk).exists()
    assert not type(project).objects.filter(pk=empty.pk).exists()


def test_a_project_renamed_in_admin_goes_through_project_update(root_client, project, team_roles):
    from tasks.tests.factories import ProjectFactory as Projects

    Projects(team=team_roles[0], name="Taken")
    url = reverse("admin:tasks_project_change", args=[project.pk])
    fields = {**admin_form(root_client, url, "project_form"), "name": "Taken"}
    response = root_client.post(url, fields)
    assert response.status_code == 200
    assert form_errors(response)["name"] == ["This team already has a project of that name."]
    project.refresh_from_db()
    assert project.name == "Launch"


def test_users_cannot_be_deleted_in_admin_only_deactivated(root_client, member):
    response = root_client.post(reverse("admin:accounts_user_delete", args=[member.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert type(member).objects.filter(pk=member.pk).exists()
