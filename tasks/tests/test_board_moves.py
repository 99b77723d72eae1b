"""The board offers only the moves that can succeed, and a drop on Completed of a task with open stages asks
their actual hours and completes them all in one service call (task_complete_with_stages)."""

import re
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from notifications.models import Notification
from tasks import services
from tasks.models import Activity, Stage, Status, Task
from tasks.tests.factories import ProjectFactory, StageFactory, TaskFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def board(team_roles):
    team, _, people = team_roles
    project = ProjectFactory(team=team, name="Apollo")
    staged = TaskFactory(project=project, title="Staged", created_by=people["admin"])
    design = StageFactory(task=staged, order=1, name="Design", estimated_hours=Decimal("3"))
    build = StageFactory(task=staged, order=2, name="Build", estimated_hours=Decimal("5"))
    return {"people": people, "project": project, "task": staged, "design": design, "build": build}


def state(task: Task):
    """Everything the service may write: the task, its stages, its Activity and the notifications."""
    task.refresh_from_db()
    stages = list(task.stages.order_by("order").values_list("status", "actual_hours", "completed_at"))
    return (task.status, task.completed_at, stages, Activity.objects.count(), Notification.objects.count())


# --- the service ----------------------------------------------------------------------------------------


def test_completing_with_stages_completes_each_open_stage_and_the_task_in_one_call(board):
    member, task = board["people"]["member"], board["task"]
    services.stage_start(actor=member, stage=board["design"])

    done = services.task_complete_with_stages(
        actor=member, task=task, actual_hours={board["design"].pk: "2.5", board["build"].pk: Decimal("6")}
    )

    assert [s.pk for s in done] == [board["design"].pk, board["build"].pk]
    task.refresh_from_db()
    stages = list(task.stages.order_by("order"))
    assert [(s.status, s.actual_hours) for s in stages] == [
        (Status.COMPLETED, Decimal("2.50")),
        (Status.COMPLETED, Decimal("6.00")),
    ]
    assert task.status == Status.COMPLETED
    assert task.completed_at == max(s.completed_at for s in stages)
    assert stages[1].started_at is not None  # a pending stage completed is started too
    verbs = list(task.activities.order_by("pk").values_list("verb", "field", "new_value"))
    assert verbs[-3:] == [
        (Activity.Verb.STAGE_COMPLETED, "stage 1", {"name": "Design", "actual_hours": "2.50"}),
        (Activity.Verb.STAGE_COMPLETED, "stage 2", {"name": "Build", "actual_hours": "6.00"}),
        (Activity.Verb.COMPLETED, "status", "completed"),
    ]
    # the creator hears of the completion, once
    assert Notification.objects.filter(user=board["people"]["admin"], task=task).count() == 1


def test_a_stage_already_completed_or_with_hours_recorded_needs_no_hours(board):
    member, task = board["people"]["member"], board["task"]
    services.stage_complete(actor=member, stage=board["design"], actual_hours="1")
    Stage.objects.filter(pk=board["build"].pk).update(actual_hours=Decimal("4.25"))

    services.task_complete_with_stages(actor=member, task=task, actual_hours={})

    task.refresh_from_db()
    assert task.status == Status.COMPLETED
    assert list(task.stages.order_by("order").values_list("actual_hours", flat=True)) == [
        Decimal("1.00"),
        Decimal("4.25"),
    ]


@pytest.mark.parametrize(
    ("hours", "field", "message"),
    [
        ({"design": "2"}, "actual_hours_{build}", "Enter the actual hours of “Build”."),
        ({"design": "2", "build": "-1"}, "actual_hours_{build}", "Hours cannot be negative."),
        ({"design": "lots", "build": "1"}, "actual_hours_{design}", "Enter a number of hours."),
        (
            {"design": "2", "build": "1", "other": "1"},
            "actual_hours_{other}",
            "This is not an open stage of this task.",
        ),
    ],
)
def test_bad_hours_are_refused_with_the_field_named_and_nothing_written(board, hours, field, message):
    member, task = board["people"]["member"], board["task"]
    other = StageFactory(task=TaskFactory(project=board["project"]), order=1)
    ids = {"design": board["design"].pk, "build": board["build"].pk, "other": other.pk}
    before = state(task)

    with pytest.raises(ValidationError) as caught:
        services.task_complete_with_stages(actor=member, task=task, actual_hours={ids[k]: v for k, v in hours.items()})

    assert caught.value.message_dict[field.format(**ids)] == [message]
    assert state(task) == before


def test_a_viewer_may_not_and_a_task_without_open_stages_is_refused(board):
    task = board["task"]
    before = state(task)
    with pytest.raises(PermissionDenied):
        services.task_complete_with_stages(actor=board["people"]["viewer"], task=task, actual_hours={})
    plain = TaskFactory(project=board["project"])
    with pytest.raises(ValidationError) as caught:
        services.task_complete_with_stages(actor=board["people"]["member"], task=plain, actual_hours={})
    assert "stages" in caught.value.message_dict
    assert state(task) == before


# --- what the board offers ------------------------------------------------------------------------------


def card_moves(html: str, task: Task) -> list[str]:
    card = re.search(rf'<li class="task-card[^"]*" data-card="{task.pk}".*?</li>', html, re.S).group(0)
    return re.findall(r'data-move-to="(\w+)"', card)


def test_each_card_offers_only_the_moves_that_can_succeed(client, board):
    project, staged = board["project"], board["task"]
    plain = TaskFactory(project=project, title="Plain")
    started = TaskFactory(project=project, title="Started")
    StageFactory(task=started, order=1)
    done = TaskFactory(project=project, title="Done")
    StageFactory(task=done, order=1)
    member = board["people"]["member"]
    services.stage_start(actor=member, stage=started.stages.get())
    services.stage_complete(actor=member, stage=done.stages.get(), actual_hours="1")
    client.force_login(member)

    html = client.get(reverse("tasks:board", args=[project.pk])).content.decode()

    assert card_moves(html, plain) == ["in_progress", "completed"]  # no stages: anywhere, by the status form
    assert card_moves(html, staged) == ["in_progress", "completed"]  # completed through the hours form
    assert card_moves(html, started) == ["completed"]  # a stage has begun: no way back to pending
    assert card_moves(html, done) == ["in_progress"]  # reopens its last stage; pending is refused
    complete_url = reverse("tasks:task_complete_stages", args=[staged.pk])
    assert f'href="{complete_url}?next=' in html
    staged_card = html.split(f'data-card="{staged.pk}"')[1].split("</li>")[0]
    assert 'name="status" value="completed"' not in staged_card  # no status button that would be refused
    assert re.search(rf'data-card="{started.pk}"[^>]*data-moves="completed"', html)
    assert "<select" not in html  # the compact menu replaced the select and button


def test_the_hint_names_dragging_only_where_css_shows_it(client, board):
    client.force_login(board["people"]["member"])
    html = client.get(reverse("tasks:board", args=[board["project"].pk])).content.decode()
    assert '<span class="hint-drag">, or drag it to another column</span>' in html


# --- the hours form -------------------------------------------------------------------------------------


def test_the_hours_form_lists_the_open_stages_and_completes_the_task(client, board):
    member, task = board["people"]["member"], board["task"]
    services.stage_complete(actor=member, stage=board["design"], actual_hours="2")
    client.force_login(member)
    url = reverse("tasks:task_complete_stages", args=[task.pk])
    board_url = reverse("tasks:board", args=[board["project"].pk])

    page = client.get(url, {"next": board_url}).content.decode()
    assert '<span class="stage-name">Build</span>' in page
    assert f'name="actual_hours_{board["build"].pk}"' in page
    assert f'name="actual_hours_{board["design"].pk}"' not in page  # completed already
    assert 'id="complete-form"' in page

    response = client.post(url, {f"actual_hours_{board['build'].pk}": "7.5", "next": board_url})

    assert response.status_code == 302
    assert response["Location"] == board_url
    task.refresh_from_db()
    assert task.status == Status.COMPLETED
    assert task.stages.get(pk=board["build"].pk).actual_hours == Decimal("7.50")
    assert "is now completed" in client.get(board_url).content.decode()


def test_a_refused_hours_form_says_why_by_the_field_and_writes_nothing(client, board):
    member, task = board["people"]["member"], board["task"]
    client.force_login(member)
    url = reverse("tasks:task_complete_stages", args=[task.pk])
    before = state(task)

    response = client.post(url, {f"actual_hours_{board['design'].pk}": "-2"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 422
    html = response.content.decode()
    assert "Ensure this value is greater than or equal to 0." in html
    assert "Enter the actual hours of “Build”." in html
    assert response["HX-Retarget"] == "#complete-form"
    assert response["HX-Reselect"] == "#complete-form"
    assert state(task) == before


def test_the_hours_form_is_for_members_only_and_ignores_a_next_off_the_site(client, board):
    task = board["task"]
    url = reverse("tasks:task_complete_stages", args=[task.pk])
    client.force_login(board["people"]["viewer"])
    assert client.get(url).status_code == 403
    assert client.post(url, {f"actual_hours_{board['design'].pk}": "1"}).status_code == 403
    client.force_login(board["people"]["outsider"])
    assert client.get(url).status_code == 404
    client.force_login(board["people"]["member"])
    response = client.post(
        url,
        {
            f"actual_hours_{board['design'].pk}": "1",
            f"actual_hours_{board['build'].pk}": "1",
            "next": "https://evil.example/",
        },
    )
    assert response["Location"] == reverse("tasks:board", args=[board["project"].pk])
    task.refresh_from_db()
    assert task.status == Status.COMPLETED
