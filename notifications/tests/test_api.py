"""The notifications API: your own notifications only (another user's id is a 404), read marks, preferences."""

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from notifications.models import Kind, Notification, NotificationPreference
from tasks.tests.api_helpers import api_client, error_fields

pytestmark = pytest.mark.django_db
URL = "/api/v1/notifications/"


def note(user, i=0, read=False, **kw):
    return Notification.objects.create(
        user=user,
        kind=Kind.TASK_COMMENTED,
        message=f"Message {i}",
        url="/tasks/1/#comment-3",
        dedupe_key=f"{user.pk}:{i}",
        read_at=timezone.now() if read else None,
        **kw,
    )


def test_the_list_is_mine_newest_first_and_paginated():
    ann, bob = UserFactory(), UserFactory(full_name="Bob Stone")
    for i in range(3):
        note(ann, i, actor=bob)
    note(bob, 9)

    body = api_client(ann).get(URL, {"page_size": 2}).json()

    assert [n["message"] for n in body["results"]] == ["Message 2", "Message 1"]
    assert body["next"] is not None
    first = body["results"][0]
    assert set(first) == {"id", "kind", "message", "url", "task", "actor_name", "created_at", "read_at", "read"}
    assert (first["kind"], first["actor_name"], first["read"]) == ("task_commented", "Bob Stone", False)


def test_the_list_filters_unread():
    ann = UserFactory()
    note(ann, 1)
    note(ann, 2, read=True)

    unread = api_client(ann).get(URL, {"unread": "true"}).json()["results"]
    read = api_client(ann).get(URL, {"unread": "false"}).json()["results"]

    assert [n["message"] for n in unread] == ["Message 1"]
    assert [n["message"] for n in read] == ["Message 2"]


def test_the_list_query_count_does_not_grow_with_rows(django_assert_max_num_queries):
    ann = UserFactory()
    for i in range(30):
        note(ann, i, actor=UserFactory())
    client = api_client(ann)
    with django_assert_max_num_queries(3):  # the token's user, the page with its actors
        assert client.get(URL).status_code == 200


def test_mark_one_read():
    ann = UserFactory()
    mine = note(ann)

    response = api_client(ann).post(f"{URL}{mine.pk}/read/")

    assert response.status_code == 200
    assert response.json()["read"] is True
    mine.refresh_from_db()
    assert mine.read_at is not None


def test_another_users_notification_is_a_404_and_stays_unread():
    ann, bob = UserFactory(), UserFactory()
    theirs = note(bob)

    response = api_client(ann).post(f"{URL}{theirs.pk}/read/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_read_all_marks_only_mine():
    ann, bob = UserFactory(), UserFactory()
    note(ann, 1)
    note(ann, 2)
    note(ann, 3, read=True)
    theirs = note(bob)

    response = api_client(ann).post(f"{URL}read-all/")

    assert response.json() == {"marked": 2}
    assert not Notification.objects.filter(user=ann, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_preferences_default_to_both_channels_for_every_switchable_kind():
    body = api_client(UserFactory()).get(f"{URL}preferences/").json()

    assert [p["kind"] for p in body] == [
        "task_assigned",
        "task_completed",
        "task_commented",
        "task_mentioned",
        "task_overdue",
        "task_due_soon",
    ]
    assert all(p["email"] and p["in_app"] for p in body)
    assert body[0]["label"] == "A task is assigned to me"


def test_put_preferences_replaces_them():
    ann = UserFactory()
    NotificationPreference.objects.create(user=ann, kind=Kind.TASK_DUE_SOON, email=False, in_app=False)

    response = api_client(ann).put(
        f"{URL}preferences/", [{"kind": "task_assigned", "email": False, "in_app": True}], format="json"
    )

    assert response.status_code == 200
    got = {p["kind"]: (p["email"], p["in_app"]) for p in response.json()}
    assert got["task_assigned"] == (False, True)
    assert got["task_due_soon"] == (True, True)  # left out: back to the default
    stored = dict(NotificationPreference.objects.filter(user=ann).values_list("kind", "email"))
    assert stored["task_assigned"] is False


@pytest.mark.parametrize(
    ("payload", "field", "status"),
    [
        ([{"kind": "password_reset", "email": False, "in_app": False}], "0.kind", 400),
        ([{"kind": "task_assigned", "email": "maybe", "in_app": True}], "0.email", 400),
        ([{"kind": "task_assigned", "email": True}], "0.in_app", 400),
        ([{"kind": "task_assigned", "email": True, "in_app": True}] * 2, None, 422),  # each fine, not together
    ],
)
def test_bad_preferences_are_refused_and_change_nothing(payload, field, status):
    ann = UserFactory()

    response = api_client(ann).put(f"{URL}preferences/", payload, format="json")

    assert response.status_code == status
    assert error_fields(response) == [field]
    assert not NotificationPreference.objects.filter(user=ann).exists()


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", ""), ("post", "1/read/"), ("post", "read-all/"), ("get", "preferences/"), ("put", "preferences/")],
)
def test_every_endpoint_needs_a_token(method, path):
    response = getattr(api_client(), method)(f"{URL}{path}")
    assert response.status_code == 401
