"""Pages of the first day: a trashed task's page, the site's 403/404/500, the list's sorts, a template's
stage rows changed in place, and what the pages carry for the keyboard shortcuts and the phone folds."""

import re
from decimal import Decimal

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from tasks import services
from tasks.models import Priority, Status, Task, Template
from tasks.tests.factories import ProjectFactory, StageFactory, TaskFactory, TemplateFactory, TemplateStageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def trashed(team_roles):
    team, _, people = team_roles
    project = ProjectFactory(team=team, name="Apollo")
    task = TaskFactory(project=project, title="Old plan", description="Secret details", created_by=people["member"])
    StageFactory(task=task, order=1, name="Hidden stage")
    services.task_delete(actor=people["member"], task=task)
    return {"people": people, "project": project, "task": task}


# --- a trashed task ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("debug", [False, True])
def test_a_trashed_tasks_page_says_so_and_offers_restore_to_a_member(client, trashed, debug):
    client.force_login(trashed["people"]["member"])
    url = reverse("tasks:task_detail", args=[trashed["task"].pk])
    with override_settings(DEBUG=debug):
        response = client.get(url)
    assert response.status_code == 404
    html = response.content.decode()
    assert "Old plan" in html
    assert "was moved to the trash by" in html
    assert reverse("tasks:task_restore", args=[trashed["task"].pk]) in html
    assert "URLconf" not in html  # not Django's debug page, even with DEBUG on
    assert "Secret details" not in html
    assert "Hidden stage" not in html


def test_a_viewer_learns_only_the_title_of_a_trashed_task(client, trashed):
    client.force_login(trashed["people"]["viewer"])
    response = client.get(reverse("tasks:task_detail", args=[trashed["task"].pk]))
    assert response.status_code == 404
    html = response.content.decode().split('<main id="main">', 1)[1]
    assert "Old plan" in html
    assert "This task is in the trash." in html
    for hidden in ("Secret details", "Hidden stage", "Apollo", "<form", "Mia", "by "):
        assert hidden not in html, hidden


def test_restoring_from_the_trashed_page_lands_on_the_task(client, trashed):
    client.force_login(trashed["people"]["member"])
    task = trashed["task"]
    response = client.post(
        reverse("tasks:task_restore", args=[task.pk]), {"next": reverse("tasks:task_detail", args=[task.pk])}
    )
    assert response["Location"] == reverse("tasks:task_detail", args=[task.pk])
    task.refresh_from_db()
    assert task.deleted_at is None
    assert client.get(response["Location"]).status_code == 200


def test_an_outsider_gets_the_plain_404_for_a_trashed_task(client, trashed):
    client.force_login(trashed["people"]["outsider"])
    response = client.get(reverse("tasks:task_detail", args=[trashed["task"].pk]))
    assert response.status_code == 404
    html = response.content.decode()
    assert "Old plan" not in html
    assert "it belongs to a team you are not in" in html


# --- error pages --------------------------------------------------------------------------------------------


def test_the_404_and_403_pages_have_the_sites_look(client, team_roles):
    _, _, people = team_roles
    client.force_login(people["viewer"])
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404
    assert 'class="topbar"' in missing.content.decode()
    assert "Not found" in missing.content.decode()
    refused = client.get(reverse("tasks:template_create"))
    assert refused.status_code == 403
    html = refused.content.decode()
    assert 'class="topbar"' in html
    assert "You cannot do that here" in html
    assert "Only team admins create templates." not in html  # the exception's words are for the log, not the page


def test_the_500_page_renders_without_any_context():
    from django.template import loader

    html = loader.get_template("500.html").render()
    assert "Something went wrong" in html
    assert "/static/css/aether.css" in html or "aether." in html


def test_a_server_error_shows_the_500_page(client, team_roles, monkeypatch):
    from tasks.views import projects

    _, _, people = team_roles
    client.raise_request_exception = False
    client.force_login(people["member"])

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(projects.selectors, "my_work", broken)
    response = client.get(reverse("tasks:my_work"))
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()


# --- the list: sorts --------------------------------------------------------------------------------------


@pytest.fixture
def listed(team_roles):
    team, _, people = team_roles
    project = ProjectFactory(team=team)
    now = timezone.now()
    rows = {}
    for i, (title, status, priority, due) in enumerate(
        [
            ("done-urgent", Status.COMPLETED, Priority.URGENT, "2026-01-05"),
            ("pending-low", Status.PENDING, Priority.LOW, "2026-01-03"),
            ("going-high", Status.IN_PROGRESS, Priority.HIGH, None),
            ("pending-medium", Status.PENDING, Priority.MEDIUM, "2026-01-01"),
        ]
    ):
        rows[title] = TaskFactory(
            project=project,
            title=title,
            status=status,
            priority=priority,
            due_date=due,
            completed_at=now if status == Status.COMPLETED else None,
        )
        Task.objects.filter(pk=rows[title].pk).update(created_at=now - timezone.timedelta(days=10 - i))
    return {"people": people, "project": project}


def titles(html: str) -> list[str]:
    return re.findall(r'class="row-title" data-nav-link>([\w-]+)<', html)


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("", ["pending-medium", "pending-low", "going-high", "done-urgent"]),  # open first, newest first
        ("status", ["done-urgent", "going-high", "pending-low", "pending-medium"]),
        ("-created_at", ["pending-medium", "going-high", "pending-low", "done-urgent"]),
        ("created_at", ["done-urgent", "pending-low", "going-high", "pending-medium"]),
        ("-priority", ["done-urgent", "going-high", "pending-medium", "pending-low"]),
        ("due_date", ["pending-medium", "pending-low", "done-urgent", "going-high"]),
    ],
)
def test_the_list_sorts_by_its_headers(client, listed, ordering, expected):
    client.force_login(listed["people"]["viewer"])
    url = reverse("tasks:task_list", args=[listed["project"].pk])
    html = client.get(url, {"ordering": ordering} if ordering else {}).content.decode()
    assert titles(html) == expected


def test_the_headers_link_to_their_sort_and_mark_the_one_in_use(client, listed):
    client.force_login(listed["people"]["viewer"])
    url = reverse("tasks:task_list", args=[listed["project"].pk])
    html = client.get(url, {"status": "pending", "page": "1"}).content.decode()
    assert '<th scope="col" aria-sort="descending"><a href="?status=pending&amp;ordering=status"' in html
    assert 'href="?status=pending&amp;ordering=-priority"' in html  # keeps the filter, back to page 1
    assert 'href="?status=pending&amp;ordering=due_date"' in html
    html = client.get(url, {"ordering": "due_date"}).content.decode()
    assert '<th scope="col" aria-sort="ascending"><a href="?ordering=-due_date"' in html
    assert '<input type="hidden" name="ordering" value="due_date">' in html  # Apply keeps the sort


def test_an_unknown_sort_is_named_and_the_default_used(client, listed):
    client.force_login(listed["people"]["viewer"])
    url = reverse("tasks:task_list", args=[listed["project"].pk])
    response = client.get(url, {"ordering": "title"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Sort by the column headers" in html
    assert titles(html)[0] == "pending-medium"


def test_the_list_carries_the_phone_fold_and_the_keyboard_hooks(client, listed):
    client.force_login(listed["people"]["member"])
    html = client.get(reverse("tasks:task_list", args=[listed["project"].pk])).content.decode()
    assert 'data-fold aria-controls="filters"' in html
    assert 'id="filters"' in html
    assert 'data-fold aria-controls="mainnav"' in html
    assert html.count("<tr data-nav-item") == 4
    assert "data-new-task" in html
    assert 'data-nav="projects"' in html


# --- templates: stage rows in place ---------------------------------------------------------------------------


def test_template_rows_are_added_moved_and_removed_without_saving(client, team_roles):
    team, _, people = team_roles
    client.force_login(people["admin"])
    url = reverse("tasks:template_create")
    base = {
        "team": team.pk,
        "name": "Launch",
        "description": "",
        "stages-TOTAL_FORMS": "2",
        "stages-INITIAL_FORMS": "0",
        "stages-MIN_NUM_FORMS": "0",
        "stages-MAX_NUM_FORMS": "50",
        "stages-0-name": "Plan",
        "stages-0-estimated_hours": "2",
        "stages-1-name": "Ship",
        "stages-1-estimated_hours": "1",
    }

    def row_names(html):
        rows = re.findall(r'<input[^>]*name="stages-(\d+)-name"([^>]*)>', html)
        return [(i, (re.search(r'value="([^"]*)"', rest) or [None, ""])[1]) for i, rest in rows]

    added = client.post(url, {**base, "add_row": "1"})
    assert added.status_code == 200
    assert row_names(added.content.decode()) == [("0", "Plan"), ("1", "Ship"), ("2", "")]
    assert 'value="Launch"' in added.content.decode()

    moved = client.post(url, {**base, "row_up": "1"})
    assert row_names(moved.content.decode()) == [("0", "Ship"), ("1", "Plan")]

    removed = client.post(url, {**base, "row_remove": "0"})
    assert row_names(removed.content.decode()) == [("0", "Ship")]
    assert Template.objects.count() == 0  # none of these saved anything

    saved = client.post(url, base)
    assert saved.status_code == 302
    template = Template.objects.get(name="Launch")
    assert list(template.stages.order_by("order").values_list("name", "estimated_hours")) == [
        ("Plan", Decimal("2.00")),
        ("Ship", Decimal("1.00")),
    ]


def test_the_template_form_has_no_save_to_get_more_rows(client, team_roles):
    team, _, people = team_roles
    template = TemplateFactory(team=team, name="Release")
    TemplateStageFactory(template=template, order=1, name="Build", estimated_hours=Decimal("3"))
    client.force_login(people["admin"])
    html = client.get(reverse("tasks:template_edit", args=[template.pk])).content.decode()
    assert "Save to get more" not in html
    assert 'name="add_row"' in html
    assert '<template id="stage-row-template">' in html
    assert "stages-__prefix__-name" in html
    assert 'aria-label="Move stage 1 up"' in html
