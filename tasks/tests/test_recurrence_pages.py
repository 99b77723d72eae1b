"""The rule editor of the task page and /api/v1/tasks/{id}/recurrence/: what they save, what they refuse (next to
the field, or a 400 naming it, and nothing written), and how an occurrence's page links to its series."""

from datetime import UTC, date, datetime

import pytest
from django.urls import reverse

from accounts.models import Membership, Role
from accounts.tests.factories import TeamFactory, UserFactory, sign_in_to_admin
from tasks.models import Activity, Recurrence, Task
from tasks.services.recurrence import recurrences_run
from tasks.tests.api_helpers import api_client, error_fields
from tasks.tests.factories import ProjectFactory, TaskFactory

pytestmark = pytest.mark.django_db

BLANK = {"frequency": "weekly", "interval": "1", "monthly_on": "day", "end": "never"}


@pytest.fixture
def world():
    team = TeamFactory(name="Acme", time_zone="Europe/Berlin")
    people = {}
    for name, role in (("mia", Role.MEMBER), ("vic", Role.VIEWER)):
        people[name] = UserFactory(email=f"{name}@acme.test", full_name=name.title())
        Membership.objects.create(team=team, user=people[name], role=role)
    project = ProjectFactory(team=team)
    task = TaskFactory(project=project, title="Report", created_by=people["mia"], due_date=date(2030, 1, 7))  # Mon
    other = TaskFactory(title="Theirs", due_date=date(2030, 1, 7))
    return {"people": people, "task": task, "other": other}


def save(client, task, **fields):
    return client.post(reverse("tasks:task_recurrence", args=[task.pk]), {**BLANK, **fields})


def test_the_editor_saves_a_rule_and_the_page_says_it_in_words(client, world):
    task = world["task"]
    client.force_login(world["people"]["mia"])

    response = save(client, task, interval="2", weekdays=["MO", "TH"], end="on", until="2030-03-01")

    assert response.status_code == 302
    recurrence = Recurrence.objects.get(task=task)
    assert (recurrence.rule, recurrence.starts_on, recurrence.next_on) == (
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;UNTIL=20300301",
        date(2030, 1, 7),
        date(2030, 1, 10),
    )
    page = client.get(reverse("tasks:task_detail", args=[task.pk])).content.decode()
    assert "Every 2 weeks on Mon, Thu, until 2030-03-01" in page
    assert 'Next: <time datetime="2030-01-10">10 Jan 2030</time>' in page
    assert "set the task to repeat: Every 2 weeks on Mon, Thu, until 2030-03-01" in page


def test_the_editor_writes_the_31st_as_the_last_day_and_counts(client, world):
    task = world["task"]
    client.force_login(world["people"]["mia"])

    save(client, task, frequency="monthly", month_day="31", end="after", count="3", starts_on="2030-01-31")

    assert Recurrence.objects.get(task=task).rule == "FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=3"
    page = client.get(reverse("tasks:task_detail", args=[task.pk])).content.decode()
    assert "Every month on the last day, 3 times" in page


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"weekdays": []}, "weekdays", "Choose at least one day of the week."),
        ({"interval": "0"}, "interval", "Ensure this value is greater than or equal to 1."),
        ({"frequency": "hourly"}, "frequency", "Select a valid choice. hourly is not one of the available choices."),
        ({"end": "on"}, "until", "Give the date the repeats end on."),
        ({"end": "after", "count": "5000"}, "count", "Ensure this value is less than or equal to 1000."),
        ({"weekdays": ["MO"], "end": "on", "until": "2029-12-01"}, "until", "The end date is before the start."),
        ({"weekdays": ["XX"]}, "weekdays", "Select a valid choice. XX is not one of the available choices."),
    ],
)
def test_the_editor_refuses_bad_choices_next_to_the_field_and_writes_nothing(client, world, fields, field, message):
    task = world["task"]
    client.force_login(world["people"]["mia"])

    response = save(client, task, **{"weekdays": ["MO"], **fields})

    assert response.status_code == 422
    assert response.context["recurrence_form"].errors[field] == [message]
    assert 'id="repeat-editor" open' in response.content.decode()
    assert not Recurrence.objects.exists()
    assert not Activity.objects.exists()


def test_a_rule_that_would_make_nothing_is_refused_at_the_top_of_the_editor(client, world):
    client.force_login(world["people"]["mia"])

    response = save(client, world["task"], weekdays=["MO"], end="after", count="1")

    assert response.status_code == 422
    assert response.context["recurrence_form"].non_field_errors() == [
        "This rule gives no date after today and the task's due date: nothing would repeat."
    ]
    assert not Recurrence.objects.exists()


def test_a_viewer_sees_the_repeats_but_no_editor_and_cannot_post_one(client, world):
    task = world["task"]
    from tasks import services

    services.recurrence_set(actor=world["people"]["mia"], task=task, rule="FREQ=WEEKLY")
    client.force_login(world["people"]["vic"])

    page = client.get(reverse("tasks:task_detail", args=[task.pk])).content.decode()
    refused = save(client, task, weekdays=["TU"])
    stop = client.post(reverse("tasks:task_recurrence_stop", args=[task.pk]))

    assert "Every week on Mon" in page
    assert "repeat-editor" not in page
    assert (refused.status_code, stop.status_code) == (403, 403)
    assert Recurrence.objects.get(task=task).rule == "FREQ=WEEKLY"
    assert Recurrence.objects.get(task=task).stopped_at is None


def test_another_teams_task_is_a_404_to_the_editor(client, world):
    client.force_login(world["people"]["mia"])

    assert save(client, world["other"], weekdays=["MO"]).status_code == 404
    assert client.post(reverse("tasks:task_recurrence_stop", args=[world["other"].pk])).status_code == 404
    assert not Recurrence.objects.exists()


def test_an_occurrences_page_links_to_its_series_and_its_history_names_the_rule(client, world):
    task = world["task"]
    from tasks import services

    services.recurrence_set(
        actor=world["people"]["mia"], task=task, rule="FREQ=DAILY", now=datetime(2030, 1, 7, 9, tzinfo=UTC)
    )
    recurrences_run(now=datetime(2030, 1, 8, 9, tzinfo=UTC))
    occurrence = Task.objects.get(occurrence__isnull=False)
    client.force_login(world["people"]["vic"])

    page = client.get(reverse("tasks:task_detail", args=[occurrence.pk])).content.decode()

    assert f'The 8 Jan 2030 occurrence of <a href="/tasks/{task.pk}/">“Report”</a>, which repeats.' in page
    # the history says the rule in words, never its RRULE
    assert "created the task as the 8 Jan 2030 occurrence of a task that repeats every day" in page
    assert "FREQ=" not in page
    services.recurrence_stop(actor=world["people"]["mia"], task=task)
    source_history = client.get(reverse("tasks:task_detail", args=[task.pk])).content.decode()
    assert "stopped the repeats (every day)" in source_history
    source_page = client.get(reverse("tasks:task_detail", args=[task.pk])).content.decode()
    assert f'Latest occurrence: <a href="/tasks/{occurrence.pk}/">due 8 Jan 2030</a>.' in source_page


# --- the API -------------------------------------------------------------------------------------------------


def test_the_api_sets_reads_changes_and_stops_a_rule(world):
    task = world["task"]
    api = api_client(world["people"]["mia"])
    url = f"/api/v1/tasks/{task.pk}/recurrence/"

    put = api.put(url, {"rule": "FREQ=MONTHLY;BYMONTHDAY=-1"}, format="json")
    got = api.get(url)
    changed = api.put(url, {"rule": "FREQ=WEEKLY;BYDAY=MO,TH", "starts_on": "2030-02-04"}, format="json")
    stopped = api.delete(url)

    assert put.status_code == 200
    body = put.json()
    assert {k: body[k] for k in ("rule", "starts_on", "next_on", "summary")} == {
        "rule": "FREQ=MONTHLY;BYMONTHDAY=-1",
        "starts_on": "2030-01-07",
        "next_on": "2030-01-31",
        "summary": "Every month on the last day",
    }
    assert got.json() == body
    assert changed.json()["next_on"] == "2030-02-04"
    assert changed.json()["summary"] == "Every week on Mon, Thu"
    assert stopped.status_code == 204
    assert api.get(url).status_code == 404
    assert list(task.activities.values_list("verb", flat=True)) == [
        Activity.Verb.RECURRENCE_SET,
        Activity.Verb.RECURRENCE_SET,
        Activity.Verb.RECURRENCE_STOPPED,
    ]


# A rule that is text but not one Aether can repeat by is a 422 (well-formed, unprocessable: aether/refusals.py);
# what is not well-formed at all is a 400.
@pytest.mark.parametrize(
    ("body", "field", "message", "status"),
    [
        ({"rule": "FREQ=MINUTELY"}, "rule", "FREQ=MINUTELY is not supported", 422),
        ({"rule": "FREQ=WEEKLY;BYDAY=XX"}, "rule", "BYDAY takes weekdays", 422),
        ({"rule": "FREQ=DAILY;DTSTART=20300101"}, "rule", "DTSTART is not supported", 422),
        ({"rule": "FREQ=DAILY;UNTIL=20290101"}, "rule", "The rule ends before it starts.", 422),
        ({"rule": "FREQ=DAILY", "starts_on": "soon"}, "starts_on", "Date has wrong format", 400),
        ({"rule": "FREQ=DAILY", "starts_on": "0001-01-01"}, "starts_on", "Start at most ten years before today.", 422),
        ({"rule": ""}, "rule", "This field may not be blank.", 400),
        ({"rule": 7}, "rule", "“7” is not KEY=VALUE.", 422),
        ({}, "rule", "This field is required.", 400),
    ],
)
def test_the_api_answers_a_bad_rule_naming_the_field_and_writes_nothing(world, body, field, message, status):
    response = api_client(world["people"]["mia"]).put(
        f"/api/v1/tasks/{world['task'].pk}/recurrence/", body, format="json"
    )

    assert response.status_code == status, response.content
    assert error_fields(response) == [field]
    assert message in str(response.json())
    assert not Recurrence.objects.exists()
    assert not Activity.objects.exists()


def test_the_api_gives_a_404_for_another_teams_task_and_a_403_to_a_viewer(world):
    mia, vic = api_client(world["people"]["mia"]), api_client(world["people"]["vic"])
    theirs = f"/api/v1/tasks/{world['other'].pk}/recurrence/"
    ours = f"/api/v1/tasks/{world['task'].pk}/recurrence/"

    assert mia.put(theirs, {"rule": "FREQ=DAILY"}, format="json").status_code == 404
    assert mia.get(theirs).status_code == 404
    assert mia.delete(theirs).status_code == 404
    assert vic.put(ours, {"rule": "FREQ=DAILY"}, format="json").status_code == 403
    assert not Recurrence.objects.exists()


def test_admin_lists_the_rules_and_stops_one_through_the_service(client, world):
    from tasks import services

    task = world["task"]
    services.recurrence_set(actor=world["people"]["mia"], task=task, rule="FREQ=DAILY")
    root = UserFactory(email="root@acme.test", is_staff=True, is_superuser=True)
    sign_in_to_admin(client, root)
    changelist = reverse("admin:tasks_recurrence_changelist")

    assert "FREQ=DAILY" in client.get(changelist).content.decode()
    response = client.post(changelist, {"action": "stop", "_selected_action": [task.recurrence.pk]})

    assert response.status_code == 302
    recurrence = Recurrence.objects.get(task=task)
    assert (recurrence.next_on, recurrence.stopped_at is not None) == (None, True)
    assert task.activities.filter(verb=Activity.Verb.RECURRENCE_STOPPED, actor=root).count() == 1
