"""The private iCal feed: what it lists (parsed back with `icalendar`), what its secret grants (that feed and
nothing else), resets, leavers, other users, and what polling it costs."""

from __future__ import annotations

from datetime import date, timedelta

import icalendar
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import services as account_services
from accounts.models import CalendarFeed, Membership, Role
from accounts.tests.factories import MembershipFactory, TeamFactory, UserFactory
from tasks import services
from tasks.models import Status, Task
from tasks.tests.factories import ProjectFactory, TaskFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    team = TeamFactory(name="Acme")
    other_team = TeamFactory(name="Globex")
    owner = UserFactory(email="olive@acme.test", full_name="Olive Owner")
    mia = UserFactory(email="mia@acme.test", full_name="Mia Member")
    sam = UserFactory(email="sam@acme.test", full_name="Sam Second")
    MembershipFactory(team=team, user=owner, role=Role.OWNER)
    MembershipFactory(team=team, user=mia, role=Role.MEMBER)
    MembershipFactory(team=team, user=sam, role=Role.MEMBER)
    MembershipFactory(team=other_team, user=mia, role=Role.VIEWER)
    apollo = ProjectFactory(team=team, name="Apollo")
    hermes = ProjectFactory(team=other_team, name="Hermes")
    return {"team": team, "other_team": other_team, "owner": owner, "mia": mia, "sam": sam, "apollo": apollo,
            "hermes": hermes}  # fmt: skip


def _task(project, assignee, title, due, **extra):
    return TaskFactory(project=project, assignee=assignee, title=title, due_date=due, **extra)


def _feed_url(user) -> str:
    feed = account_services.calendar_feed_reset(actor=user)
    return reverse("tasks:calendar_feed", args=[feed.token])


def _events(response) -> dict[str, icalendar.Event]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = icalendar.Calendar.from_ical(response.content)
    return {str(e["SUMMARY"]): e for e in calendar.walk("VEVENT")}


def test_the_feed_lists_my_open_dated_tasks_as_all_day_events_that_parse_back(people):
    mia, apollo, hermes = people["mia"], people["apollo"], people["hermes"]
    spec = _task(apollo, mia, "Write the spec", date(2028, 2, 29))
    ship = _task(hermes, mia, "Ship, then; celebrate", date(2028, 3, 1), status=Status.IN_PROGRESS)
    _task(apollo, mia, "Done already", date(2028, 2, 1), status=Status.COMPLETED, completed_at=timezone.now())
    _task(apollo, mia, "No date", None)
    _task(apollo, mia, "In the trash", date(2028, 2, 2), deleted_at=timezone.now())
    _task(apollo, people["sam"], "Sam's", date(2028, 2, 3))
    _task(apollo, None, "Nobody's", date(2028, 2, 4))

    response = Client().get(_feed_url(mia))

    events = _events(response)
    assert sorted(events) == ["Ship, then; celebrate", "Write the spec"]
    first = events["Write the spec"]
    assert first.decoded("DTSTART") == date(2028, 2, 29)  # a date, not a datetime: an all-day event
    assert first.decoded("DTEND") == date(2028, 3, 1)
    assert str(first["UID"]) == f"task-{spec.pk}@testserver"
    assert str(first["URL"]) == f"http://testserver/tasks/{spec.pk}/"
    assert str(first["DESCRIPTION"]) == f"Project: Apollo\nStatus: Pending\nhttp://testserver/tasks/{spec.pk}/"
    assert first.decoded("LAST-MODIFIED") == spec.updated_at.replace(microsecond=0)  # iCalendar has seconds
    assert first.decoded("DTSTAMP") == spec.updated_at.replace(microsecond=0)
    second = events["Ship, then; celebrate"]
    assert str(second["DESCRIPTION"]).startswith("Project: Hermes\nStatus: In progress\n")
    assert str(second["UID"]) == f"task-{ship.pk}@testserver"
    # Every event's URL opens the task for its owner.
    owner_browser = Client()
    owner_browser.force_login(mia)
    for event in events.values():
        assert owner_browser.get(str(event["URL"]).removeprefix("http://testserver")).status_code == 200


def test_the_first_and_last_days_a_date_can_hold_are_events_too(people):
    mia = people["mia"]
    _task(people["apollo"], mia, "Far future", date.max)
    _task(people["apollo"], mia, "Long ago", date.min)
    events = _events(Client().get(_feed_url(mia)))
    assert events["Far future"].decoded("DTSTART") == date(9999, 12, 31)
    assert "DTEND" not in events["Far future"]  # a one-day event by RFC 5545: the day after is no date
    assert events["Long ago"].decoded("DTEND") == date(1, 1, 2)


def test_a_moved_task_keeps_its_uid_and_the_feed_answers_304_until_something_changes(people):
    mia = people["mia"]
    task = _task(people["apollo"], mia, "Write the spec", date(2028, 2, 29))
    url, app = _feed_url(mia), Client()

    first = app.get(url)
    etag = first["ETag"]
    assert first["Last-Modified"]
    assert app.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert app.get(url, HTTP_IF_NONE_MATCH=etag).content == b""

    services.task_update(actor=mia, task=task, data={"due_date": date(2028, 3, 2)})
    moved = app.get(url, HTTP_IF_NONE_MATCH=etag)
    assert moved.status_code == 200
    assert moved["ETag"] != etag
    (event,) = _events(moved).values()
    assert event.decoded("DTSTART") == date(2028, 3, 2)
    assert str(event["UID"]) == f"task-{task.pk}@testserver"

    # A task that leaves the feed (completed) changes it too, though no remaining row is newer.
    etag = moved["ETag"]
    services.task_set_status(actor=mia, task=task, status=Status.COMPLETED)
    emptied = app.get(url, HTTP_IF_NONE_MATCH=etag)
    assert emptied.status_code == 200
    assert _events(emptied) == {}


def test_a_304_writes_no_body_and_a_renamed_project_changes_the_feed(people, monkeypatch):
    mia, apollo = people["mia"], people["apollo"]
    _task(apollo, mia, "Write the spec", date(2028, 2, 29))
    url, app = _feed_url(mia), Client()
    etag = app.get(url)["ETag"]

    def no_body(*args, **kwargs):
        raise AssertionError("a 304 wrote the body")

    with monkeypatch.context() as patched:
        patched.setattr("tasks.ical.feed_calendar", no_body)
        assert app.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304

    services.project_update(actor=people["owner"], project=apollo, data={"name": "Apollo 2"})
    renamed = app.get(url, HTTP_IF_NONE_MATCH=etag)
    assert renamed.status_code == 200
    assert renamed["ETag"] != etag
    (event,) = _events(renamed).values()
    assert str(event["DESCRIPTION"]).startswith("Project: Apollo 2\n")
    # An If-Modified-Since alone, however late, is answered in full.
    late = app.get(url, HTTP_IF_MODIFIED_SINCE="Fri, 31 Dec 9999 23:59:59 GMT")
    assert late.status_code == 200


def test_the_feed_costs_two_queries_however_many_tasks(people, django_assert_num_queries):
    mia = people["mia"]
    url = _feed_url(mia)
    for i in range(30):
        _task(people["apollo"] if i % 2 else people["hermes"], mia, f"T{i}", date(2028, 1, 1) + timedelta(days=i))
    with django_assert_num_queries(2):  # the token's feed and user, then the tasks with their projects
        response = Client().get(url)
    assert len(_events(response)) == 30


def test_the_secret_signs_nobody_in_and_opens_no_other_url(people):
    mia = people["mia"]
    _task(people["apollo"], mia, "Write the spec", date(2028, 2, 29))
    url = _feed_url(mia)
    token = CalendarFeed.objects.get(user=mia).token
    app = Client()

    response = app.get(url)
    assert response.status_code == 200
    assert "sessionid" not in response.cookies
    assert "csrftoken" not in response.cookies
    # Still nobody: every page asks to sign in, the API refuses the token.
    for path in ["/my-work/", "/calendar/", f"/calendar/?token={token}", "/accounts/profile/"]:
        page = app.get(path)
        assert page.status_code == 302, path
        assert page["Location"].startswith("/accounts/login/"), path
    assert app.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401
    assert app.get(f"/calendar/feed/{token}/").status_code == 404
    assert app.get(f"/calendar/feed/{token}.json").status_code == 404
    assert app.get(f"/calendar/feed/{token}").status_code == 404
    # It is not a password either.
    assert not app.login(email=mia.email, password=token)
    signed = app.post(reverse("accounts:login"), {"username": mia.email, "password": token})
    assert signed.status_code != 302
    assert app.get("/my-work/").status_code == 302
    # The feed reads only.
    assert app.post(url).status_code == 405
    assert app.head(url).status_code == 200


def test_a_reset_link_answers_404_and_the_new_one_works(people):
    mia = people["mia"]
    _task(people["apollo"], mia, "Write the spec", date(2028, 2, 29))
    old = _feed_url(mia)
    new = _feed_url(mia)
    assert old != new
    assert Client().get(old).status_code == 404
    assert list(_events(Client().get(new))) == ["Write the spec"]
    assert CalendarFeed.objects.filter(user=mia).count() == 1


def test_a_removed_members_tasks_vanish_from_their_feed(people):
    mia = people["mia"]
    _task(people["apollo"], mia, "In Acme", date(2028, 2, 29))
    _task(people["hermes"], mia, "In Globex", date(2028, 3, 1))
    url = _feed_url(mia)
    assert sorted(_events(Client().get(url))) == ["In Acme", "In Globex"]

    account_services.membership_remove(actor=people["owner"], team=people["team"], user=mia)
    assert list(_events(Client().get(url))) == ["In Globex"]

    # Even a task still assigned to them (a row written around the services) stays out once they have left.
    Membership.objects.filter(user=mia, team=people["other_team"]).delete()
    assert Task.objects.filter(title="In Globex", assignee=mia).exists()
    assert _events(Client().get(url)) == {}


def test_each_token_shows_its_own_users_tasks_only(people):
    mia, sam = people["mia"], people["sam"]
    _task(people["apollo"], mia, "Mia's", date(2028, 2, 29))
    _task(people["apollo"], sam, "Sam's", date(2028, 2, 28))
    assert list(_events(Client().get(_feed_url(mia)))) == ["Mia's"]
    assert list(_events(Client().get(_feed_url(sam)))) == ["Sam's"]
    # Someone else signed in changes nothing: the token decides whose feed it is.
    signed_in = Client()
    signed_in.force_login(sam)
    assert list(_events(signed_in.get(_feed_url(mia)))) == ["Mia's"]


def test_unknown_malformed_and_deactivated_tokens_are_404(people):
    mia = people["mia"]
    url = _feed_url(mia)
    app = Client()
    assert app.get(reverse("tasks:calendar_feed", args=["x" * 43])).status_code == 404
    assert app.get(reverse("tasks:calendar_feed", args=["x" * 300])).status_code == 404
    assert app.get("/calendar/feed/.ics").status_code == 404
    mia.is_active = False
    mia.save(update_fields=["is_active"])
    assert app.get(url).status_code == 404


def test_the_profile_page_creates_shows_and_resets_the_link(people, client):
    mia = people["mia"]
    client.force_login(mia)
    page = client.get(reverse("accounts:profile")).content.decode()
    assert "Create my calendar link" in page
    assert not CalendarFeed.objects.filter(user=mia).exists()

    created = client.post(reverse("accounts:calendar_feed_reset"), follow=True)
    feed = CalendarFeed.objects.get(user=mia)
    html = created.content.decode()
    assert "Your calendar link is ready" in html
    assert f"http://testserver/calendar/feed/{feed.token}.ics" in html
    assert f"webcal://testserver/calendar/feed/{feed.token}.ics" in html

    reset = client.post(reverse("accounts:calendar_feed_reset"), follow=True)
    new = CalendarFeed.objects.get(user=mia)
    assert new.token != feed.token
    assert "the old one no longer works" in reset.content.decode()
    assert feed.token not in reset.content.decode()
    # a GET changes nothing: it goes to the profile page (aether/posting.py)
    assert client.get(reverse("accounts:calendar_feed_reset"))["Location"] == reverse("accounts:profile")
    assert CalendarFeed.objects.get(user=mia).token == new.token
    # Another user's page shows their own link, never Mia's.
    other = Client()
    other.force_login(people["sam"])
    assert new.token not in other.get(reverse("accounts:profile")).content.decode()
