"""Inputs that used to crash or hang: each is now a clear 400 or 404, or harmless text, within a bounded time.

- a search made only of operators (the page, the API's `search`);
- a NUL byte anywhere in a path or a query string (PostgreSQL cannot compare text with a NUL);
- a repeat rule that never produces a date (dateutil searched to the year 9999: about a second of CPU, with the
  task's row locked);
- control characters in a task's title, which the calendar feed wrote into its (then invalid) iCalendar;
- @mentions inside code spans and code blocks, which notified the people named there.
"""

import time
from datetime import date

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts import services as account_services
from notifications.models import Notification
from tasks import services
from tasks.models import Recurrence
from tasks.recurrence import RuleError, check_rule, parse_rule
from tasks.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(team_roles):
    team, _, people = team_roles
    project = ProjectFactory(team=team, name="Launch")
    task, _ = services.task_create(actor=people["member"], project=project, title="Write the plan")
    return {"team": team, "people": people, "project": project, "task": task}


@pytest.fixture
def api(world):
    client = APIClient()
    client.force_authenticate(world["people"]["member"])
    return client


OPERATORS_ONLY = ["-", "or", "OR OR", '"', '""', "- - -", "!", "&", "|", ":*", "-or", "( )", "<->", "'", "\\"]


@pytest.mark.parametrize("query", OPERATORS_ONLY)
def test_a_search_of_only_operators_finds_nothing_and_says_so(client, world, api, query):
    client.force_login(world["people"]["member"])
    page = client.get(reverse("tasks:search"), {"q": query})
    assert page.status_code in (200, 400)
    assert page.context["results"] == []
    answer = api.get("/api/v1/tasks/", {"search": query})
    assert answer.status_code in (200, 400)
    if answer.status_code == 200:
        assert answer.json()["results"] == []


NUL_URLS = [
    "/accounts/invitations/ab%00cd/",
    "/search/?q=a%00b",
    "/search/?q=%00",
    "/tasks/?status=%00",
    "/calendar/feed/abc%00.ics",
    "/projects/1/?assignee=%00",
    "/accounts/login/?next=/%00",
    "/api/v1/tasks/?search=%00",
    "/api/v1/tasks/?assignee=1%00",
    "/api/v1/tasks/%00/",
    "/admin/tasks/task/?q=%00",
    "/dashboard/?since=%00",
    "/%00",
    "/search/?q=a+b&x%00y=1",
]


@pytest.mark.parametrize("url", NUL_URLS)
def test_a_nul_anywhere_in_the_url_is_a_400(client, world, url):
    client.force_login(world["people"]["member"])
    response = client.get(url)
    assert response.status_code == 400, (url, response.status_code)
    if url.startswith("/api/"):
        assert response.json()["code"] == "bad_request"


NEVER = [
    ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", date(2026, 1, 1)),
    ("FREQ=MONTHLY;INTERVAL=12;BYMONTHDAY=31", date(2026, 4, 1)),
    ("FREQ=DAILY;INTERVAL=7;BYDAY=MO", date(2026, 12, 1)),
    ("FREQ=YEARLY;INTERVAL=2;BYMONTH=2;BYMONTHDAY=29", date(2025, 1, 1)),
    ("FREQ=MONTHLY;INTERVAL=24;BYMONTHDAY=30,31;BYSETPOS=-1", date(2026, 2, 1)),
    ("FREQ=YEARLY;INTERVAL=4;BYMONTH=2;BYMONTHDAY=29", date(2097, 1, 1)),
]


@pytest.mark.parametrize(("rule", "start"), NEVER)
def test_a_rule_that_never_gives_a_date_is_refused_quickly(rule, start):
    started = time.process_time()
    with pytest.raises(RuleError):
        check_rule(parse_rule(rule), start)
    assert time.process_time() - started < 0.2  # a bound, not a benchmark: it used to take 0.4 to 1.9 s


def test_a_rule_with_a_rare_but_real_date_is_accepted():
    check_rule(parse_rule("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29"), date(2097, 3, 1))  # 2104: 2100 is not leap
    check_rule(parse_rule("FREQ=YEARLY;INTERVAL=100;BYMONTH=2;BYMONTHDAY=29"), date(2000, 2, 1))


def test_setting_a_rule_that_never_gives_a_date_is_a_422_naming_the_rule(api, world):
    task = world["task"]
    response = api.put(
        f"/api/v1/tasks/{task.pk}/recurrence/", {"rule": "FREQ=DAILY;INTERVAL=7;BYDAY=MO"}, format="json"
    )
    assert response.status_code == 422  # well-formed, but nothing would repeat (docs/api.md)
    assert [e["field"] for e in response.json()["errors"]] == ["rule"]
    assert not Recurrence.objects.exists()


def test_control_characters_in_a_title_are_left_out_of_the_calendar_feed(client, world):
    member = world["people"]["member"]
    services.task_create(
        actor=member,
        project=world["project"],
        title="Bell\x07 escape\x1b[31m tab\there\x7f end",
        assignee=member,
        due_date=date(2026, 6, 1),
    )
    feed = account_services.calendar_feed_reset(actor=member)
    response = client.get(reverse("tasks:calendar_feed", args=[feed.token]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "SUMMARY:Bell escape[31m tab here end" in body.replace("\r\n ", "")
    assert not any(ch in body for ch in "\x07\x1b\x7f\x00")


@pytest.mark.parametrize(
    "body",
    [
        "See `@viewer` in the docs",
        "```\nping @viewer\n```",
        "~~~\n@viewer\n~~~",
        "Look:\n\n    indented code @viewer",
        "``double `@viewer` ticks``",
    ],
)
def test_a_mention_inside_code_is_text_not_a_mention(world, body):
    services.comment_create(actor=world["people"]["member"], task=world["task"], body=body)
    assert not Notification.objects.filter(user=world["people"]["viewer"], kind="task_mentioned").exists()


def test_a_mention_next_to_code_still_mentions(world):
    services.comment_create(actor=world["people"]["member"], task=world["task"], body="`code` and @viewer")
    assert Notification.objects.filter(user=world["people"]["viewer"], kind="task_mentioned").exists()
