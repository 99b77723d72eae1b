"""A post that cannot be taken loses nothing (aether/posting.py): every address of the site answers a GET with a
page or a redirect to one (never an empty 405); an in-place request whose session ended gets a 401 naming the
sign-in page with `next` the page the person is on; a stale CSRF token is refused in plain words."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from accounts.models import Invitation, Role
from accounts.tests.factories import MembershipFactory, TeamFactory, UserFactory
from notifications.models import Notification
from tasks.models import Comment
from tasks.tests.factories import ProjectFactory, StageFactory, TaskFactory, TemplateFactory

PASSWORD = "pw-for-tests-1"
# Not pages: the API and Django admin answer in their own ways; anymail's webhooks and the feed take no session.
SKIP = re.compile(r"^(api/|admin/|anymail/|healthz|calendar/feed/|accounts/invitations/|accounts/password/reset/)")


def _patterns(resolvers, prefix=""):
    for entry in resolvers:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


@pytest.fixture
def world(db):
    team = TeamFactory()
    owner = UserFactory(password=PASSWORD)
    other = UserFactory()
    MembershipFactory(team=team, user=owner, role=Role.OWNER)
    MembershipFactory(team=team, user=other, role=Role.MEMBER)
    project = ProjectFactory(team=team)
    task = TaskFactory(project=project, created_by=owner)
    stage = StageFactory(task=task, order=1)
    comment = Comment.objects.create(task=task, author=owner, body="hello")
    template = TemplateFactory(team=team)
    invitation = Invitation.objects.create(
        team=team, email="new@example.test", invited_by=owner, expires_at=timezone.now()
    )
    note = Notification.objects.create(user=owner, kind="task_assigned", message="m", dedupe_key="k")
    ids = {"team_id": team.pk, "user_id": other.pk, "invitation_id": invitation.pk}
    by_route = {
        "tasks/": task.pk,
        "stages/": stage.pk,
        "comments/": comment.pk,
        "projects/": project.pk,
        "templates/": template.pk,
        "notifications/": note.pk,
    }
    client = Client()
    client.force_login(owner)
    return {"client": client, "ids": ids, "by_route": by_route, "task": task}


def _url(route: str, world) -> str:
    def value(match):
        name = match.group(2)
        if name in world["ids"]:
            return str(world["ids"][name])
        return str(next(pk for start, pk in world["by_route"].items() if route.startswith(start)))

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", value, route).replace("^", "").replace("$", "")


def test_every_address_of_the_site_answers_a_get_with_a_page_or_a_redirect_to_one(world):
    client = world["client"]
    checked, empty = [], []
    for route, pattern in _patterns(get_resolver().url_patterns):
        if SKIP.match(route):
            continue
        url = _url(route, world)
        response = client.get(url)
        checked.append(url)
        if response.status_code == 405:
            empty.append(f"{url} ({pattern.name})")
            continue
        if getattr(pattern.callback, "post_only_page", None) is not None:
            assert response.status_code == 302, url
            landing = client.get(response["Location"])
            assert landing.status_code == 200, (url, response["Location"], landing.status_code)
    assert empty == [], f"a GET of these is an empty 405; give them aether.posting.post_only: {empty}"
    assert len(checked) > 30


def test_a_get_of_a_comment_address_goes_to_the_comment_on_its_task_page(world):
    comment = Comment.objects.get()
    response = world["client"].get(f"/comments/{comment.pk}/edit/")
    assert response["Location"] == f"/tasks/{comment.task_id}/#comment-{comment.pk}"
    assert world["client"].get("/accounts/logout/")["Location"] == "/"  # and it signs nobody out
    assert world["client"].get("/my-work/").status_code == 200


@pytest.mark.django_db
def test_an_in_place_post_whose_session_ended_is_a_401_naming_sign_in_with_the_page_as_next():
    task = TaskFactory()
    response = Client().post(
        f"/tasks/{task.pk}/comments/",
        {"body": "kept"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL=f"http://testserver/tasks/{task.pk}/?tab=1",
    )
    assert response.status_code == 401
    sign_in = urlsplit(response["Aether-Sign-In"])
    assert sign_in.path == "/accounts/login/"
    assert parse_qs(sign_in.query)["next"] == [f"/tasks/{task.pk}/?tab=1"]
    # another site's address is never the next page
    response = Client().post(
        f"/tasks/{task.pk}/comments/", {"body": "x"}, HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL="https://evil.test/"
    )
    assert parse_qs(urlsplit(response["Aether-Sign-In"]).query)["next"] == [f"/tasks/{task.pk}/comments/"]
    assert Comment.objects.count() == 0


@pytest.mark.django_db
def test_a_plain_post_whose_session_ended_signs_in_to_the_page_it_came_from_and_lands_there():
    owner = UserFactory(password=PASSWORD)
    task = TaskFactory(created_by=owner)
    MembershipFactory(team=task.project.team, user=owner, role=Role.MEMBER)
    client = Client()
    response = client.post(
        f"/tasks/{task.pk}/comments/", {"body": "kept"}, HTTP_REFERER=f"http://testserver/tasks/{task.pk}/"
    )
    assert response.status_code == 302
    sign_in = urlsplit(response["Location"])
    next_page = parse_qs(sign_in.query)["next"][0]
    assert next_page == f"/tasks/{task.pk}/"
    landed = client.post(sign_in.path + "?" + sign_in.query, {"username": owner.email, "password": PASSWORD})
    assert landed["Location"] == next_page


@pytest.mark.django_db
def test_a_stale_csrf_token_is_refused_in_plain_words():
    owner = UserFactory(password=PASSWORD)
    task = TaskFactory(created_by=owner)
    MembershipFactory(team=task.project.team, user=owner, role=Role.MEMBER)
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    page = client.post(f"/tasks/{task.pk}/comments/", {"body": "x"}, HTTP_REFERER=f"http://testserver/tasks/{task.pk}/")
    assert page.status_code == 403
    text = page.content.decode().split('<main id="main">')[1]
    assert "This page was out of date" in text
    assert "csrf" not in text.lower()  # no internal word
    assert f'href="/tasks/{task.pk}/"' in text
    in_place = client.post(f"/tasks/{task.pk}/comments/", {"body": "x"}, HTTP_HX_REQUEST="true")
    assert (in_place.status_code, in_place["Aether-Refused"]) == (403, "csrf")
    assert Comment.objects.count() == 0
