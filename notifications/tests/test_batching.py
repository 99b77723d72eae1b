"""Emails "as it happens", batched: updates on one task for one person within AETHER_EMAIL_BATCH_SECONDS go out
as one email listing each; nothing lost, nothing twice, in-app notifications at once (notifications/merging.py).
"""

from datetime import timedelta
from email import message_from_bytes

import pytest
from django.core import mail
from django.utils import timezone

from accounts import services as account_services
from accounts.tests.factories import MembershipFactory, TeamFactory, UserFactory
from aether.testing import run_concurrently
from notifications import delivery, merging
from notifications.models import EmailCadence, EmailPreference, Kind, Notification, OutboxEmail, OutboxState
from notifications.services import NOT_A_MEMBER, notifications_withdraw
from tasks import services as task_services
from tasks.services import deadline_notices
from tasks.tests.factories import ProjectFactory

WINDOW = 300


@pytest.fixture(autouse=True)
def batching_on(settings):
    settings.AETHER_EMAIL_BATCH_SECONDS = WINDOW
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def world(db):
    team = TeamFactory(name="Acme")
    ann, bob, cy = (
        MembershipFactory(team=team, role=role, user=UserFactory(email=f"{n}@acme.test", full_name=n.title())).user
        for n, role in (("ann", "owner"), ("bob", "member"), ("cy", "member"))
    )
    project = ProjectFactory(team=team, name="Website")
    task, _ = task_services.task_create(actor=ann, project=project, title="Launch page", assignee=bob)
    other, _ = task_services.task_create(actor=ann, project=project, title="Press kit", assignee=bob)
    return {"team": team, "ann": ann, "bob": bob, "cy": cy, "task": task, "other": other}


def later(seconds=WINDOW + 1):
    return timezone.now() + timedelta(seconds=seconds)


def sent_to(address):
    return [m for m in mail.outbox if m.to == [address]]


@pytest.mark.django_db
def test_ten_quick_comments_are_one_email_listing_each_and_ten_notifications_at_once(world):
    ann, bob, task = world["ann"], world["bob"], world["task"]
    bodies = [f"Point number {i}" for i in range(10)]
    for body in bodies:
        task_services.comment_create(actor=ann, task=task, body=body)

    # in the app at once, one per comment
    assert Notification.objects.filter(user=bob, kind=Kind.TASK_COMMENTED).count() == 10
    # held by email, with the assignment of the task before them: eleven rows for bob about this task
    held = OutboxEmail.objects.filter(user=bob, task=task)
    assert set(held.values_list("status", flat=True)) == {OutboxState.BATCHED}
    assert held.count() == 11

    assert merging.held_merge(now=timezone.now()) == merging.MergeRun()  # the window is still open
    run = merging.held_merge(now=later())
    delivery.outbox_deliver()

    # bob's eleven about "Launch page" are one email; his lone assignment to "Press kit" goes out as itself
    assert run == merging.MergeRun(batches=1, released=1, merged=11)
    (combined,) = OutboxEmail.objects.filter(user=bob, task=task, kind=Kind.TASK_UPDATES)
    assert combined.status == OutboxState.SENT
    assert set(OutboxEmail.objects.filter(merged_into=combined).values_list("status", flat=True)) == {"merged"}
    assert OutboxEmail.objects.filter(merged_into=combined).count() == 11
    (message,) = [m for m in sent_to(bob.email) if "Launch page" in m.subject]
    assert message.subject == "Launch page"  # every email about a task in its thread; the body says what
    assert "11 updates on “Launch page”" in message.body
    html = message.alternatives[0][0]
    for body in bodies:
        assert body in message.body
        assert body in html
    assert "Ann assigned you “Launch page”" in message.body
    assert message.body.index("Point number 0") < message.body.index("Point number 9")  # in the order they happened


@pytest.mark.django_db
def test_a_lone_email_goes_out_as_itself_once_its_window_closes(world):
    ann, cy, task = world["ann"], world["cy"], world["task"]
    OutboxEmail.objects.all().delete()  # the assignments of the set-up
    task_services.comment_create(actor=cy, task=task, body="Only this")  # ann created the task: she hears of it
    (row,) = OutboxEmail.objects.filter(user=ann)
    assert (row.status, row.next_attempt_at > timezone.now() + timedelta(seconds=WINDOW - 5)) == ("batched", True)

    run = merging.held_merge(now=later())
    delivery.outbox_deliver()

    assert (run.released, run.batches) == (2, 0)  # ann's, and bob's (the assignee) alike
    row.refresh_from_db()
    assert (row.kind, row.status, row.merged_into_id) == (Kind.TASK_COMMENTED, OutboxState.SENT, None)
    (message,) = sent_to(ann.email)
    assert message.subject == "Launch page"
    assert "Only this" in message.body


@pytest.mark.django_db
def test_updates_on_two_tasks_are_two_emails_and_a_late_one_starts_a_new_batch(world):
    ann, bob, task, other = world["ann"], world["bob"], world["task"], world["other"]
    start = timezone.now()
    merging.held_merge(now=later())  # the assignments go out first
    mail.outbox.clear()
    OutboxEmail.objects.all().delete()

    task_services.comment_create(actor=ann, task=task, body="A1")
    task_services.comment_create(actor=ann, task=task, body="A2")
    task_services.comment_create(actor=ann, task=other, body="B1")
    merging.held_merge(now=start + timedelta(seconds=WINDOW + 5))
    task_services.comment_create(actor=ann, task=task, body="A3")  # after the batch went: the next one
    merging.held_merge(now=later(WINDOW + 10))
    delivery.outbox_deliver()

    subjects = sorted(m.subject for m in sent_to(bob.email))
    assert subjects == ["Launch page", "Launch page", "Press kit"]
    assert sum("2 updates on “Launch page”" in m.body for m in sent_to(bob.email)) == 1


@pytest.mark.django_db
def test_reminders_invitations_and_password_resets_are_never_held(world):
    ann, bob, team = world["ann"], world["bob"], world["team"]
    project = ProjectFactory(team=team)
    task_services.task_create(
        actor=ann, project=project, title="Late", assignee=bob, due_date=timezone.localdate() - timedelta(days=3)
    )
    EmailPreference.objects.create(user=bob, cadence=EmailCadence.IMMEDIATE)
    deadline_notices.overdue_notify(skip_if_busy=False)
    account_services.invitation_create(actor=ann, team=team, email="new@acme.test", role="member")
    account_services.password_reset_request(email=bob.email)

    statuses = dict(
        OutboxEmail.objects.filter(kind__in=[Kind.TASK_OVERDUE, Kind.INVITATION, Kind.PASSWORD_RESET]).values_list(
            "kind", "status"
        )
    )
    assert statuses == {Kind.TASK_OVERDUE: "pending", Kind.INVITATION: "pending", Kind.PASSWORD_RESET: "pending"}


@pytest.mark.django_db
def test_with_the_window_at_zero_each_email_goes_at_once(world, settings):
    settings.AETHER_EMAIL_BATCH_SECONDS = 0
    task_services.comment_create(actor=world["ann"], task=world["task"], body="Now")

    assert OutboxEmail.objects.filter(kind=Kind.TASK_COMMENTED).get().status == OutboxState.PENDING


@pytest.mark.django_db
def test_a_member_who_left_before_the_batch_closed_gets_none_of_it(world):
    ann, bob, task, team = world["ann"], world["bob"], world["task"], world["team"]
    task_services.comment_create(actor=ann, task=task, body="One")
    task_services.comment_create(actor=ann, task=task, body="Two")

    notifications_withdraw(user_id=bob.pk, team_id=team.pk)  # what removing him from the team does
    run = merging.held_merge(now=later())
    delivery.outbox_deliver()

    assert sent_to(bob.email) == []
    assert run.batches == 0
    assert set(OutboxEmail.objects.filter(user=bob).values_list("status", "last_error")) == {("dead", NOT_A_MEMBER)}


@pytest.mark.django_db
def test_the_merge_checks_the_audience_again(world):
    """A part whose recipient is no longer a member (removed without the withdraw) is dead, not merged."""
    ann, bob, task = world["ann"], world["bob"], world["task"]
    task_services.comment_create(actor=ann, task=task, body="One")
    bob.memberships.all().delete()

    run = merging.held_merge(now=later())

    assert (run.batches, run.withheld) == (0, 3)  # his two assignments and the comment
    assert not OutboxEmail.objects.filter(user=bob, status__in=["pending", "batched"]).exists()


@pytest.mark.django_db
def test_the_combined_email_file_renders_every_part(world, settings, tmp_path):
    settings.EMAIL_BACKEND = "notifications.backends.FilePerMessageEmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path
    ann, bob, cy, task = world["ann"], world["bob"], world["cy"], world["task"]
    OutboxEmail.objects.filter(task=world["other"]).delete()
    task_services.comment_create(actor=ann, task=task, body="Hello @cy, see **this**")
    task_services.comment_create(actor=cy, task=task, body="Seen it")
    task_services.task_complete(actor=cy, task=task)

    merging.held_merge(now=later())
    delivery.outbox_deliver()

    messages = {}
    for f in tmp_path.iterdir():
        msg = message_from_bytes(f.read_bytes())
        messages[msg["To"]] = msg
    bob_mail = messages[bob.email]
    assert bob_mail["Subject"] == "Launch page"
    text = next(p for p in bob_mail.walk() if p.get_content_type() == "text/plain").get_payload(decode=True).decode()
    html = next(p for p in bob_mail.walk() if p.get_content_type() == "text/html").get_payload(decode=True).decode()
    said = f"Hello @{cy.get_full_name()}, see this"  # the mention as a name, the markdown as text, indented
    for expected in ("Ann assigned you", "Ann commented on", said, "Cy commented", "Seen it"):
        assert expected in text
    assert "<strong>this</strong>" in html  # the comment's markdown, rendered and sanitised
    assert html.count("<li") == 3
    assert f"http://testserver/tasks/{task.pk}/" in text
    # Ann, the creator, hears of Cy's comment and the completion; Cy of the mention (one each, as they happened)
    assert messages[ann.email]["Subject"] == messages[cy.email]["Subject"] == "Launch page"  # the task's thread
    assert "2 updates on" in messages[ann.email].get_payload()[0].get_payload(decode=True).decode()
    assert "Ann mentioned you" in messages[cy.email].get_payload()[0].get_payload(decode=True).decode()


@pytest.mark.django_db(transaction=True)
def test_concurrent_comments_on_one_task_make_one_email_listing_all(world):
    ann, cy, bob, task = world["ann"], world["cy"], world["bob"], world["task"]
    merging.held_merge(now=later())
    OutboxEmail.objects.all().delete()

    def post(i):
        author = (ann, cy)[i % 2]
        for j in range(5):
            task_services.comment_create(actor=author, task=task, body=f"Thread {i} comment {j}")

    _, errors = run_concurrently(post, 2)
    assert errors == []
    merging.held_merge(now=later())
    delivery.outbox_deliver()

    (message,) = sent_to(bob.email)
    assert message.subject == "Launch page"
    assert "10 updates on “Launch page”" in message.body
    for i in range(2):
        for j in range(5):
            assert f"Thread {i} comment {j}" in message.body
    assert Notification.objects.filter(user=bob, kind=Kind.TASK_COMMENTED).count() == 10


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("skip_if_busy", [False, True], ids=["row-locks-only", "with-advisory-lock"])
def test_four_racing_merge_runs_write_each_combined_email_once(world, skip_if_busy, monkeypatch):
    from notifications import services

    monkeypatch.setattr(services, "delivery_enqueue_on_commit", lambda ids=None: None)
    monkeypatch.setattr(merging, "delivery_enqueue_on_commit", lambda ids=None: None)  # the broker is not under test
    ann, team = world["ann"], world["team"]
    project = ProjectFactory(team=team)
    people = [MembershipFactory(team=team).user for _ in range(4)]
    OutboxEmail.objects.all().delete()
    for n in range(15):
        task, _ = task_services.task_create(actor=ann, project=project, title=f"T{n}", assignee=people[n % 4])
        for j in range(n % 3 + 1):  # batches of 2, 3 and 4 (the assignment and 1-3 comments)
            task_services.comment_create(actor=ann, task=task, body=f"c{j}")
    held = OutboxEmail.objects.filter(status=OutboxState.BATCHED).count()
    assert held == 15 + sum(n % 3 + 1 for n in range(15))
    at = later()

    runs, errors = run_concurrently(lambda _: merging.held_merge(now=at, skip_if_busy=skip_if_busy), 4)

    assert errors == []
    assert sum(r.batches for r in runs) == 15
    assert sum(r.merged for r in runs) == held
    combined = OutboxEmail.objects.filter(kind=Kind.TASK_UPDATES)
    assert combined.count() == 15
    assert combined.values("user_id", "task_id").distinct().count() == 15
    assert OutboxEmail.objects.filter(status=OutboxState.MERGED, merged_into__isnull=False).count() == held
    assert not OutboxEmail.objects.filter(status=OutboxState.BATCHED).exists()


@pytest.mark.django_db
def test_every_link_of_a_batch_and_a_digest_lands_on_a_page_for_its_recipient(world, client, settings):
    from urllib.parse import urlsplit

    from tasks.tests.test_email_links import links

    ann, bob, cy, task = world["ann"], world["bob"], world["cy"], world["task"]
    EmailPreference.objects.create(user=ann, cadence=EmailCadence.DIGEST, digest_hour=8, time_zone="UTC")
    task_services.comment_create(actor=cy, task=task, body="For ann's digest and bob's batch")
    task_services.comment_create(actor=cy, task=task, body="Another")
    merging.held_merge(now=timezone.now() + timedelta(days=1, seconds=1))
    delivery.outbox_deliver()

    by_kind = {row.recipient: row.kind for row in OutboxEmail.objects.filter(kind__in=[Kind.TASK_UPDATES, Kind.DIGEST])}
    assert by_kind == {bob.email: Kind.TASK_UPDATES, ann.email: Kind.DIGEST}
    site = urlsplit(settings.SITE_URL)
    checked = 0
    for message in mail.outbox:
        if message.to[0] not in by_kind:
            continue
        client.force_login(ann if message.to[0] == ann.email else bob)
        for link in links(message):
            parts = urlsplit(link)
            assert (parts.scheme, parts.netloc) == (site.scheme, site.netloc)
            assert client.get(parts.path).status_code == 200, link
            checked += 1
    assert checked >= 6  # each part's link and the email's own, in both text and HTML


@pytest.mark.django_db
def test_a_run_takes_at_most_its_bound_and_says_there_is_more(world):
    ann, bob, task, other = world["ann"], world["bob"], world["task"], world["other"]
    OutboxEmail.objects.all().delete()
    for t in (task, task, other, other):
        task_services.comment_create(actor=ann, task=t, body="x")

    first = merging.held_merge(now=later(), limit=3)
    second = merging.held_merge(now=later(), limit=3)
    delivery.outbox_deliver()

    assert (first.more, first.batches, first.released) == (True, 1, 1)  # the bound cut "Press kit"'s batch
    assert (second.more, second.released) == (False, 1)
    assert sorted(m.subject for m in sent_to(bob.email)) == ["Launch page", "Press kit", "Press kit"]
    assert sum("2 updates on “Launch page”" in m.body for m in sent_to(bob.email)) == 1
    assert not OutboxEmail.objects.filter(status__in=["batched", "digest"]).exists()
