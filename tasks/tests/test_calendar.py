"""The calendar page: the month's grid across month ends and a leap February, today and overdue in each team's
time zone (a UTC+14 team just after its midnight), the list filters, the per-day cap and its "+N more", the
cost of the page, and moving a task to another day (good, bad, viewer, another team)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from accounts.tests.factories import MembershipFactory, TeamFactory, UserFactory
from tasks.models import Activity, Priority, Status, Task
from tasks.tests.factories import ProjectFactory, TaskFactory
from tasks.views.calendar import month_grid

pytestmark = pytest.mark.django_db

URL = "/calendar/"
# 10:30 UTC on 31 December 2026 is 00:30 on 1 January 2027 at UTC+14 (Pacific/Kiritimati).
NEW_YEAR_AT_KIRITIMATI = datetime(2026, 12, 31, 10, 30, tzinfo=UTC)


@pytest.fixture
def acme():
    team = TeamFactory(name="Acme", time_zone="UTC")
    other = TeamFactory(name="Globex", time_zone="UTC")
    people = {
        role: MembershipFactory(team=team, role=role, user=UserFactory(email=f"{role}@acme.test")).user
        for role in (Role.MEMBER, Role.VIEWER)
    }
    people["sam"] = MembershipFactory(team=team, role=Role.MEMBER, user=UserFactory(full_name="Sam Second")).user
    people["outsider"] = MembershipFactory(team=other, role=Role.OWNER).user
    apollo = ProjectFactory(team=team, name="Apollo")
    zeus = ProjectFactory(team=team, name="Zeus")
    secret = ProjectFactory(team=other, name="Secret")
    return {"team": team, "other": other, "people": people, "apollo": apollo, "zeus": zeus, "secret": secret}


@pytest.fixture
def at(monkeypatch):
    def stand_at(instant: datetime):
        monkeypatch.setattr("tasks.deadlines.current_time", lambda: instant)

    return stand_at


def _page(client, user, **params) -> str:
    client.force_login(user)
    response = client.get(URL, params)
    assert response.status_code == 200
    return response.content.decode()


def _cell(html: str, day: str) -> str:
    """The markup of one day's cell of the grid ('' when the grid has no such day)."""
    match = re.search(rf'<td class="([^"]*)" id="day-{day}".*?</td>', html, re.S)
    return match[0] if match else ""


def _cell_classes(html: str, day: str) -> set[str]:
    match = re.search(rf'<td class="([^"]*)" id="day-{day}"', html)
    return set(match[1].split()) if match else set()


def _days(html: str) -> list[str]:
    return re.findall(r'id="day-(\d{4}-\d{2}-\d{2})"', html)


# --- the grid ---------------------------------------------------------------------------------------------


def test_the_grid_holds_whole_weeks_monday_to_sunday():
    feb_2027 = month_grid(date(2027, 2, 1))  # 1 February 2027 is a Monday, the 28th a Sunday: four weeks exactly
    assert [w[0] for w in feb_2027] == [date(2027, 2, 1), date(2027, 2, 8), date(2027, 2, 15), date(2027, 2, 22)]
    assert feb_2027[-1][-1] == date(2027, 2, 28)
    feb_2028 = month_grid(date(2028, 2, 1))  # leap year: Tuesday 1st to Tuesday 29th
    assert (feb_2028[0][0], feb_2028[-1][-1], len(feb_2028)) == (date(2028, 1, 31), date(2028, 3, 5), 5)
    assert date(2028, 2, 29) in feb_2028[-1]


def test_a_leap_february_shows_the_29th_and_the_days_around_the_month(client, acme):
    member, apollo = acme["people"][Role.MEMBER], acme["apollo"]
    TaskFactory(project=apollo, title="Leap day launch", due_date=date(2028, 2, 29))
    TaskFactory(project=apollo, title="Start of March", due_date=date(2028, 3, 1))
    TaskFactory(project=apollo, title="Last of January", due_date=date(2028, 1, 31))
    TaskFactory(project=apollo, title="Out of the grid", due_date=date(2028, 3, 6))
    TaskFactory(project=apollo, title="Undated")

    html = _page(client, member, month="2028-02")

    days = _days(html)
    assert (days[0], days[-1], len(days)) == ("2028-01-31", "2028-03-05", 35)
    assert "Leap day launch" in _cell(html, "2028-02-29")
    assert "Start of March" in _cell(html, "2028-03-01")
    assert "out" in _cell_classes(html, "2028-03-01")
    assert "out" not in _cell_classes(html, "2028-02-29")
    assert "Last of January" in _cell(html, "2028-01-31")
    assert "Out of the grid" not in html
    assert "Undated" not in html
    assert "February 2028" in html
    assert 'href="?month=2028-01"' in html
    assert 'href="?month=2028-03"' in html


def test_previous_and_next_cross_the_year_and_keep_the_filters(client, acme):
    member, apollo = acme["people"][Role.MEMBER], acme["apollo"]
    html = _page(client, member, month="2026-12", project=apollo.pk, assignee="me", page="3")
    assert f'href="?project={apollo.pk}&amp;assignee=me&amp;month=2027-01"' in html
    assert f'href="?project={apollo.pk}&amp;assignee=me&amp;month=2026-11"' in html
    html = _page(client, member, month="2027-01")
    assert 'href="?month=2026-12"' in html
    assert 'href="?month=2027-02"' in html
    assert _days(html)[0] == "2026-12-28"
    assert _days(html)[-1] == "2027-01-31"


@pytest.mark.parametrize("bad", ["2026-13", "2026-00", "26-01", "next", "0001-01", "2026-1"])
def test_a_month_that_is_not_one_is_a_message_on_this_month(client, acme, at, bad):
    at(datetime(2026, 5, 14, 12, 0, tzinfo=UTC))
    html = _page(client, acme["people"][Role.MEMBER], month=bad)
    assert "is not a month: give one such as 2026-05." in html
    assert "May 2026" in html


def test_the_last_months_a_date_can_hold_render_without_a_link_past_them(client, acme):
    member = acme["people"][Role.MEMBER]
    html = _page(client, member, month="9998-12")
    assert _days(html)[-1] == "9999-01-03"
    assert 'id="cal-next"' not in html
    html = _page(client, member, month="0002-01")
    assert 'id="cal-prev"' not in html


# --- today and overdue, in each team's time zone ------------------------------------------------------------


def test_just_after_midnight_at_utc_plus_14_today_is_the_new_year_there(client, acme, at):
    at(NEW_YEAR_AT_KIRITIMATI)
    kiritimati = TeamFactory(name="Line Islands", time_zone="Pacific/Kiritimati")
    islander = MembershipFactory(team=kiritimati, role=Role.MEMBER).user
    project = ProjectFactory(team=kiritimati, name="Atoll")
    TaskFactory(project=project, title="Due on the 31st", due_date=date(2026, 12, 31))
    TaskFactory(project=project, title="Due on New Year", due_date=date(2027, 1, 1))

    html = _page(client, islander)

    assert "January 2027" in html
    assert "today" in _cell_classes(html, "2027-01-01")
    assert "today" not in _cell_classes(html, "2026-12-31")
    assert "Overdue" in _cell(html, "2026-12-31")  # yesterday there
    assert "Overdue" not in _cell(html, "2027-01-01")


def test_at_the_same_instant_a_utc_team_is_still_on_the_31st(client, acme, at):
    at(NEW_YEAR_AT_KIRITIMATI)
    TaskFactory(project=acme["apollo"], title="Due on the 31st", due_date=date(2026, 12, 31))
    TaskFactory(project=acme["apollo"], title="Due on the 30th", due_date=date(2026, 12, 30))

    html = _page(client, acme["people"][Role.MEMBER])

    assert "December 2026" in html
    assert "today" in _cell_classes(html, "2026-12-31")
    assert "Overdue" not in _cell(html, "2026-12-31")
    assert "Overdue" in _cell(html, "2026-12-30")


def test_a_member_of_both_sees_each_teams_today_and_each_task_judged_in_its_own(client, acme, at):
    at(NEW_YEAR_AT_KIRITIMATI)
    member = acme["people"][Role.MEMBER]
    kiritimati = TeamFactory(name="Line Islands", time_zone="Pacific/Kiritimati")
    MembershipFactory(team=kiritimati, user=member, role=Role.MEMBER)
    atoll = ProjectFactory(team=kiritimati, name="Atoll")
    TaskFactory(project=atoll, title="Atoll's 31st", due_date=date(2026, 12, 31))
    TaskFactory(project=acme["apollo"], title="Apollo's 31st", due_date=date(2026, 12, 31))

    html = _page(client, member)

    assert "December 2026" in html  # the earlier of the two todays
    assert "today" in _cell_classes(html, "2026-12-31")
    assert "today" in _cell_classes(html, "2027-01-01")
    assert "Today in Line Islands" in _cell(html, "2027-01-01")
    cell = _cell(html, "2026-12-31")
    atoll_item = re.search(r'<li class="([^"]*)"[^>]*>\s*<a[^>]*>Atoll&#x27;s 31st', cell)
    apollo_item = re.search(r'<li class="([^"]*)"[^>]*>\s*<a[^>]*>Apollo&#x27;s 31st', cell)
    assert "is-overdue" in atoll_item[1]
    assert "is-overdue" not in apollo_item[1]
    # With the project chosen, today is its team's alone.
    html = _page(client, member, project=atoll.pk)
    assert "January 2027" in html
    assert "today" not in _cell_classes(html, "2026-12-31")


@pytest.mark.parametrize(
    ("instant", "month", "today"),
    [
        # New York leaves summer time at 06:00 UTC on Sunday 1 November 2026 (02:00 EDT becomes 01:00 EST).
        (datetime(2026, 11, 1, 3, 59, tzinfo=UTC), "October 2026", "2026-10-31"),  # 23:59 EDT on the 31st
        (datetime(2026, 11, 1, 4, 0, tzinfo=UTC), "November 2026", "2026-11-01"),  # midnight EDT
        (datetime(2026, 11, 2, 4, 59, tzinfo=UTC), "November 2026", "2026-11-01"),  # 23:59 EST: an hour later
        (datetime(2026, 11, 2, 5, 0, tzinfo=UTC), "November 2026", "2026-11-02"),
    ],
)
def test_today_follows_the_teams_clock_across_the_end_of_summer_time(client, at, instant, month, today):
    at(instant)
    team = TeamFactory(name="Gotham", time_zone="America/New_York")
    user = MembershipFactory(team=team, role=Role.MEMBER).user
    html = _page(client, user)
    assert month in html
    assert [d for d in _days(html) if "today" in _cell_classes(html, d)] == [today]


# --- filters and visibility ---------------------------------------------------------------------------------


def test_only_the_teams_tasks_and_the_filters_narrow_them(client, acme):
    member, sam = acme["people"][Role.MEMBER], acme["people"]["sam"]
    day = date(2028, 2, 10)
    TaskFactory(project=acme["apollo"], title="Apollo mine", assignee=member, due_date=day)
    TaskFactory(project=acme["apollo"], title="Apollo Sam", assignee=sam, due_date=day)
    TaskFactory(project=acme["zeus"], title="Zeus mine", assignee=member, due_date=day)
    TaskFactory(project=acme["secret"], title="Other team", due_date=day)
    TaskFactory(project=acme["apollo"], title="Trashed", due_date=day, deleted_at=timezone.now())

    def titles(**params):
        return set(
            re.findall(r'class="cal-task-title"[^>]*>([^<]+)<', _page(client, member, month="2028-02", **params))
        )

    assert titles() == {"Apollo mine", "Apollo Sam", "Zeus mine"}
    assert titles(project=acme["apollo"].pk) == {"Apollo mine", "Apollo Sam"}
    assert titles(assignee="me") == {"Apollo mine", "Zeus mine"}
    assert titles(assignee=sam.pk, project=acme["apollo"].pk) == {"Apollo Sam"}
    assert titles(status="completed") == set()


def test_bad_filters_are_shown_by_their_field_and_another_teams_project_is_no_choice(client, acme):
    member = acme["people"][Role.MEMBER]
    TaskFactory(project=acme["secret"], title="Other team", due_date=date(2028, 2, 10))
    html = _page(client, member, month="2028-02", assignee="someone")
    assert "Give a user id or “me”." in html
    html = _page(client, member, month="2028-02", project=acme["secret"].pk)
    assert "Select a valid choice" in html
    assert "Other team" not in html
    assert "Secret" not in html


def test_an_outsider_sees_none_of_the_teams_tasks(client, acme):
    TaskFactory(project=acme["apollo"], title="Apollo task", due_date=date(2028, 2, 10))
    html = _page(client, acme["people"]["outsider"], month="2028-02")
    assert "Apollo task" not in html


# --- the cap per day and "+N more" ---------------------------------------------------------------------------


@pytest.fixture
def busy_day(acme):
    """Six tasks due on 10 February 2028: four open (by priority) and two completed."""
    day = date(2028, 2, 10)
    for title, priority in [("Low", Priority.LOW), ("Urgent", Priority.URGENT), ("High", Priority.HIGH)]:
        TaskFactory(project=acme["apollo"], title=title, priority=priority, due_date=day)
    TaskFactory(project=acme["apollo"], title="Started", status=Status.IN_PROGRESS, due_date=day)
    for title in ("Done one", "Done two"):
        TaskFactory(
            project=acme["apollo"], title=title, status=Status.COMPLETED, completed_at=timezone.now(), due_date=day
        )
    return day


def test_a_busy_day_shows_four_open_ones_first_and_links_the_rest(client, acme, busy_day):
    member = acme["people"][Role.MEMBER]
    html = _page(client, member, month="2028-02")
    cell = _cell(html, "2028-02-10")
    assert re.findall(r'class="cal-task-title"[^>]*>([^<]+)<', cell) == ["Urgent", "High", "Low", "Started"]
    assert "+2 more" in cell
    link = re.search(r'class="cal-more" href="([^"]+)"', cell)[1].replace("&amp;", "&")
    assert link == "?month=2028-02&day=2028-02-10#day"

    day_page = client.get(URL + link.split("#")[0]).content.decode()
    day_list = day_page[day_page.index('id="day"') :]
    assert re.findall(r'class="row-title"[^>]*>([^<]+)<', day_list) == [
        "Urgent", "High", "Low", "Started", "Done one", "Done two",
    ]  # fmt: skip


def test_with_a_project_chosen_more_opens_its_list_filtered_to_that_day(client, acme, busy_day):
    member, apollo = acme["people"][Role.MEMBER], acme["apollo"]
    html = _page(client, member, month="2028-02", project=apollo.pk)
    link = re.search(r'class="cal-more" href="([^"]+)"', _cell(html, "2028-02-10"))[1].replace("&amp;", "&")
    assert link == f"/projects/{apollo.pk}/list/?due_after=2028-02-10&due_before=2028-02-10"
    listed = client.get(link).content.decode()
    assert "6 tasks" in listed


def test_the_page_costs_the_same_queries_for_one_task_or_two_hundred(client, acme):
    member = acme["people"][Role.MEMBER]
    client.force_login(member)
    TaskFactory(project=acme["apollo"], assignee=member, due_date=date(2028, 2, 1))
    client.get(URL, {"month": "2028-02"})  # warm the session

    def queries() -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(URL, {"month": "2028-02"}).status_code == 200
        return [q["sql"] for q in captured.captured_queries]

    few = queries()
    for i in range(200):
        project = acme["apollo"] if i % 2 else acme["zeus"]
        TaskFactory(project=project, assignee=member, due_date=date(2028, 2, 1 + i % 29))
    many = queries()
    assert len(many) == len(few)
    # Two queries read the month's tasks: each day's total (a GROUP BY), then the rows shown, with their projects
    # and assignees joined, picked by a LATERAL subquery a day (tasks/sql.py calendar_day_firsts).
    counts, rows = [sql for sql in many if 'FROM "tasks_task"' in sql]
    assert "GROUP BY" in counts
    assert 'JOIN "tasks_project"' in rows
    assert 'JOIN "accounts_user"' in rows
    assert "CROSS JOIN LATERAL" in rows
    assert "OVER" not in rows  # no window over every task of the weeks


def test_the_month_has_one_move_form_and_each_task_a_link_to_its_move_page(client, acme):
    member = acme["people"][Role.MEMBER]
    tasks = [TaskFactory(project=acme["apollo"], title=f"T{i}", due_date=date(2028, 2, 1 + i)) for i in range(5)]
    html = _page(client, member, month="2028-02")
    main = html[html.index('<main id="main">') :]
    assert main.count("<form") == 2  # the filters and the one move form
    assert html.count('class="cal-move-form"') == 1
    for task in tasks:
        url = reverse("tasks:task_due_date", args=[task.pk])
        assert f'<a href="{url}?next=%2Fcalendar%2F%3Fmonth%3D2028-02" class="cal-move">' in _cell(
            html, task.due_date.isoformat()
        )


# --- moving a task to another day ------------------------------------------------------------------------------


def test_a_member_moves_a_task_to_another_day_and_the_history_says_so(client, acme):
    member = acme["people"][Role.MEMBER]
    task = TaskFactory(project=acme["apollo"], title="Movable", due_date=date(2028, 2, 10))
    client.force_login(member)
    here = "/calendar/?month=2028-02"

    response = client.post(reverse("tasks:task_due_date", args=[task.pk]), {"due_date": "2028-02-29", "next": here})

    assert response.status_code == 302
    assert response["Location"] == here
    task.refresh_from_db()
    assert task.due_date == date(2028, 2, 29)
    (activity,) = Activity.objects.filter(task=task)
    assert (activity.verb, activity.field, activity.old_value, activity.new_value, activity.actor_id) == (
        Activity.Verb.UPDATED, "due_date", "2028-02-10", "2028-02-29", member.pk,
    )  # fmt: skip
    html = client.get(here).content.decode()
    assert "“Movable” is now due on 29 Feb 2028." in html
    assert "Movable" in _cell(html, "2028-02-29")
    assert "Movable" not in _cell(html, "2028-02-10")


def test_a_move_keeps_the_analytics_figures_in_step(client, acme):
    from analytics.recompute import figures_verify
    from tasks import services

    member = acme["people"][Role.MEMBER]
    task, _ = services.task_create(actor=member, project=acme["apollo"], title="Counted", due_date=date(2020, 1, 10))
    client.force_login(member)
    assert client.post(reverse("tasks:task_due_date", args=[task.pk]), {"due_date": "2031-01-10"}).status_code == 302
    assert Task.objects.get(pk=task.pk).due_date == date(2031, 1, 10)
    assert figures_verify() == []


@pytest.mark.parametrize(
    ("value", "message"),
    [("2028-02-30", "Enter a real day"), ("", "Choose a day."), ("tomorrow", "Enter a real day"), ("99999-01-01", "")],
)
def test_a_day_that_is_not_one_is_a_message_and_nothing_moves(client, acme, value, message):
    task = TaskFactory(project=acme["apollo"], title="Stays", due_date=date(2028, 2, 10))
    client.force_login(acme["people"][Role.MEMBER])
    response = client.post(reverse("tasks:task_due_date", args=[task.pk]), {"due_date": value}, follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert "“Stays” was not moved:" in html
    assert message in html
    assert "February 2028" in html  # back on the task's month
    task.refresh_from_db()
    assert task.due_date == date(2028, 2, 10)
    assert not Activity.objects.filter(task=task).exists()


def test_without_js_move_opens_the_tasks_move_page_which_moves_it_and_goes_back(client, acme):
    member = acme["people"][Role.MEMBER]
    task = TaskFactory(project=acme["apollo"], title="By hand", due_date=date(2028, 2, 10))
    html = _page(client, member, month="2028-02")
    link = re.search(r'class="cal-task-title"[^>]*>By hand</a> <a href="([^"]+)" class="cal-move"', html)[1]
    link = link.replace("&amp;", "&")

    page = client.get(link)

    assert page.status_code == 200
    form = page.content.decode()
    assert "Move “By hand”" in form
    assert "Due on Thursday 10 February 2028." in form
    assert f'action="{reverse("tasks:task_due_date", args=[task.pk])}"' in form
    assert 'name="due_date" id="move-day" value="2028-02-10"' in form
    assert 'name="next" value="/calendar/?month=2028-02"' in form
    assert "hx-post" not in form  # a plain post: the browser goes where the redirect says
    moved = client.post(
        reverse("tasks:task_due_date", args=[task.pk]), {"due_date": "2028-02-12", "next": "/calendar/?month=2028-02"}
    )
    assert moved["Location"] == "/calendar/?month=2028-02"
    assert Task.objects.get(pk=task.pk).due_date == date(2028, 2, 12)


def test_the_move_page_without_a_safe_next_goes_back_to_the_tasks_month(client, acme):
    task = TaskFactory(project=acme["apollo"], title="Elsewhere", due_date=date(2028, 5, 3))
    client.force_login(acme["people"][Role.MEMBER])
    url = reverse("tasks:task_due_date", args=[task.pk])
    form = client.get(url, {"next": "https://evil.test/"}).content.decode()
    assert 'name="next" value="/calendar/?month=2028-05"' in form
    assert "evil" not in form
    undated = TaskFactory(project=acme["apollo"], title="Undated")
    form = client.get(reverse("tasks:task_due_date", args=[undated.pk])).content.decode()
    assert "Due on no day yet." in form
    assert 'name="next" value="/calendar/"' in form


def test_a_viewer_has_no_move_form_and_cannot_move(client, acme):
    viewer = acme["people"][Role.VIEWER]
    task = TaskFactory(project=acme["apollo"], title="Viewed", due_date=date(2028, 2, 10))
    html = _page(client, viewer, month="2028-02")
    assert "Viewed" in html
    assert "cal-move-form" not in html
    assert 'class="cal-move"' not in html
    assert client.get(reverse("tasks:task_due_date", args=[task.pk])).status_code == 403
    assert client.post(reverse("tasks:task_due_date", args=[task.pk]), {"due_date": "2028-02-11"}).status_code == 403
    task.refresh_from_db()
    assert task.due_date == date(2028, 2, 10)
    assert not Activity.objects.exists()


def test_another_teams_task_is_404_and_unmoved(client, acme):
    task = TaskFactory(project=acme["secret"], title="Theirs", due_date=date(2028, 2, 10))
    client.force_login(acme["people"][Role.MEMBER])
    assert client.post(reverse("tasks:task_due_date", args=[task.pk]), {"due_date": "2028-02-11"}).status_code == 404
    assert Task.objects.get(pk=task.pk).due_date == date(2028, 2, 10)
    assert client.get(reverse("tasks:task_due_date", args=[task.pk])).status_code == 404


def test_a_foreign_next_is_ignored(client, acme):
    task = TaskFactory(project=acme["apollo"], due_date=date(2028, 2, 10))
    client.force_login(acme["people"][Role.MEMBER])
    response = client.post(
        reverse("tasks:task_due_date", args=[task.pk]), {"due_date": "2028-03-04", "next": "https://evil.test/"}
    )
    assert response["Location"] == "/calendar/?month=2028-03"
