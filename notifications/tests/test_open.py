"""Opening a notification from the list marks it read and goes where it points."""

import pytest
from django.urls import reverse

from accounts.tests.factories import UserFactory
from notifications.models import Kind, Notification
from notifications.templatetags.notification_tags import open_url

pytestmark = pytest.mark.django_db


def note(user, url="/tasks/7/#comment-3", i=0):
    return Notification.objects.create(
        user=user, kind=Kind.TASK_COMMENTED, message=f"Message {i}", url=url, dedupe_key=f"{user.pk}:{i}"
    )


def test_the_list_links_open_the_notification_which_marks_it_read_and_redirects(client):
    ann = UserFactory()
    client.force_login(ann)
    n = note(ann)
    page = client.get(reverse("notifications:list")).content.decode()
    link = open_url(n)
    assert f'href="{link}"' in page
    response = client.get(link)
    assert response.status_code == 302
    assert response["Location"] == "/tasks/7/#comment-3"
    n.refresh_from_db()
    assert n.read_at is not None
    first = n.read_at
    assert client.get(link)["Location"] == "/tasks/7/#comment-3"  # opening again: still read, same time
    n.refresh_from_db()
    assert n.read_at == first


def test_a_forged_or_foreign_open_link_is_a_404_and_marks_nothing(client):
    ann, bob = UserFactory(), UserFactory()
    mine, theirs = note(ann), note(bob)
    client.force_login(ann)
    assert client.get(reverse("notifications:open", args=[mine.pk])).status_code == 404  # no token
    assert client.get(reverse("notifications:open", args=[mine.pk]) + "?t=forged").status_code == 404
    assert client.get(open_url(theirs)).status_code == 404  # bob's, with bob's valid token
    # ann's token does not open another of ann's notifications
    other = note(ann, i=1)
    token = open_url(mine).split("?t=")[1]
    assert client.get(reverse("notifications:open", args=[other.pk]) + f"?t={token}").status_code == 404
    assert not Notification.objects.filter(read_at__isnull=False).exists()


def test_an_open_link_to_elsewhere_lands_on_the_list(client):
    ann = UserFactory()
    client.force_login(ann)
    n = note(ann, url="https://evil.example/phish")
    response = client.get(open_url(n))
    assert response["Location"] == reverse("notifications:list")
    n.refresh_from_db()
    assert n.read_at is not None


def test_signed_out_the_open_link_asks_to_sign_in(client):
    ann = UserFactory()
    n = note(ann)
    response = client.get(open_url(n))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    n.refresh_from_db()
    assert n.read_at is None
