"""@mentions in task descriptions: the same rule as comments (tasks/services/mentions.py), on every path that
sets a description (services, HTML forms, API, Django admin); only the newly mentioned are told, once."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from accounts.models import Membership
from accounts.tests.admin_forms import admin_form
from accounts.tests.factories import UserFactory, sign_in_to_admin
from aether.testing import run_concurrently
from notifications.models import Kind, Notification, NotificationPreference, OutboxEmail
from notifications.services import email_render
from tasks import services
from tasks.models import Activity, Task
from tasks.services.mentions import notify_mentioned
from tasks.tests.api_helpers import api_client
from tasks.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(team_roles):
    team, _, people = team_roles
    for role, name in (("member", "Mia Member"), ("viewer", "Vic Viewer"), ("admin", "Ada Admin")):
        people[role].full_name = name
        people[role].save(update_fields=["full_name"])
    return {"team": team, "people": people, "project": ProjectFactory(team=team, name="Apollo")}


def create(world, description, *, actor="member", **kwargs):
    people, project = world["people"], world["project"]
    task, _ = services.task_create(
        actor=people[actor], project=project, title="Write the spec", description=description, **kwargs
    )
    return task


def told():
    """(recipient email, kind) of every in-app row and every outbox row, sorted."""
    return (
        sorted(Notification.objects.values_list("user__email", "kind")),
        sorted(OutboxEmail.objects.values_list("recipient", "kind")),
    )


MENTIONED = Kind.MENTIONED


# --- the services -----------------------------------------------------------------------------------------


def test_a_task_created_with_a_mention_tells_the_member_once_by_email_and_in_app(client, world):
    people = world["people"]
    task = create(world, "Draft it, then **@viewer** reviews.")
    assert told() == ([("viewer@acme.test", MENTIONED)], [("viewer@acme.test", MENTIONED)])

    note = Notification.objects.get()
    created = Activity.objects.get(task=task, verb=Activity.Verb.CREATED)
    assert note.message == "Mia Member mentioned you in the description of “Write the spec”"
    assert note.url == f"/tasks/{task.pk}/#task-description"
    assert (note.task_id, note.team_id, note.actor_id) == (task.pk, world["team"].pk, people["member"].pk)
    assert note.dedupe_key == f"task:{task.pk}:mentioned:{created.pk}:{people['viewer'].pk}"
    row = OutboxEmail.objects.get()
    assert row.dedupe_key == note.dedupe_key
    email = email_render(kind=row.kind, context=row.context)  # as the delivery worker renders the row
    assert email.subject == "Write the spec"
    assert "Mia Member mentioned you" in email.text
    viewer = people["viewer"]
    # The mention as the page shows it: the person's name, a link to them in the HTML part.
    assert f"    Draft it, then @{viewer.get_full_name()} reviews." in email.text
    assert f"http://testserver/tasks/{task.pk}/#task-description" in email.text
    team_page = f"http://testserver/accounts/teams/{task.project.team_id}/#member-{viewer.pk}"
    link = f'<a href="{team_page}" title="@viewer" rel="nofollow noopener">@{viewer.get_full_name()}</a>'
    assert f"<strong>{link}</strong>" in email.html

    client.force_login(people["viewer"])  # the link opens the task for them
    page = client.get(note.url)
    assert page.status_code == 200
    assert 'id="task-description"' in page.content.decode()


def test_telling_the_same_mention_again_writes_nothing(world):
    """The event is named by the write's Activity row: a retried notify (the same write told twice) is
    deduplicated by the outbox and the in-app rows."""
    task = create(world, "@viewer")
    before = told()
    activity = Activity.objects.get(task=task, verb=Activity.Verb.CREATED)
    notify_mentioned(
        task=task,
        actor=world["people"]["member"],
        activity=activity,
        people=[world["people"]["viewer"]],
        message="again",
        url="/",
        context={},
    )
    assert told() == before


def test_an_edit_adding_a_mention_tells_only_the_new_one(world):
    people = world["people"]
    task = create(world, "@viewer please look")
    services.task_update(actor=people["member"], task=task, data={"description": "@viewer and @admin please look"})
    assert told() == (
        [("admin@acme.test", MENTIONED), ("viewer@acme.test", MENTIONED)],
        [("admin@acme.test", MENTIONED), ("viewer@acme.test", MENTIONED)],
    )
    edited = Activity.objects.get(task=task, verb=Activity.Verb.UPDATED, field="description")
    note = Notification.objects.get(user=people["admin"])
    assert note.dedupe_key == f"task:{task.pk}:mentioned:{edited.pk}:{people['admin'].pk}"


def test_an_edit_that_keeps_the_mentions_tells_nobody(world):
    people = world["people"]
    task = create(world, "@viewer and @admin: pleese look")
    before = told()
    services.task_update(actor=people["member"], task=task, data={"description": "@admin and @viewer: please look!"})
    services.task_update(actor=people["owner"], task=task, data={"description": "@ADMIN and @viewer@acme.test."})
    assert Activity.objects.filter(task=task, field="description").count() == 2  # the edits were made
    assert told() == before


def test_a_mention_removed_then_written_again_tells_again(world):
    """The rule compares with the previous description only."""
    people = world["people"]
    task = create(world, "@viewer")
    services.task_update(actor=people["member"], task=task, data={"description": "nobody"})
    services.task_update(actor=people["member"], task=task, data={"description": "@viewer, back"})
    assert Notification.objects.filter(user=people["viewer"], kind=MENTIONED).count() == 2


def test_non_members_other_teams_former_members_and_self_hear_nothing(client, world):
    people = world["people"]
    former = UserFactory(email="gone@acme.test")
    inactive = UserFactory(email="idle@acme.test", is_active=False)
    Membership.objects.create(team=world["team"], user=inactive, role="member")
    text = "@member @out @out@other.test @gone @idle @nobody @nobody@acme.test"
    task = create(world, text)
    services.task_update(actor=people["member"], task=task, data={"description": text + " and again @out"})
    assert told() == ([], [])
    # Nothing leaks to the outsider: no row, and the task stays hidden from them.
    assert not Notification.objects.filter(user__in=[people["outsider"], former, inactive]).exists()
    client.force_login(people["outsider"])
    assert client.get(reverse("tasks:task_detail", args=[task.pk])).status_code == 404


def test_the_mention_preference_switches_each_channel(world):
    people = world["people"]
    NotificationPreference.objects.create(user=people["viewer"], kind=MENTIONED, email=False, in_app=True)
    NotificationPreference.objects.create(user=people["admin"], kind=MENTIONED, email=True, in_app=False)
    NotificationPreference.objects.create(user=people["owner"], kind=MENTIONED, email=False, in_app=False)
    create(world, "@viewer @admin @owner")
    assert told() == ([("viewer@acme.test", MENTIONED)], [("admin@acme.test", MENTIONED)])


def test_the_assignee_of_the_same_write_is_told_of_the_assignment_only(world):
    people = world["people"]
    task = create(world, "@viewer and @admin", assignee=people["admin"])
    assert sorted(Notification.objects.values_list("user__email", "kind")) == [
        ("admin@acme.test", Kind.TASK_ASSIGNED),
        ("viewer@acme.test", MENTIONED),
    ]
    services.task_update(
        actor=people["member"], task=task, data={"description": "@viewer @admin @owner", "assignee": people["owner"]}
    )
    assert Notification.objects.filter(user=people["owner"]).get().kind == Kind.TASK_ASSIGNED
    assert Notification.objects.count() == 3


def test_a_refused_edit_tells_nobody(world):
    people = world["people"]
    task = create(world, "")
    with pytest.raises(PermissionDenied):  # a viewer may not write
        services.task_update(actor=people["viewer"], task=task, data={"description": "@admin"})
    with pytest.raises(ValidationError) as exc:  # a bad title: the mention is rolled back with the edit
        services.task_update(actor=people["member"], task=task, data={"description": "@admin", "title": ""})
    assert list(exc.value.message_dict) == ["title"]
    assert told() == ([], [])
    assert Task.objects.get(pk=task.pk).description == ""


def test_the_description_shows_a_mention_as_a_comment_does(client, world):
    people = world["people"]
    text = "Ask **@viewer** or @admin@acme.test"
    task = create(world, text)
    services.comment_create(actor=people["member"], task=task, body=text)
    client.force_login(people["viewer"])
    html = client.get(reverse("tasks:task_detail", args=[task.pk])).content.decode()
    team = f"/accounts/teams/{world['project'].team_id}/"
    viewer, admin = people["viewer"], people["admin"]
    # each mention of a member is a link to the person, by name (tasks/services/mentions.py mention_links)
    rendered = (
        f'Ask <strong><a href="{team}#member-{viewer.pk}" title="@viewer" rel="nofollow noopener">'
        f"@{viewer.get_full_name()}</a></strong> or "
        f'<a href="{team}#member-{admin.pk}" title="@admin@acme.test" rel="nofollow noopener">'
        f"@{admin.get_full_name()}</a>"
    )
    assert f'<div class="prose" id="task-description"><p>{rendered}</p>' in html
    assert f'<div class="prose comment-body"><p>{rendered}</p>' in html
    assert client.get(f"{team}").status_code == 200


# --- every path that sets a description ---------------------------------------------------------------------


def test_the_html_forms_tell_the_mentioned(client, world):
    people = world["people"]
    client.force_login(people["member"])
    response = client.post(
        reverse("tasks:task_create", args=[world["project"].pk]),
        {"title": "From the page", "description": "@viewer have a look", "priority": 2},
    )
    assert response.status_code == 302
    task = Task.objects.get(title="From the page")
    assert told() == ([("viewer@acme.test", MENTIONED)], [("viewer@acme.test", MENTIONED)])
    edit = {"title": "From the page", "description": "@viewer have a look, @admin too", "priority": 2}
    assert client.post(reverse("tasks:task_edit", args=[task.pk]), edit).status_code == 302
    assert client.post(reverse("tasks:task_edit", args=[task.pk]), edit).status_code == 302  # a double submit
    assert Notification.objects.filter(user=people["admin"], kind=MENTIONED).count() == 1
    assert OutboxEmail.objects.filter(recipient=people["admin"].email, kind=MENTIONED).count() == 1
    assert Notification.objects.count() == 2
    page = client.get(reverse("tasks:task_create", args=[world["project"].pk])).content.decode()
    assert "they are notified" in page  # the form says how to mention


def test_the_api_tells_the_mentioned_on_create_and_patch(world):
    people = world["people"]
    api = api_client(people["member"])
    created = api.post(
        "/api/v1/tasks/",
        {"project": world["project"].pk, "title": "From the API", "description": "@viewer"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )
    assert created.status_code == 201
    again = api.post(
        "/api/v1/tasks/",
        {"project": world["project"].pk, "title": "From the API", "description": "@viewer"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )
    assert again.status_code == 200  # the retry returns the first task and tells nobody again
    task_id = created.json()["id"]
    assert told() == ([("viewer@acme.test", MENTIONED)], [("viewer@acme.test", MENTIONED)])
    url = f"/api/v1/tasks/{task_id}/"
    for _ in range(2):  # the second PATCH is a retry: nothing to change
        assert api.patch(url, {"description": "@viewer @admin"}, format="json").status_code == 200
    assert api.patch(url, {"priority": "high"}, format="json").status_code == 200
    assert Notification.objects.filter(user=people["admin"], kind=MENTIONED).count() == 1
    assert Notification.objects.count() == 2
    assert OutboxEmail.objects.count() == 2


def test_django_admin_tells_the_mentioned_on_add_and_change(world):
    people = world["people"]
    root = UserFactory(email="root@example.test", full_name="Root Admin", is_staff=True, is_superuser=True)
    operator = Client()
    sign_in_to_admin(operator, root)
    add = reverse("admin:tasks_task_add")
    data = admin_form(operator, add, "task_form")
    data.update(project=str(world["project"].pk), title="From admin", description="@viewer see this")
    assert operator.post(add, data).status_code == 302
    task = Task.objects.get(title="From admin")
    note = Notification.objects.get()
    assert (note.user, note.kind, note.message) == (
        people["viewer"],
        MENTIONED,
        "Root Admin mentioned you in the description of “From admin”",
    )
    change = reverse("admin:tasks_task_change", args=[task.pk])
    data = {**admin_form(operator, change, "task_form"), "description": "@viewer see this, @admin too"}
    assert operator.post(change, data).status_code == 302
    assert told() == (
        [("admin@acme.test", MENTIONED), ("viewer@acme.test", MENTIONED)],
        [("admin@acme.test", MENTIONED), ("viewer@acme.test", MENTIONED)],
    )


@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_edits_tell_the_new_member_once(team_roles):
    """Two requests set the same description at once (a client's retry racing its first try): the second reads
    the description under the row lock, finds nothing to change, and tells nobody."""
    team, _, people = team_roles
    task, _ = services.task_create(actor=people["member"], project=ProjectFactory(team=team), title="Race")

    def edit(i):
        fresh = Task.objects.select_related("project").get(pk=task.pk)  # each request reads the task first
        services.task_update(actor=people["member"], task=fresh, data={"description": "@viewer look"})

    _, errors = run_concurrently(edit, 4)
    assert errors == []
    assert Activity.objects.filter(task=task, field="description").count() == 1
    assert told() == ([("viewer@acme.test", MENTIONED)], [("viewer@acme.test", MENTIONED)])


def test_the_schema_and_the_preferences_page_say_descriptions_mention(client, world):
    schema = api_client().get("/api/v1/schema/?format=json").json()["components"]["schemas"]
    for name in ("TaskCreateRequest", "PatchedTaskUpdateRequest"):
        assert "mentions a member" in schema[name]["properties"]["description"]["description"], name
    client.force_login(world["people"]["viewer"])
    html = client.get(reverse("notifications:preferences")).content.decode()
    assert "Someone mentions me (@name) in a comment or a task description" in html
