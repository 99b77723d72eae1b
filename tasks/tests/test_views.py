"""The HTML pages of tasks: what each role sees and may do, bad input, escaping, and query counts."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from accounts.tests.factories import MembershipFactory, UserFactory
from tasks import services
from tasks.deadlines import deadlines_at
from tasks.models import Activity, Comment, Label, Project, Recurrence, Stage, Status, Task, Template
from tasks.tests.factories import (
    LabelFactory,
    ProjectFactory,
    StageFactory,
    TaskFactory,
    TemplateFactory,
    TemplateStageFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(team_roles):
    team, other, people = team_roles
    project = ProjectFactory(team=team, name="Apollo")
    task = TaskFactory(project=project, title="Write the spec", created_by=people["member"], assignee=people["member"])
    StageFactory(task=task, order=1, name="Draft")
    StageFactory(task=task, order=2, name="Review")
    template = TemplateFactory(team=team, name="Release")
    TemplateStageFactory(template=template, order=1, name="Build", estimated_hours=Decimal("3"))
    TemplateStageFactory(template=template, order=2, name="Ship", estimated_hours=Decimal("1"))
    return {"team": team, "other": other, "people": people, "project": project, "task": task, "template": template}


def login(client, user):
    client.force_login(user)
    return client


# --- reading ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "admin", "member", "viewer"])
def test_every_member_reads_the_pages_of_the_team(client, world, role):
    login(client, world["people"][role])
    project, task = world["project"], world["task"]
    for url in [
        reverse("tasks:my_work"),
        reverse("tasks:project_list"),
        reverse("tasks:board", args=[project.pk]),
        reverse("tasks:task_list", args=[project.pk]),
        reverse("tasks:task_detail", args=[task.pk]),
        reverse("tasks:template_list"),
        reverse("tasks:trash"),
        reverse("tasks:archive"),
        reverse("analytics:dashboard"),
        reverse("tasks:calendar"),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
    assert "Write the spec" in client.get(reverse("tasks:board", args=[project.pk])).content.decode()


def test_another_teams_project_and_task_are_not_found(client, world):
    login(client, world["people"]["outsider"])
    project, task = world["project"], world["task"]
    stage = task.stages.first()
    for url in [
        reverse("tasks:board", args=[project.pk]),
        reverse("tasks:task_list", args=[project.pk]),
        reverse("tasks:task_create", args=[project.pk]),
        reverse("tasks:project_edit", args=[project.pk]),
        reverse("tasks:task_detail", args=[task.pk]),
        reverse("tasks:template_edit", args=[world["template"].pk]),
    ]:
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("tasks:stage_start", args=[stage.pk])).status_code == 404
    assert "Apollo" not in client.get(reverse("tasks:project_list")).content.decode()


def test_anonymous_visitors_are_sent_to_sign_in(client, world):
    response = client.get(reverse("tasks:board", args=[world["project"].pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_viewer_sees_the_task_without_any_edit_control(client, world):
    login(client, world["people"]["viewer"])
    html = client.get(reverse("tasks:task_detail", args=[world["task"].pk])).content.decode()
    assert "Write the spec" in html
    assert "Draft" in html
    assert "<form" not in html.split("<main", 1)[1]  # no form at all in the page body
    board = client.get(reverse("tasks:board", args=[world["project"].pk])).content.decode()
    assert "data-move" not in board
    assert "New task" not in board


def test_member_sees_edit_controls(client, world):
    login(client, world["people"]["member"])
    html = client.get(reverse("tasks:task_detail", args=[world["task"].pk])).content.decode()
    for action in ("stage_start", "stage_complete", "comment_add", "task_edit", "stage_add", "task_delete"):
        stage = world["task"].stages.first()
        arg = stage.pk if action.startswith("stage_") and action != "stage_add" else world["task"].pk
        assert reverse(f"tasks:{action}", args=[arg]) in html, action


def test_user_text_is_escaped_everywhere(client, world):
    member = world["people"]["member"]
    task = TaskFactory(project=world["project"], title="<script>alert(1)</script>", assignee=member, created_by=member)
    services.comment_create(actor=member, task=task, body="<img src=x onerror=alert(2)>")
    login(client, member)
    for url in [
        reverse("tasks:task_detail", args=[task.pk]),
        reverse("tasks:board", args=[world["project"].pk]),
        reverse("tasks:task_list", args=[world["project"].pk]),
        reverse("tasks:my_work"),
    ]:
        html = client.get(url).content.decode()
        assert "<script>alert(1)</script>" not in html, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, url
    assert "<img src=x" not in client.get(reverse("tasks:task_detail", args=[task.pk])).content.decode()


def test_pages_send_a_strict_content_security_policy(client, world):
    login(client, world["people"]["member"])
    response = client.get(reverse("tasks:task_detail", args=[world["task"].pk]))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    html = response.content.decode()
    assert " style=" not in html
    assert "<script>" not in html
    assert " onclick=" not in html


# --- my work ------------------------------------------------------------------------------------------


def test_my_work_lists_my_open_tasks_overdue_first(client, world):
    member = world["people"]["member"]
    today = deadlines_at().today()
    project = world["project"]
    later = TaskFactory(project=project, title="Later one", assignee=member, due_date=today + timedelta(days=20))
    overdue = TaskFactory(project=project, title="Late one", assignee=member, due_date=today - timedelta(days=3))
    soon = TaskFactory(project=project, title="Soon one", assignee=member, due_date=today + timedelta(days=1))
    TaskFactory(project=project, title="Someone else's", assignee=world["people"]["admin"])
    TaskFactory(
        project=project, title="Done one", assignee=member, status=Status.COMPLETED, completed_at=timezone.now()
    )
    login(client, member)
    html = client.get(reverse("tasks:my_work")).content.decode()
    assert html.index(overdue.title) < html.index(soon.title) < html.index(later.title)
    assert "Someone else" not in html
    assert "Done one" not in html
    assert "Overdue" in html


@pytest.mark.parametrize("view", ["my_work", "board", "task_list"])
def test_lists_make_a_fixed_number_of_queries(client, world, django_assert_num_queries, view):
    member = world["people"]["member"]
    project = world["project"]
    label = LabelFactory(team=world["team"], name="backend")
    url = reverse(f"tasks:{view}", args=[] if view == "my_work" else [project.pk])
    login(client, member)

    def add(n):
        for i in range(n):
            task = TaskFactory(
                project=project, assignee=member, due_date=deadlines_at().today() - timedelta(days=i % 3)
            )
            task.labels.add(label)
            StageFactory(task=task, order=1)

    counts = []
    for total in (5, 50):
        add(total - Task.objects.filter(project=project).count() + 1)
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        assert response.status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts
    with django_assert_num_queries(counts[0]):
        client.get(url)


# --- board moves ----------------------------------------------------------------------------------------


def test_member_moves_a_task_without_stages_across_the_board(client, world):
    member = world["people"]["member"]
    task = TaskFactory(project=world["project"], title="Plain", created_by=member)
    login(client, member)
    board = reverse("tasks:board", args=[world["project"].pk])
    response = client.post(reverse("tasks:task_status", args=[task.pk]), {"status": "completed", "next": board})
    assert response.status_code == 302
    assert response["Location"] == board
    task.refresh_from_db()
    assert task.status == Status.COMPLETED
    assert task.completed_at is not None
    page = client.get(board).content.decode()
    assert "is now completed" in page


def test_a_refused_move_is_a_message_not_an_error(client, world):
    task = world["task"]  # has stages: it completes with its last stage only
    login(client, world["people"]["member"])
    board = reverse("tasks:board", args=[world["project"].pk])
    response = client.post(reverse("tasks:task_status", args=[task.pk]), {"status": "completed", "next": board})
    assert response.status_code == 302
    html = client.get(board).content.decode()
    assert "was not moved" in html
    assert "completes when its last stage is completed" in html
    task.refresh_from_db()
    assert task.status == Status.PENDING


def test_htmx_move_follows_the_redirect_and_gets_the_board(client, world):
    task = TaskFactory(project=world["project"], title="Via htmx", created_by=world["people"]["member"])
    login(client, world["people"]["member"])
    board = reverse("tasks:board", args=[world["project"].pk])
    response = client.post(
        reverse("tasks:task_status", args=[task.pk]),
        {"status": "in_progress", "next": board},
        HTTP_HX_REQUEST="true",
        follow=True,
    )
    assert response.status_code == 200
    assert 'id="main"' in response.content.decode()
    task.refresh_from_db()
    assert task.status == Status.IN_PROGRESS


def test_next_outside_the_site_is_ignored(client, world):
    task = TaskFactory(project=world["project"], created_by=world["people"]["member"])
    login(client, world["people"]["member"])
    response = client.post(
        reverse("tasks:task_status", args=[task.pk]), {"status": "in_progress", "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("tasks:task_detail", args=[task.pk])


def test_a_bad_status_is_a_message(client, world):
    task = TaskFactory(project=world["project"], created_by=world["people"]["member"])
    login(client, world["people"]["member"])
    response = client.post(reverse("tasks:task_status", args=[task.pk]), {"status": "flying"}, follow=True)
    assert response.status_code == 200
    assert "Choose pending, in progress or completed." in response.content.decode()
    task.refresh_from_db()
    assert task.status == Status.PENDING


# --- list -----------------------------------------------------------------------------------------------


def test_list_filters_searches_sorts_and_pages(client, world):
    member = world["people"]["member"]
    project = world["project"]
    for i in range(30):
        TaskFactory(project=project, title=f"Bulk {i:02d}", priority=1 + i % 4, created_by=member)
    TaskFactory(project=project, title="Needle", description="find the haystack", priority=4, created_by=member)
    login(client, member)
    url = reverse("tasks:task_list", args=[project.pk])
    page1 = client.get(url).content.decode()
    assert "32 tasks" in page1
    assert "Page 1 of 2" in page1
    assert "Needle" in client.get(url, {"search": "haystack"}).content.decode()
    searched = client.get(url, {"search": "haystack"}).content.decode()
    assert "1 task" in searched
    assert "Bulk 00" not in searched
    urgent = client.get(url, {"priority": "urgent", "ordering": "-priority"}).content.decode()
    assert "Needle" in urgent
    assert "Bulk 00" not in urgent
    assert "Bulk 03" in urgent
    page2 = client.get(url, {"page": 2}).content.decode()
    assert "Page 2 of 2" in page2


def test_list_shows_bad_filter_values_next_to_their_field(client, world):
    login(client, world["people"]["member"])
    response = client.get(
        reverse("tasks:task_list", args=[world["project"].pk]),
        {"due_after": "not-a-date", "priority": "cosmic", "page": "zzz"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Enter a valid date." in html
    assert "Select a valid choice" in html


# --- create, edit ---------------------------------------------------------------------------------------


def test_member_creates_a_task_from_a_template(client, world):
    member = world["people"]["member"]
    login(client, member)
    url = reverse("tasks:task_create", args=[world["project"].pk])
    form = client.get(url, {"template": world["template"].pk}).content.decode()
    assert f'value="{world["template"].pk}" selected' in form
    response = client.post(
        url,
        {
            "title": "Ship 1.0",
            "template": world["template"].pk,
            "priority": 3,
            "assignee": member.pk,
            "due_date": "2030-01-31",
            "idempotency_key": "k-1",
        },
    )
    task = Task.objects.get(title="Ship 1.0")
    assert response["Location"] == reverse("tasks:task_detail", args=[task.pk])
    assert [s.name for s in task.stages.order_by("order")] == ["Build", "Ship"]
    assert task.assignee == member
    assert str(task.due_date) == "2030-01-31"
    assert task.priority == 3
    # The same form submitted twice (the same idempotency key) makes one task.
    client.post(url, {"title": "Ship 1.0", "priority": 3, "idempotency_key": "k-1"})
    assert Task.objects.filter(title="Ship 1.0").count() == 1


def test_create_form_errors_show_next_to_their_field_and_nothing_is_written(client, world):
    login(client, world["people"]["member"])
    before = Task.objects.count()
    outsider = world["people"]["outsider"]
    response = client.post(
        reverse("tasks:task_create", args=[world["project"].pk]),
        {"title": "", "priority": 9, "assignee": outsider.pk, "due_date": "31/31/2030"},
    )
    assert response.status_code == 422
    form = response.context["form"]
    assert set(form.errors) == {"title", "priority", "assignee", "due_date"}
    assert Task.objects.count() == before


def test_editing_a_task_records_what_changed(client, world):
    member, admin = world["people"]["member"], world["people"]["admin"]
    label = LabelFactory(team=world["team"], name="urgent-fix")
    task = world["task"]
    login(client, member)
    response = client.post(
        reverse("tasks:task_edit", args=[task.pk]),
        {
            "title": "Write the better spec",
            "description": "Now with **more**",
            "priority": 4,
            "assignee": admin.pk,
            "due_date": "2031-05-01",
            "labels": [label.pk],
        },
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert (task.title, task.priority, task.assignee, list(task.labels.all())) == (
        "Write the better spec",
        4,
        admin,
        [label],
    )
    html = client.get(reverse("tasks:task_detail", args=[task.pk])).content.decode()
    assert f"assigned the task to {admin.get_full_name()}" in html
    assert "changed the priority from Medium to Urgent" in html


def test_edit_errors_rerender_the_page_with_the_form_open(client, world):
    login(client, world["people"]["member"])
    response = client.post(reverse("tasks:task_edit", args=[world["task"].pk]), {"title": " ", "priority": 2})
    assert response.status_code == 422
    assert response.context["edit_form"].errors["title"]
    world["task"].refresh_from_db()
    assert world["task"].title == "Write the spec"


# --- stages, comments -----------------------------------------------------------------------------------


def test_member_works_through_the_stages_until_the_task_completes(client, world):
    task = world["task"]
    login(client, world["people"]["member"])
    draft, review = task.stages.order_by("order")
    client.post(reverse("tasks:stage_start", args=[draft.pk]))
    task.refresh_from_db()
    assert task.status == Status.IN_PROGRESS
    response = client.post(reverse("tasks:stage_complete", args=[draft.pk]), {f"stage{draft.pk}-actual_hours": "2.5"})
    assert response.status_code == 302
    response = client.post(reverse("tasks:stage_complete", args=[review.pk]), {f"stage{review.pk}-actual_hours": "1"})
    task.refresh_from_db()
    assert task.status == Status.COMPLETED
    draft.refresh_from_db()
    assert draft.actual_hours == Decimal("2.50")
    html = client.get(reverse("tasks:task_detail", args=[task.pk])).content.decode()
    assert "completed stage 1 “Draft” in 2.50 h" in html


def test_completing_a_stage_needs_actual_hours(client, world):
    stage = world["task"].stages.first()
    login(client, world["people"]["member"])
    for value, message in [("", "This field is required."), ("-1", "greater than or equal to 0"), ("abc", "number")]:
        response = client.post(
            reverse("tasks:stage_complete", args=[stage.pk]), {f"stage{stage.pk}-actual_hours": value}
        )
        assert response.status_code == 422
        assert message in response.content.decode()
    stage.refresh_from_db()
    assert stage.status == Status.PENDING
    assert stage.actual_hours is None


def test_stages_are_added_reordered_and_deleted(client, world):
    task = world["task"]
    login(client, world["people"]["member"])
    client.post(reverse("tasks:stage_add", args=[task.pk]), {"name": "Publish", "estimated_hours": "0.5"})
    publish = task.stages.get(name="Publish")
    assert publish.order == 3
    client.post(reverse("tasks:stage_move", args=[publish.pk]), {"direction": "up"})
    assert list(task.stages.order_by("order").values_list("name", flat=True)) == ["Draft", "Publish", "Review"]
    client.post(reverse("tasks:stage_delete", args=[publish.pk]))
    assert list(task.stages.order_by("order").values_list("name", flat=True)) == ["Draft", "Review"]
    bad = client.post(reverse("tasks:stage_add", args=[task.pk]), {"name": "", "estimated_hours": "0"})
    assert bad.status_code == 422
    assert set(bad.context["stage_form"].errors) == {"name"}
    zero = client.post(reverse("tasks:stage_add", args=[task.pk]), {"name": "Zero", "estimated_hours": "0"})
    assert zero.status_code == 422
    assert "greater than zero" in zero.content.decode()
    assert task.stages.count() == 2


def test_starting_a_started_stage_is_a_message(client, world):
    stage = world["task"].stages.first()
    login(client, world["people"]["member"])
    client.post(reverse("tasks:stage_start", args=[stage.pk]))
    response = client.post(reverse("tasks:stage_start", args=[stage.pk]), follow=True)
    assert response.status_code == 200
    assert "This stage is in progress now." in response.content.decode()


def test_member_comments(client, world):
    login(client, world["people"]["member"])
    task = world["task"]
    response = client.post(reverse("tasks:comment_add", args=[task.pk]), {"body": "Looks good\nship it"})
    comment = Comment.objects.get(task=task)
    assert response["Location"].endswith(f"#comment-{comment.pk}")
    html = client.get(reverse("tasks:task_detail", args=[task.pk])).content.decode()
    assert "<p>Looks good<br>\nship it</p>" in html  # Markdown, hard line breaks kept
    empty = client.post(reverse("tasks:comment_add", args=[task.pk]), {"body": "   "})
    assert empty.status_code == 422
    assert Comment.objects.count() == 1


# --- trash ----------------------------------------------------------------------------------------------


def test_trash_and_restore(client, world):
    task = world["task"]
    login(client, world["people"]["member"])
    client.post(reverse("tasks:task_delete", args=[task.pk]))
    assert client.get(reverse("tasks:task_detail", args=[task.pk])).status_code == 404
    assert "Write the spec" in client.get(reverse("tasks:trash")).content.decode()
    client.post(reverse("tasks:task_restore", args=[task.pk]))
    task.refresh_from_db()
    assert task.deleted_at is None
    assert client.get(reverse("tasks:task_detail", args=[task.pk])).status_code == 200


def test_archive_lists_archived_tasks(client, world):
    now = timezone.now()
    TaskFactory(project=world["project"], title="Old news", status=Status.COMPLETED, completed_at=now, archived_at=now)
    login(client, world["people"]["viewer"])
    assert "Old news" in client.get(reverse("tasks:archive")).content.decode()
    assert "Old news" not in client.get(reverse("tasks:board", args=[world["project"].pk])).content.decode()


# --- projects, templates ---------------------------------------------------------------------------------


def test_admin_creates_and_edits_a_project(client, world):
    login(client, world["people"]["admin"])
    response = client.post(reverse("tasks:project_list"), {"team": world["team"].pk, "name": "Gemini"})
    project = Project.objects.get(name="Gemini")
    assert response["Location"] == reverse("tasks:board", args=[project.pk])
    dup = client.post(reverse("tasks:project_list"), {"team": world["team"].pk, "name": "apollo"})
    assert dup.status_code == 422
    assert "already has a project of that name" in dup.content.decode()
    client.post(reverse("tasks:project_edit", args=[project.pk]), {"name": "Gemini 2", "description": "x"})
    project.refresh_from_db()
    assert project.name == "Gemini 2"
    client.post(reverse("tasks:project_delete", args=[project.pk]))
    assert not Project.objects.filter(pk=project.pk).exists()


def test_a_project_with_live_tasks_is_not_deleted(client, world):
    login(client, world["people"]["admin"])
    response = client.post(reverse("tasks:project_delete", args=[world["project"].pk]), follow=True)
    assert "Move this project&#x27;s tasks to the trash first." in response.content.decode()
    assert Project.objects.filter(pk=world["project"].pk).exists()


def test_admin_creates_and_edits_a_template(client, world):
    login(client, world["people"]["admin"])
    data = {
        "team": world["team"].pk,
        "name": "Bugfix",
        "description": "",
        "stages-TOTAL_FORMS": "3",
        "stages-INITIAL_FORMS": "0",
        "stages-0-name": "Reproduce",
        "stages-0-estimated_hours": "1",
        "stages-1-name": "",
        "stages-1-estimated_hours": "",
        "stages-2-name": "Fix",
        "stages-2-estimated_hours": "2.5",
    }
    response = client.post(reverse("tasks:template_create"), data)
    assert response.status_code == 302
    template = Template.objects.get(name="Bugfix")
    assert [(s.name, s.estimated_hours) for s in template.stages.order_by("order")] == [
        ("Reproduce", Decimal("1.00")),
        ("Fix", Decimal("2.50")),
    ]
    edit = client.get(reverse("tasks:template_edit", args=[template.pk])).content.decode()
    assert 'value="Reproduce"' in edit
    data.pop("team")
    data.update({"stages-0-name": "Reproduce it", "stages-2-estimated_hours": ""})
    response = client.post(reverse("tasks:template_edit", args=[template.pk]), data)
    assert response.status_code == 422
    assert "Give an estimate for this stage." in response.content.decode()
    empty = {**data, "stages-0-name": "", "stages-0-estimated_hours": "", "stages-2-name": ""}
    response = client.post(reverse("tasks:template_edit", args=[template.pk]), empty)
    assert response.status_code == 422
    assert "A template needs at least one stage." in response.content.decode()
    assert template.stages.count() == 2


def test_use_a_template_from_the_templates_page(client, world):
    login(client, world["people"]["member"])
    response = client.get(reverse("tasks:template_use", args=[world["template"].pk]), {"project": world["project"].pk})
    assert response["Location"] == (
        reverse("tasks:task_create", args=[world["project"].pk]) + f"?template={world['template'].pk}"
    )
    other_project = ProjectFactory(team=world["other"])
    response = client.get(reverse("tasks:template_use", args=[world["template"].pk]), {"project": other_project.pk})
    assert response["Location"] == reverse("tasks:template_list")


def test_label_created_from_the_task_page(client, world):
    login(client, world["people"]["member"])
    client.post(reverse("tasks:label_add", args=[world["task"].pk]), {"name": "frontend", "color": "#3b82f6"})
    label = Label.objects.get(team=world["team"], name="frontend")
    assert label in world["task"].labels.all()  # created from the task: put on it
    assert world["task"].activities.filter(field="labels").count() == 1
    page = client.get(reverse("tasks:task_detail", args=[world["task"].pk])).content.decode()
    assert page.count('id="id_label_name"') == 1
    assert page.count('id="id_stage_name"') == 1
    assert 'id="id_name"' not in page
    bad = client.post(reverse("tasks:label_add", args=[world["task"].pk]), {"name": "x", "color": "red"})
    assert bad.status_code == 422
    assert "Enter a colour such as #3b82f6." in bad.content.decode()


# --- the permission matrix of every writing view --------------------------------------------------------


MEMBER_WRITES = [
    "task_create", "task_edit", "task_status", "task_delete", "task_restore", "label_add", "stage_add",
    "stage_start", "stage_complete", "stage_move", "stage_delete", "comment_add", "label_add_again",
    "task_recurrence", "task_recurrence_stop",
    "task_due_date",
]  # fmt: skip
ADMIN_WRITES = [
    "project_create",
    "project_edit",
    "project_delete",
    "template_create",
    "template_edit",
    "template_delete",
]
TEAM_IN_FORM = {"project_create", "template_create"}  # no object in the URL: the form names the team


def _write(w, wanted: str):
    """(url, data, role needed) of the view that writes named `wanted`."""
    return next((url, data, needed) for name, url, data, needed in _writes(w) if name == wanted)


def _writes(w):
    """(name, url, data, role needed) for every view that writes."""
    task = w["task"]
    stage = task.stages.order_by("order").first()
    project, template = w["project"], w["template"]
    label_pk = LabelFactory(team=w["team"]).pk
    trashed = TaskFactory(project=project, deleted_at=timezone.now())
    return [
        ("task_create", reverse("tasks:task_create", args=[project.pk]), {"title": "T", "priority": 2}, "member"),
        ("task_edit", reverse("tasks:task_edit", args=[task.pk]), {"title": "New", "priority": 2}, "member"),
        ("task_status", reverse("tasks:task_status", args=[task.pk]), {"status": "in_progress"}, "member"),
        ("task_delete", reverse("tasks:task_delete", args=[task.pk]), {}, "member"),
        ("task_restore", reverse("tasks:task_restore", args=[trashed.pk]), {}, "member"),
        ("label_add", reverse("tasks:label_add", args=[task.pk]), {"name": "n", "color": "#000000"}, "member"),
        ("stage_add", reverse("tasks:stage_add", args=[task.pk]), {"name": "S", "estimated_hours": "1"}, "member"),
        ("stage_start", reverse("tasks:stage_start", args=[stage.pk]), {}, "member"),
        (
            "stage_complete",
            reverse("tasks:stage_complete", args=[stage.pk]),
            {f"stage{stage.pk}-actual_hours": "1"},
            "member",
        ),
        ("stage_move", reverse("tasks:stage_move", args=[stage.pk]), {"direction": "down"}, "member"),
        ("stage_delete", reverse("tasks:stage_delete", args=[stage.pk]), {}, "member"),
        ("comment_add", reverse("tasks:comment_add", args=[task.pk]), {"body": "hi"}, "member"),
        (
            "task_recurrence",
            reverse("tasks:task_recurrence", args=[task.pk]),
            {"frequency": "daily", "interval": "1", "monthly_on": "day", "end": "never"},
            "member",
        ),
        ("task_recurrence_stop", reverse("tasks:task_recurrence_stop", args=[task.pk]), {}, "member"),
        ("task_due_date", reverse("tasks:task_due_date", args=[task.pk]), {"due_date": "2031-05-06"}, "member"),
        ("project_create", reverse("tasks:project_list"), {"team": w["team"].pk, "name": "New P"}, "admin"),
        ("project_edit", reverse("tasks:project_edit", args=[project.pk]), {"name": "Renamed"}, "admin"),
        ("project_delete", reverse("tasks:project_delete", args=[project.pk]), {}, "admin"),
        (
            "template_create",
            reverse("tasks:template_create"),
            {"team": w["team"].pk, "name": "Tpl", "stages-TOTAL_FORMS": "1", "stages-INITIAL_FORMS": "0"},
            "admin",
        ),
        (
            "template_edit",
            reverse("tasks:template_edit", args=[template.pk]),
            {"name": "Tpl2", "stages-TOTAL_FORMS": "1", "stages-INITIAL_FORMS": "0"},
            "admin",
        ),
        ("template_delete", reverse("tasks:template_delete", args=[template.pk]), {}, "admin"),
        ("label_add_again", reverse("tasks:label_add", args=[task.pk]), {"name": f"l{label_pk}"}, "member"),
    ]


def _snapshot():
    return (
        Task.objects.count(),
        Task.objects.filter(deleted_at__isnull=False).count(),
        Stage.objects.count(),
        Activity.objects.count(),
        Comment.objects.count(),
        Project.objects.count(),
        Template.objects.count(),
        Label.objects.count(),
        sorted(Task.objects.values_list("title", "status", "priority")),
        sorted(Task.objects.values_list("pk", "due_date")),
        sorted(Stage.objects.values_list("order", "status")),
        sorted(Project.objects.values_list("name", flat=True)),
        sorted(Template.objects.values_list("name", flat=True)),
        list(Recurrence.objects.values_list("rule", "next_on", "stopped_at")),
    )


@pytest.mark.parametrize("name", MEMBER_WRITES + ADMIN_WRITES)
def test_roles_below_the_one_needed_get_403_and_nothing_changes(client, world, name):
    url, data, needed = _write(world, name)
    refused = ["viewer"] if needed == "member" else ["viewer", "member"]
    for role in refused:
        login(client, world["people"][role])
        before = _snapshot()
        response = client.post(url, data)
        assert response.status_code == 403, (name, role)
        assert _snapshot() == before, (name, role)


@pytest.mark.parametrize("name", [n for n in MEMBER_WRITES + ADMIN_WRITES if n not in TEAM_IN_FORM])
def test_outsiders_get_404_from_every_writing_view_of_another_team(client, world, name):
    url, data, _ = _write(world, name)
    login(client, world["people"]["outsider"])
    before = _snapshot()
    assert client.post(url, data).status_code == 404, name
    assert _snapshot() == before


def test_outsider_cannot_create_in_another_team_by_naming_it(client, world):
    outsider = world["people"]["outsider"]  # owner of the other team
    login(client, outsider)
    response = client.post(reverse("tasks:project_list"), {"team": world["team"].pk, "name": "Sneaky"})
    assert response.status_code == 422
    assert "Select a valid choice" in response.content.decode()
    assert not Project.objects.filter(name="Sneaky").exists()
    stages = {
        "stages-TOTAL_FORMS": "1",
        "stages-INITIAL_FORMS": "0",
        "stages-0-name": "x",
        "stages-0-estimated_hours": "1",
    }
    response = client.post(reverse("tasks:template_create"), {"team": world["team"].pk, "name": "Sneaky", **stages})
    assert response.status_code == 422
    assert not Template.objects.filter(name="Sneaky").exists()


@pytest.mark.parametrize(
    ("role", "name"),
    [(r, n) for r in ("member", "admin", "owner") for n in MEMBER_WRITES]
    + [(r, n) for r in ("admin", "owner") for n in ADMIN_WRITES],
)
def test_roles_with_the_right_write_and_are_redirected(client, world, role, name):
    url, data, _ = _write(world, name)
    if name == "project_delete":
        Task.objects.filter(project=world["project"]).update(deleted_at=timezone.now())
    if name.startswith("template_"):
        data = {**data, "stages-TOTAL_FORMS": "1", "stages-0-name": "One", "stages-0-estimated_hours": "1"}
    if name == "label_add_again":
        data = {**data, "color": "#123456"}
    if name == "task_recurrence_stop":  # something to stop
        services.recurrence_set(actor=world["people"]["owner"], task=world["task"], rule="FREQ=DAILY")
    login(client, world["people"][role])
    before = _snapshot()
    response = client.post(url, data)
    assert response.status_code == 302, (
        name,
        role,
        response.context and [c.get("form") and c["form"].errors for c in response.context][:1],
        response.context and response.context.get("stages_error"),
    )
    assert _snapshot() != before, name


def test_viewer_cannot_open_create_forms(client, world):
    login(client, world["people"]["viewer"])
    assert client.get(reverse("tasks:task_create", args=[world["project"].pk])).status_code == 403
    assert client.get(reverse("tasks:template_create")).status_code == 403
    assert client.get(reverse("tasks:project_edit", args=[world["project"].pk])).status_code == 403


def test_member_of_two_teams_sees_both(client, world):
    member = world["people"]["member"]
    MembershipFactory(team=world["other"], user=member, role=Role.VIEWER)
    ProjectFactory(team=world["other"], name="Zeus")
    login(client, member)
    html = client.get(reverse("tasks:project_list")).content.decode()
    assert "Apollo" in html
    assert "Zeus" in html
    assert UserFactory  # factories imported for other tests
