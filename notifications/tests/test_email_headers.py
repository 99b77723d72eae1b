"""Emails that behave like the best trackers': one thread per task, List-Id, Auto-Submitted, and one-click
unsubscribe (RFC 8058) through a signed link made at send time and stored nowhere."""

import pytest
from django.core import mail, signing
from django.urls import reverse

from accounts.tests.factories import MembershipFactory, TeamFactory, UserFactory
from notifications import delivery
from notifications.models import EmailCadence, EmailPreference, Kind, NotificationPreference, OutboxEmail
from notifications.unsubscribe import SALT, unsubscribe_token, unsubscribe_url
from tasks import services as task_services
from tasks.tests.factories import ProjectFactory


@pytest.fixture(autouse=True)
def at_once(settings):
    settings.AETHER_EMAIL_BATCH_SECONDS = 0  # each email as it happens, so each event is its own message
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = "https://aether.example.org"


@pytest.fixture
def world(db):
    team = TeamFactory(name="Acme")
    ann, bob = (
        MembershipFactory(team=team, role=role, user=UserFactory(email=f"{n}@acme.test", full_name=n.title())).user
        for n, role in (("ann", "owner"), ("bob", "member"))
    )
    project = ProjectFactory(team=team, name="Website")
    task, _ = task_services.task_create(actor=ann, project=project, title="Launch page", assignee=bob)
    return {"team": team, "ann": ann, "bob": bob, "task": task}


def sent(kind=None):
    delivery.outbox_deliver()
    return list(mail.outbox)


def test_every_email_about_a_task_replies_to_the_task_s_thread(world):
    ann, bob, task = world["ann"], world["bob"], world["task"]
    task_services.comment_create(actor=ann, task=task, body="First thoughts")

    assigned, commented = sent()
    root = f"<task-{task.pk}@aether.example.org>"
    for message in (assigned, commented):
        assert message.to == [bob.email]
        assert message.extra_headers["In-Reply-To"] == root
        assert message.extra_headers["References"] == root
    # Gmail and Outlook thread by subject too: both carry the task's title alone, and say what happened inside
    assert assigned.subject == commented.subject == task.title
    assert "assigned you" in assigned.body
    assert "comment" in commented.body
    ids = {m.extra_headers["Message-ID"] for m in (assigned, commented)}
    assert len(ids) == 2
    assert root not in ids
    rows = OutboxEmail.objects.order_by("pk")
    assert [r.provider_message_id for r in rows] == [
        assigned.extra_headers["Message-ID"],
        commented.extra_headers["Message-ID"],
    ]
    assert (
        assigned.extra_headers["Message-ID"]
        == f"<outbox-{rows[0].pk}.{int(rows[0].created_at.timestamp())}@aether.example.org>"
    )


def test_a_task_email_says_it_is_automatic_names_its_list_and_can_be_left_in_one_click(world):
    bob, task = world["bob"], world["task"]
    (assigned,) = sent()
    headers = assigned.extra_headers
    assert headers["Auto-Submitted"] == "auto-generated"
    assert headers["X-Auto-Response-Suppress"] == "All"
    assert headers["List-Id"] == "Aether notifications <notifications.aether.example.org>"
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = headers["List-Unsubscribe"]
    assert link.startswith("<https://aether.example.org/notifications/unsubscribe/")
    assert link.endswith("/>")
    assert signing.loads(link[1:-1].rsplit("/", 2)[1], salt=SALT) == [bob.pk, "task_assigned"]
    # The link is made at send time and kept nowhere: not in the row, its context or its bodies.
    row = OutboxEmail.objects.get(task=task)
    token = link[1:-1].rsplit("/", 2)[1]
    for stored in (row.body_text, row.body_html, str(row.context), row.subject, row.dedupe_key):
        assert token not in stored
        assert "unsubscribe" not in stored
    # The plain part ends with the way to the settings, not with the credential.
    assert "https://aether.example.org/notifications/preferences/" in assigned.body


def test_an_invitation_or_password_reset_has_no_unsubscribe_but_is_still_automatic(world, client):
    from accounts import services as account_services

    account_services.invitation_create(actor=world["ann"], team=world["team"], email="new@example.test", role="member")
    (invitation,) = [m for m in sent() if m.to == ["new@example.test"]]
    assert invitation.extra_headers["Auto-Submitted"] == "auto-generated"
    assert "List-Unsubscribe" not in invitation.extra_headers
    assert "In-Reply-To" not in invitation.extra_headers


def test_a_combined_email_unsubscribes_from_every_task_email(world):
    link = unsubscribe_url(user_id=world["bob"].pk, kind="digest")
    from notifications.unsubscribe import unsubscribe_read

    assert unsubscribe_read(link.rsplit("/", 2)[1]).what == "all emails about tasks"


# --- the one-click unsubscribe ------------------------------------------------------------------------------


def test_one_click_post_turns_that_kind_off_without_sign_in_or_csrf_token(world):
    from django.test import Client

    bob = world["bob"]
    client = Client(enforce_csrf_checks=True)  # a mail client: no session, no token
    url = reverse("notifications:unsubscribe", args=[unsubscribe_token(user_id=bob.pk, kind="task_commented")])

    response = client.post(url, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")

    assert response.status_code == 200
    assert "You are unsubscribed" in response.content.decode()
    pref = NotificationPreference.objects.get(user=bob, kind=Kind.TASK_COMMENTED)
    assert (pref.email, pref.in_app) == (False, True)  # the email only; the app's notifications stay
    assert NotificationPreference.objects.filter(user=bob).count() == 1  # nothing else changed
    again = client.post(url)
    assert again.status_code == 200
    assert "Already off" in again.content.decode()


def test_the_combined_kinds_turn_every_task_email_off(world):
    from django.test import Client

    bob = world["bob"]
    url = reverse("notifications:unsubscribe", args=[unsubscribe_token(user_id=bob.pk, kind="digest")])
    assert Client(enforce_csrf_checks=True).post(url).status_code == 200
    assert EmailPreference.objects.get(user=bob).cadence == EmailCadence.OFF


def test_a_get_shows_what_it_would_turn_off_and_changes_nothing(world, client):
    bob = world["bob"]
    url = reverse("notifications:unsubscribe", args=[unsubscribe_token(user_id=bob.pk, kind="task_overdue")])

    response = client.get(url)

    page = response.content.decode()
    assert response.status_code == 200
    assert "Unsubscribe from emails for “My task is overdue”?" in page
    assert '<form method="post"' in page
    assert 'href="/notifications/preferences/#kinds"' in page
    assert not NotificationPreference.objects.filter(user=bob).exists()


BAD_LINKS = {
    "nonsense": lambda: "nonsense",
    "empty": lambda: "",
    "another salt": lambda: signing.dumps([1, "task_assigned"], salt="another.salt"),
    "a kind one may not leave": lambda: signing.dumps([1, "password_reset"], salt=SALT),
    "not an id": lambda: signing.dumps(["1", "task_assigned"], salt=SALT),
    "too long": lambda: "x" * 600,
}


@pytest.mark.parametrize("bad", sorted(BAD_LINKS))
def test_a_forged_or_broken_link_is_a_clear_400_and_changes_nothing(world, client, bad):
    token = BAD_LINKS[bad]()
    url = reverse("notifications:unsubscribe", args=[token]) if token else "/notifications/unsubscribe/%20/"
    for method in (client.get, client.post):
        response = method(url)
        assert response.status_code == 400
        assert "This unsubscribe link does not work" in response.content.decode()
    assert not NotificationPreference.objects.exists()
    assert not EmailPreference.objects.exists()


def test_a_link_altered_to_another_person_is_refused(world, client):
    ann, bob = world["ann"], world["bob"]
    token = unsubscribe_token(user_id=bob.pk, kind="task_assigned")
    _value, signature = token.rsplit(":", 1)
    forged = unsubscribe_token(user_id=ann.pk, kind="task_assigned").rsplit(":", 1)[0] + ":" + signature
    assert client.post(reverse("notifications:unsubscribe", args=[forged])).status_code == 400
    assert not NotificationPreference.objects.filter(user=ann).exists()


# --- what the emails say -------------------------------------------------------------------------------------


def test_the_plain_text_part_reads_alone_with_names_whole_links_and_indented_lists(world):
    ann, bob, task = world["ann"], world["bob"], world["task"]
    body = "Thanks @bob, two things:\n\n- see [the spec](https://example.com/spec?a=1&b=(2))\n- **ship** it"
    task_services.comment_create(actor=ann, task=task, body=body)
    commented = sent()[-1]  # bob is mentioned: the mention's email, not the comment's
    assert (
        "Ann mentioned you on “Launch page”:\n\n"
        "    Thanks @Bob, two things:\n\n"
        "    - see the spec (https://example.com/spec?a=1&b=(2))\n"
        "    - ship it\n"
    ) in commented.body
    html = commented.alternatives[0][0]
    assert f'href="https://aether.example.org/accounts/teams/{task.project.team_id}/#member-{bob.pk}"' in html
    assert "@Bob</a>" in html


def test_a_reminder_says_the_day_as_the_pages_do(world):
    from datetime import date

    from tasks.services.deadline_notices import _events

    task = world["task"]
    task.due_date = date(2026, 12, 6)
    task.save(update_fields=["due_date"])
    (event,) = _events("overdue", [task.pk])
    assert event.message == "“Launch page” was due on 6 Dec 2026 and is overdue."
    assert event.key.endswith(":2026-12-06")  # the dedupe key keeps the ISO day


def test_the_text_filters_keep_links_whole_and_names_of_members_only():
    from notifications.templatetags.email_text import email_plain, indent, shorten

    mentions = {"mia": ["Mia Member", "https://x/teams/1/#member-2"], "sam@other.test": ["Sam Two", "https://x/"]}
    assert email_plain("hi @Mia. and @sam@other.test, @nobody", mentions) == "hi @Mia Member. and @Sam Two, @nobody"
    assert (
        email_plain("[docs](https://example.com/a_(b)) and ![pic](data:x)", {})
        == "docs (https://example.com/a_(b)) and pic"
    )
    long_link = "see https://example.com/" + "a" * 50
    assert shorten(long_link, 40) == "see …"  # cut before the link, never inside it
    assert shorten("short", 40) == "short"
    assert indent("- one\n\n- two", 4) == "    - one\n\n    - two"
