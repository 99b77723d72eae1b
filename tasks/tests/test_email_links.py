"""Every link of every email a representative flow writes lands on a page (200) for its recipient, on the one
SITE_URL: assignment, comment, mention, completion, overdue, due soon, invitation, password reset."""

import re
from datetime import timedelta
from html import unescape
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.utils import timezone

from accounts import services as account_services
from accounts.models import User
from notifications import delivery, headers
from notifications.models import Kind, OutboxEmail
from tasks import services
from tasks.services import deadline_notices as deadlines
from tasks.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db

HREF = re.compile(r'href="([^"]+)"')
TEXT_URL = re.compile(r"https?://\S+")


def links(message) -> set[str]:
    """Every URL of a sent message: the href of its HTML part and the URLs of its text part."""
    html = "".join(content for content, mimetype in message.alternatives if mimetype == "text/html")
    return {unescape(u) for u in HREF.findall(html)} | set(TEXT_URL.findall(message.body))


def run_the_flow(people, team):
    owner, member, admin = people["owner"], people["member"], people["admin"]
    project = ProjectFactory(team=team, name="Apollo")
    task, _ = services.task_create(actor=owner, project=project, title="Ship the beta", assignee=member)
    services.comment_create(actor=member, task=task, body="Started. @admin, can you **review** it?")
    services.task_update(actor=owner, task=task, data={"description": "@viewer, this is for the **beta** list."})
    services.task_complete(actor=member, task=task)
    today = timezone.localdate()
    services.task_create(
        actor=owner, project=project, title="Late report", assignee=member, due_date=today - timedelta(days=2)
    )
    services.task_create(actor=owner, project=project, title="Due now", assignee=admin, due_date=today)
    deadlines.overdue_notify(skip_if_busy=False)
    deadlines.due_soon_notify(skip_if_busy=False)
    account_services.invitation_create(actor=owner, team=team, email="newcomer@example.test", role="member")
    account_services.password_reset_request(email=member.email)


def test_every_link_of_every_email_lands_on_a_page_for_its_recipient(client, team_roles, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    team, _, people = team_roles
    run_the_flow(people, team)
    assert OutboxEmail.objects.filter(recipient=people["viewer"].email, kind=Kind.MENTIONED).count() == 1
    delivery.outbox_deliver()  # what the worker does: render what was written as context only, and send

    kinds = {headers.message_id(row): row.kind for row in OutboxEmail.objects.all()}
    assert set(OutboxEmail.objects.values_list("status", flat=True)) == {"sent"}
    emails = [(kinds[m.extra_headers["Message-ID"]], m) for m in mail.outbox]
    assert len(emails) == OutboxEmail.objects.count()
    assert {kind for kind, _ in emails} == {
        Kind.TASK_ASSIGNED,
        Kind.TASK_COMMENTED,
        Kind.MENTIONED,
        Kind.TASK_COMPLETED,
        Kind.TASK_OVERDUE,
        Kind.TASK_DUE_SOON,
        Kind.INVITATION,
        Kind.PASSWORD_RESET,
    }
    site = urlsplit(settings.SITE_URL)
    checked = 0
    for kind, message in emails:
        found = links(message)
        to = message.to[0]
        assert found, f"{kind} to {to} has no link"
        recipient = User.objects.filter(email=to).first()
        for link in found:
            parts = urlsplit(link)
            assert (parts.scheme, parts.netloc) == (site.scheme, site.netloc), f"{kind}: {link} is off the site"
            client.logout()
            if recipient is not None and kind != Kind.PASSWORD_RESET:
                client.force_login(recipient)
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            response = client.get(path, follow=True)
            assert response.status_code == 200, f"{kind} to {to}: {link} -> {response.status_code}"
            for hop, _ in response.redirect_chain:
                assert urlsplit(hop).netloc in ("", site.netloc), hop
            assert "accounts/login" not in response.request["PATH_INFO"], f"{link} asked {to} to sign in"
            checked += 1
    assert checked >= len(emails)
