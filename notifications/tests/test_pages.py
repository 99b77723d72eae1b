"""The notifications pages: the bell on every page, the list, mark one / all read, preferences."""

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from notifications.models import Kind, Notification, NotificationPreference

pytestmark = pytest.mark.django_db


def note(user, i=0, read=False, **kw):
    return Notification.objects.create(
        user=user,
        kind=Kind.TASK_ASSIGNED,
        message=f"Message {i}",
        url="/tasks/1/",
        dedupe_key=f"{user.pk}:{i}:{kw.pop('tag', '')}",
        read_at=timezone.now() if read else None,
        **kw,
    )


@pytest.fixture
def ann(client):
    user = UserFactory(email="ann@example.test")
    client.force_login(user)
    return user


def test_the_bell_shows_the_unread_count_on_the_pages(client, ann):
    for i in range(3):
        note(ann, i)
    note(ann, 9, read=True)
    note(UserFactory(), 1)  # someone else's

    page = client.get(reverse("notifications:preferences")).content.decode()

    assert 'href="/notifications/"' in page
    assert 'aria-label="3 unread"' in page


def test_the_bell_costs_one_query(client, ann, django_assert_num_queries):
    from django.template import Context, Template
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = ann
    note(ann)
    with django_assert_num_queries(1):
        html = Template('{% include "notifications/_bell.html" %}').render(Context({"request": request}))
    assert 'aria-label="1 unread"' in html


def test_the_list_shows_only_my_notifications_newest_first(client, ann):
    note(ann, 1)
    note(ann, 2)
    note(UserFactory(), 3)

    response = client.get(reverse("notifications:list"))

    assert response.status_code == 200
    page = response.content.decode()
    assert page.index("Message 2") < page.index("Message 1")
    assert "Message 3" not in page


def test_the_list_query_count_does_not_grow_with_rows(client, ann, django_assert_max_num_queries):
    for i in range(40):
        note(ann, i, actor=UserFactory())
    with django_assert_max_num_queries(8):  # session, user, page rows + count, unread, bell
        assert client.get(reverse("notifications:list")).status_code == 200


def test_mark_one_read(client, ann):
    mine = note(ann)

    response = client.post(reverse("notifications:read", args=[mine.pk]))

    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.read_at is not None


def test_marking_someone_elses_notification_is_a_404_and_changes_nothing(client, ann):
    theirs = note(UserFactory())

    response = client.post(reverse("notifications:read", args=[theirs.pk]))

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_read_needs_a_post_with_csrf(ann):
    from django.test import Client

    mine = note(ann)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(ann)

    assert strict.get(reverse("notifications:read", args=[mine.pk]))["Location"] == reverse("notifications:list")
    assert strict.post(reverse("notifications:read", args=[mine.pk])).status_code == 403
    mine.refresh_from_db()
    assert mine.read_at is None


def test_mark_all_read_marks_only_mine(client, ann):
    for i in range(3):
        note(ann, i)
    theirs = note(UserFactory())

    response = client.post(reverse("notifications:read_all"), follow=True)

    assert "3 notifications marked read." in response.content.decode()
    assert Notification.objects.filter(user=ann, read_at__isnull=True).count() == 0
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_read_returns_to_a_local_page_only(client, ann):
    a, b = note(ann, 1), note(ann, 2)

    local = client.post(reverse("notifications:read", args=[a.pk]), {"next": "/notifications/?page=2"})
    evil = client.post(reverse("notifications:read", args=[b.pk]), {"next": "https://evil.example/"})

    assert local["Location"] == "/notifications/?page=2"
    assert evil["Location"] == reverse("notifications:list")


def test_the_preferences_page_saves_each_switch(client, ann):
    page = client.get(reverse("notifications:preferences"))
    assert page.status_code == 200
    assert page.content.decode().count('type="checkbox"') == 12  # 6 kinds x 2 channels, all on by default

    data = {
        f"{k}__{c}": "on"
        for k in [
            "task_assigned",
            "task_completed",
            "task_commented",
            "task_mentioned",
            "task_overdue",
            "task_due_soon",
        ]
        for c in ["email", "in_app"]
    }
    del data["task_assigned__email"], data["task_overdue__in_app"]
    response = client.post(reverse("notifications:preferences"), data)

    assert response.status_code == 302
    stored = {(p.kind, p.email, p.in_app) for p in NotificationPreference.objects.filter(user=ann)}
    assert (Kind.TASK_ASSIGNED, False, True) in stored
    assert (Kind.TASK_OVERDUE, True, False) in stored
    assert len(stored) == 6


def test_pages_need_a_signed_in_user(client):
    for name in ["notifications:list", "notifications:preferences"]:
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


def test_pages_carry_no_inline_script(client, ann):
    note(ann)
    for name in ["notifications:list", "notifications:preferences"]:
        html = client.get(reverse(name)).content.decode()
        assert "<script>" not in html
        assert " on" + "click=" not in html
