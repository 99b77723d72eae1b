"""Comments: Markdown rendered safely, @mentions that notify, editing and deleting (services, pages, API)."""

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from accounts.models import Role
from accounts.tests.factories import MembershipFactory, UserFactory
from notifications.models import Kind, Notification, NotificationPreference, OutboxEmail
from notifications.services import email_render
from tasks import services
from tasks.models import Activity, Comment
from tasks.templatetags.task_text import render_markdown
from tasks.tests.api_helpers import api_client
from tasks.tests.factories import ProjectFactory, TaskFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(team_roles):
    team, _, people = team_roles
    project = ProjectFactory(team=team, name="Apollo")
    task = TaskFactory(project=project, title="Write the spec", created_by=people["owner"], assignee=people["member"])
    return {"team": team, "people": people, "task": task}


def state():
    """Everything a comment write may touch, to assert that a refusal changed nothing."""
    return (
        sorted(Comment.objects.values_list("pk", "body")),
        Activity.objects.count(),
        Notification.objects.count(),
        OutboxEmail.objects.count(),
    )


# --- Markdown -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[click](javascript:alert(1))",
        "[click](JAVASCRIPT:alert(1))",
        '<a href="javascript:alert(1)">x</a>',
        "![x](javascript:alert(1))",
        "<svg onload=alert(1)>",
        '<iframe src="https://evil.example"></iframe>',
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "<style>body{display:none}</style>",
        '<p style="x" onclick="alert(1)">hi</p>',
    ],
)
def test_markdown_renders_script_payloads_inert(payload):
    """Whatever the payload, the HTML holds only allowed tags, no event handler or style, and only http(s) or
    mailto links: the rest is text."""
    parser = _Elements()
    parser.feed(str(render_markdown(payload)))
    assert {tag for tag, _ in parser.elements} <= {"p", "a", "strong", "em", "code"}
    for tag, attrs in parser.elements:
        for name, value in attrs:
            assert (tag, name) in {("a", "href"), ("a", "rel")}, (payload, tag, name)
            if name == "href":
                assert value.startswith(("http://", "https://", "mailto:")), (payload, value)


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.elements = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, attrs))


def test_markdown_formats_and_makes_links_clickable():
    html = str(
        render_markdown(
            "**Bold** _it_ `code`\n\n- one\n- two\n\n[docs](https://example.com/a?b=1) and https://example.org"
        )
    )
    assert "<strong>Bold</strong> <em>it</em> <code>code</code>" in html
    assert "<ul>\n<li>one</li>\n<li>two</li>\n</ul>" in html
    assert '<a href="https://example.com/a?b=1" rel="nofollow noopener">docs</a>' in html
    assert '<a href="https://example.org" rel="nofollow noopener">https://example.org</a>' in html


def test_the_task_page_renders_description_and_comments_as_markdown(client, world):
    task, member = world["task"], world["people"]["member"]
    task.description = "Read **this** <script>alert(1)</script>"
    task.save(update_fields=["description"])
    services.comment_create(actor=member, task=task, body="See [the doc](https://example.com) <b onclick=x>")
    client.force_login(member)
    html = client.get(reverse("tasks:task_detail", args=[task.pk])).content.decode()
    assert "Read <strong>this</strong> &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<a href="https://example.com" rel="nofollow noopener">the doc</a> &lt;b onclick=x&gt;' in html


def test_the_comment_email_quotes_the_comment_as_sanitised_markdown(world):
    task, member = world["task"], world["people"]["member"]
    services.comment_create(actor=member, task=task, body="**Done**, see [here](javascript:alert(1))")
    row = OutboxEmail.objects.get(kind=Kind.TASK_COMMENTED, recipient=world["people"]["owner"].email)
    email = email_render(kind=row.kind, context=row.context)  # as the delivery worker renders the row
    assert "<strong>Done</strong>" in email.html
    assert 'href="javascript:' not in email.html
    # The text part reads as text: no bold markers, and a link the page would not make is left out.
    assert "\n    Done, see here\n" in email.text
    assert "javascript" not in email.text


# --- mentions -------------------------------------------------------------------------------------------


def test_a_mention_notifies_the_member_by_email_and_in_app(world):
    people, task = world["people"], world["task"]
    comment = services.comment_create(actor=people["member"], task=task, body="@Viewer and @admin, have a look.")
    for role in ("viewer", "admin"):
        note = Notification.objects.get(user=people[role])
        assert note.kind == Kind.MENTIONED
        assert note.url == f"/tasks/{task.pk}/#comment-{comment.pk}"
        assert note.message == f"{people['member'].get_full_name()} mentioned you on “Write the spec”"
        row = OutboxEmail.objects.get(recipient=people[role].email)
        assert row.kind == Kind.MENTIONED
        email = email_render(kind=row.kind, context=row.context)  # as the delivery worker renders the row
        assert email.subject == "Write the spec"  # the task's thread; what happened opens the body
        assert f"{people['member'].get_full_name()} mentioned you" in email.text
        assert "have a look" in email.text
        assert f"http://testserver/tasks/{task.pk}/#comment-{comment.pk}" in email.text
    # The creator (owner) hears of the comment as such; the assignee wrote it.
    assert Notification.objects.get(user=people["owner"]).kind == Kind.TASK_COMMENTED
    assert Notification.objects.count() == 3


def test_a_mentioned_creator_gets_one_notification_not_two(world):
    people, task = world["people"], world["task"]
    services.comment_create(actor=people["member"], task=task, body="@owner please approve")
    assert list(Notification.objects.values_list("user__email", "kind")) == [(people["owner"].email, Kind.MENTIONED)]
    assert list(OutboxEmail.objects.values_list("recipient", "kind")) == [(people["owner"].email, Kind.MENTIONED)]


def test_no_self_mention_and_no_outsider_or_former_member(world):
    people, task = world["people"], world["task"]
    former = UserFactory(email="gone@acme.test")
    services.comment_create(actor=people["owner"], task=task, body="@owner @out @out@other.test @gone @nobody")
    # Only the assignee hears (of the comment); the owner's self-mention, the outsider and strangers: nothing.
    assert list(Notification.objects.values_list("user__email", "kind")) == [
        (people["member"].email, Kind.TASK_COMMENTED)
    ]
    assert not Notification.objects.filter(user__in=[people["outsider"], former]).exists()


def test_a_shared_local_part_needs_the_whole_address(world):
    task = world["task"]
    twin_a = MembershipFactory(team=world["team"], role=Role.MEMBER, user=UserFactory(email="sam@a.test")).user
    twin_b = MembershipFactory(team=world["team"], role=Role.MEMBER, user=UserFactory(email="sam@b.test")).user
    assert services.mentioned_members(task, "@sam") == []
    assert services.mentioned_members(task, "ping @sam@b.test.") == [twin_b]
    assert services.mentioned_members(task, "mail sam@a.test, not a mention") == []
    assert services.mentioned_members(task, "(@SAM@A.TEST)") == [twin_a]


def test_the_mention_preference_switches_each_channel(world):
    people, task = world["people"], world["task"]
    NotificationPreference.objects.create(user=people["viewer"], kind=Kind.MENTIONED, email=False, in_app=True)
    NotificationPreference.objects.create(user=people["admin"], kind=Kind.MENTIONED, email=True, in_app=False)
    services.comment_create(actor=people["member"], task=task, body="@viewer @admin")
    assert Notification.objects.filter(user=people["viewer"], kind=Kind.MENTIONED).count() == 1
    assert not OutboxEmail.objects.filter(recipient=people["viewer"].email).exists()
    assert not Notification.objects.filter(user=people["admin"]).exists()
    assert OutboxEmail.objects.filter(recipient=people["admin"].email, kind=Kind.MENTIONED).count() == 1


def test_the_preferences_page_offers_the_mentioned_kind(client, world):
    client.force_login(world["people"]["viewer"])
    html = client.get(reverse("notifications:preferences")).content.decode()
    assert "Someone mentions me (@name) in a comment" in html
    assert 'name="task_mentioned__email"' in html


# --- editing and deleting -------------------------------------------------------------------------------


def test_the_author_edits_a_comment_and_only_new_mentions_are_notified(world):
    people, task = world["people"], world["task"]
    comment = services.comment_create(actor=people["member"], task=task, body="Hello @viewer")
    before = Notification.objects.count()
    services.comment_update(actor=people["member"], comment=comment, body="Hello @viewer and @admin")
    comment.refresh_from_db()
    assert comment.body == "Hello @viewer and @admin"
    edited = Activity.objects.get(verb=Activity.Verb.COMMENT_EDITED)
    assert (edited.actor, edited.field, edited.new_value) == (people["member"], "comment", comment.pk)
    assert Notification.objects.count() == before + 1
    assert Notification.objects.filter(user=people["admin"], kind=Kind.MENTIONED).count() == 1
    assert Notification.objects.filter(user=people["viewer"]).count() == 1
    # The same text again records nothing.
    snapshot = state()
    services.comment_update(actor=people["member"], comment=comment, body="  Hello @viewer and @admin ")
    assert state() == snapshot


@pytest.mark.parametrize("role", ["owner", "admin", "viewer"])
def test_only_the_author_may_edit_and_a_refusal_changes_nothing(world, role):
    people, task = world["people"], world["task"]
    comment = services.comment_create(actor=people["member"], task=task, body="Mine")
    snapshot = state()
    with pytest.raises(PermissionDenied):
        services.comment_update(actor=people[role], comment=comment, body="Theirs")
    assert state() == snapshot


def test_an_empty_edit_is_refused_by_field(world):
    people, task = world["people"], world["task"]
    comment = services.comment_create(actor=people["member"], task=task, body="Mine")
    snapshot = state()
    with pytest.raises(ValidationError) as exc:
        services.comment_update(actor=people["member"], comment=comment, body="   ")
    assert exc.value.message_dict == {"body": ["Write something."]}
    assert state() == snapshot


@pytest.mark.parametrize(("role", "allowed"), [("member", True), ("admin", True), ("owner", True), ("viewer", False)])
def test_the_author_or_a_team_admin_deletes(world, role, allowed):
    people, task = world["people"], world["task"]
    comment = services.comment_create(actor=people["member"], task=task, body="Mine")
    if not allowed:
        snapshot = state()
        with pytest.raises(PermissionDenied):
            services.comment_delete(actor=people[role], comment=comment)
        assert state() == snapshot
        return
    services.comment_delete(actor=people[role], comment=comment)
    assert not Comment.objects.exists()
    deleted = Activity.objects.get(verb=Activity.Verb.COMMENT_DELETED)
    assert deleted.actor == people[role]
    assert deleted.old_value == {"id": comment.pk, "author": people["member"].pk}


def test_a_member_may_not_delete_someone_elses_comment(world):
    people, task = world["people"], world["task"]
    MembershipFactory(team=world["team"], role=Role.MEMBER, user=UserFactory(email="m2@acme.test"))
    comment = services.comment_create(actor=people["admin"], task=task, body="Admin's")
    snapshot = state()
    from accounts.models import User

    with pytest.raises(PermissionDenied):
        services.comment_delete(actor=User.objects.get(email="m2@acme.test"), comment=comment)
    with pytest.raises(PermissionDenied):
        services.comment_delete(actor=people["member"], comment=comment)
    assert state() == snapshot


def test_the_task_page_offers_edit_and_delete_to_those_who_may(client, world):
    people, task = world["people"], world["task"]
    comment = services.comment_create(actor=people["member"], task=task, body="Mine")
    edit = reverse("tasks:comment_edit", args=[comment.pk])
    delete = reverse("tasks:comment_delete", args=[comment.pk])
    expected = {"member": (True, True), "admin": (False, True), "viewer": (False, False), "owner": (False, True)}
    for role, (can_edit, can_delete) in expected.items():
        client.force_login(people[role])
        html = client.get(reverse("tasks:task_detail", args=[task.pk])).content.decode()
        assert (f'action="{edit}"' in html, f'action="{delete}"' in html) == (can_edit, can_delete), role


def test_the_pages_edit_and_delete_and_history_says_so(client, world):
    people, task = world["people"], world["task"]
    comment = services.comment_create(actor=people["member"], task=task, body="First")
    Comment.objects.filter(pk=comment.pk).update(created_at=comment.created_at - timedelta(minutes=5))
    client.force_login(people["member"])
    bad = client.post(reverse("tasks:comment_edit", args=[comment.pk]), {"body": ""})
    assert bad.status_code == 422
    assert Comment.objects.get().body == "First"
    done = client.post(reverse("tasks:comment_edit", args=[comment.pk]), {"body": "Second *take*"})
    assert done["Location"].endswith(f"/tasks/{task.pk}/#comment-{comment.pk}")
    html = client.get(reverse("tasks:task_detail", args=[task.pk])).content.decode()
    assert "Second <em>take</em>" in html
    assert "(edited)" in html
    assert "edited a comment" in html
    client.force_login(people["admin"])
    client.post(reverse("tasks:comment_delete", args=[comment.pk]))
    assert not Comment.objects.exists()
    html = client.get(reverse("tasks:task_detail", args=[task.pk])).content.decode()
    assert f"deleted a comment by {people['member'].get_full_name()}" in html


def test_another_teams_comment_is_a_404_and_a_viewers_post_a_403(client, world):
    people, task = world["people"], world["task"]
    comment = services.comment_create(actor=people["member"], task=task, body="Mine")
    snapshot = state()
    client.force_login(people["outsider"])
    assert client.post(reverse("tasks:comment_edit", args=[comment.pk]), {"body": "x"}).status_code == 404
    assert client.post(reverse("tasks:comment_delete", args=[comment.pk])).status_code == 404
    client.force_login(people["viewer"])
    assert client.post(reverse("tasks:comment_edit", args=[comment.pk]), {"body": "x"}).status_code == 403
    assert client.post(reverse("tasks:comment_delete", args=[comment.pk])).status_code == 403
    assert state() == snapshot


def test_the_api_edits_and_deletes_comments(world):
    people, task = world["people"], world["task"]
    comment = services.comment_create(actor=people["member"], task=task, body="Mine")
    url = f"/api/v1/comments/{comment.pk}/"
    snapshot = state()
    assert api_client(people["outsider"]).patch(url, {"body": "x"}, format="json").status_code == 404
    assert api_client(people["viewer"]).patch(url, {"body": "x"}, format="json").status_code == 403
    assert api_client(people["admin"]).patch(url, {"body": "x"}, format="json").status_code == 403
    assert api_client(people["viewer"]).delete(url).status_code == 403
    bad = api_client(people["member"]).patch(url, {"body": ""}, format="json")
    assert bad.status_code == 400
    assert [e["field"] for e in bad.json()["errors"]] == ["body"]
    assert state() == snapshot
    ok = api_client(people["member"]).patch(url, {"body": "Edited @viewer"}, format="json")
    assert ok.status_code == 200
    assert ok.json()["body"] == "Edited @viewer"
    assert Notification.objects.filter(user=people["viewer"], kind=Kind.MENTIONED).count() == 1
    assert api_client(people["admin"]).delete(url).status_code == 204
    assert api_client(people["admin"]).delete(url).status_code == 404
    assert list(Activity.objects.filter(task=task).values_list("verb", flat=True)) == [
        "commented",
        "comment_edited",
        "comment_deleted",
    ]


def test_the_schema_describes_the_comment_endpoints():
    schema = api_client().get("/api/v1/schema/?format=json").json()
    operations = schema["paths"]["/api/v1/comments/{id}/"]
    assert set(operations) >= {"patch", "delete"}
    assert "author" in operations["delete"]["summary"]
