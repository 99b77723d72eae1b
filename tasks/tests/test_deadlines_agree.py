"""Every surface agrees on "overdue" and "due soon" for the same task, at the same instant: the API's filters
and fields, the list page's filters, My work's groups, the board's and the list's marks, and the overdue and
due-soon jobs. Teams at the two ends of the clock (UTC+14 and UTC-11), just before and just after their
midnight, with the site in UTC; each surface is asked at a fixed `now`.

The bug this catches: for a team in Pacific/Pago_Pago, `GET /api/v1/tasks/?overdue=true` returned a task whose
own `is_overdue` was false (the filter judged by the site's day, the field by the team's)."""

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from accounts.models import Membership
from accounts.tests.factories import TeamFactory, UserFactory
from tasks import selectors
from tasks.models import DeadlineNotice, NoticeKind, Status
from tasks.services.deadline_notices import due_soon_notify, overdue_notify
from tasks.tests.api_helpers import api_client
from tasks.tests.factories import ProjectFactory, TaskFactory

pytestmark = pytest.mark.django_db

KIRITIMATI, PAGO_PAGO = "Pacific/Kiritimati", "Pacific/Pago_Pago"  # UTC+14, UTC-11: 25 hours apart
# 10 March begins at 10:00 UTC on the 9th in Kiritimati and at 11:00 UTC on the 10th in Pago Pago.
INSTANTS = {
    "before-kiritimati-midnight": datetime(2025, 3, 9, 9, 59, tzinfo=UTC),
    "after-kiritimati-midnight": datetime(2025, 3, 9, 10, 1, tzinfo=UTC),
    "before-pago-pago-midnight": datetime(2025, 3, 10, 10, 59, tzinfo=UTC),
    "after-pago-pago-midnight": datetime(2025, 3, 10, 11, 1, tzinfo=UTC),
}
DUE_DATES = [date(2025, 3, d) for d in range(7, 14)]


@pytest.fixture
def world(settings):
    settings.TIME_ZONE = "UTC"
    settings.AETHER_DUE_SOON_HOURS = 24
    me = UserFactory(full_name="Mo Member")
    tasks = {}
    projects = {}
    for zone in (KIRITIMATI, PAGO_PAGO):
        team = TeamFactory(time_zone=zone)
        Membership.objects.create(team=team, user=me)
        projects[zone] = project = ProjectFactory(team=team)
        for due in DUE_DATES:
            tasks[(zone, due)] = TaskFactory(project=project, title=f"{zone} {due}", due_date=due, assignee=me)
        # Never overdue nor due soon, whatever the day: completed, and undated.
        done = TaskFactory(
            project=project,
            due_date=DUE_DATES[0],
            assignee=me,
            status=Status.COMPLETED,
            completed_at=INSTANTS["before-kiritimati-midnight"],
        )
        tasks[(zone, "completed")] = done
        tasks[(zone, "undated")] = TaskFactory(project=project, due_date=None, assignee=me)
    return me, projects, tasks


def expected(tasks, now):
    """The rule, worked out here by hand: the team's today and the day 24 hours on, in its time zone."""
    overdue, soon = set(), set()
    for (zone, due), task in tasks.items():
        if not isinstance(due, date):
            continue
        today = now.astimezone(ZoneInfo(zone)).date()
        horizon = (now + timedelta(hours=24)).astimezone(ZoneInfo(zone)).date()
        if due < today:
            overdue.add(task.pk)
        elif due <= horizon:
            soon.add(task.pk)
    return overdue, soon


def api_ids(client, query):
    body = client.get(f"/api/v1/tasks/?page_size=100&{query}").json()
    return {row["id"] for row in body["results"]}


def marked(html: str, start: str, mark: str) -> set[int]:
    """Ids of the tasks whose element (each beginning with `start`) contains `mark`."""
    found = set()
    for part in html.split(start)[1:]:
        element = part.split("</li>")[0].split("</tr>")[0]
        link = re.search(r'href="/tasks/(\d+)/"', element)
        if link and mark in element:
            found.add(int(link.group(1)))
    return found


@pytest.mark.parametrize("instant", list(INSTANTS))
def test_every_surface_agrees_on_overdue_and_due_soon(client, world, monkeypatch, instant):
    me, projects, tasks = world
    now = INSTANTS[instant]
    monkeypatch.setattr("tasks.deadlines.current_time", lambda: now)
    overdue, soon = expected(tasks, now)
    assert overdue  # each instant has both
    assert soon

    # The API: its filters, and each row's own fields.
    api = api_client(me)
    assert api_ids(api, "overdue=true") == overdue
    assert api_ids(api, "due_soon=true") == soon
    assert api_ids(api, "overdue=false") == {t.pk for t in tasks.values()} - overdue
    rows = api.get("/api/v1/tasks/?page_size=100").json()["results"]
    assert {r["id"] for r in rows if r["is_overdue"]} == overdue
    assert {r["id"] for r in rows if r["is_due_soon"]} == soon

    # My work's groups, and the marks on its page.
    groups = selectors.my_work(me)
    assert {t.pk for t in groups["overdue"]} == overdue
    assert {t.pk for t in groups["soon"]} == soon
    client.force_login(me)
    page = client.get(reverse("tasks:my_work")).content.decode()
    assert marked(page, '<li class="row task-row"', 'badge overdue"') == overdue
    assert marked(page, '<li class="row task-row"', 'badge due-soon"') == soon

    # Each project's board and list: the marks, and the list's filters.
    board_overdue, board_soon, list_overdue, list_soon, filtered_overdue, filtered_soon = (set() for _ in range(6))
    for project in projects.values():
        board = client.get(reverse("tasks:board", args=[project.pk])).content.decode()
        board_overdue |= marked(board, '<li class="task-card', "is-overdue")
        board_soon |= marked(board, '<li class="task-card', 'badge due-soon"')
        listing = client.get(reverse("tasks:task_list", args=[project.pk])).content.decode()
        list_overdue |= marked(listing, "<tr", 'badge overdue"')
        list_soon |= marked(listing, "<tr", 'badge due-soon"')
        url = reverse("tasks:task_list", args=[project.pk])
        filtered_overdue |= marked(client.get(f"{url}?overdue=true").content.decode(), "<tr", "/tasks/")
        filtered_soon |= marked(client.get(f"{url}?due_soon=true").content.decode(), "<tr", "/tasks/")
    assert board_overdue == list_overdue == filtered_overdue == overdue
    assert board_soon == list_soon == filtered_soon == soon

    # The jobs claim exactly those tasks.
    overdue_notify(now=now)
    due_soon_notify(now=now)
    claims = DeadlineNotice.objects.values_list("task_id", "kind")
    assert {t for t, kind in claims if kind == NoticeKind.OVERDUE} == overdue
    assert {t for t, kind in claims if kind == NoticeKind.DUE_SOON} == soon


def test_the_pago_pago_task_is_not_overdue_on_the_sites_day(world, monkeypatch):
    """10:59 UTC on 10 March: the site's day (UTC) is the 10th, Pago Pago's still the 9th."""
    me, _, tasks = world
    monkeypatch.setattr("tasks.deadlines.current_time", lambda: INSTANTS["before-pago-pago-midnight"])
    due_9th = tasks[(PAGO_PAGO, date(2025, 3, 9))]
    api = api_client(me)

    assert due_9th.pk not in api_ids(api, "overdue=true")
    assert due_9th.pk in api_ids(api, "due_soon=true")
    row = api.get(f"/api/v1/tasks/{due_9th.pk}/").json()
    assert (row["is_overdue"], row["is_due_soon"]) == (False, True)

    monkeypatch.setattr("tasks.deadlines.current_time", lambda: INSTANTS["after-pago-pago-midnight"])
    assert due_9th.pk in api_ids(api, "overdue=true")
    row = api.get(f"/api/v1/tasks/{due_9th.pk}/").json()
    assert (row["is_overdue"], row["is_due_soon"]) == (True, False)
