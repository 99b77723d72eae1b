"""The API's cached accounts (accounts/account_cache.py) on the real Redis: a repeated cached request reads no
database row at all, and every change that bears on the account shows at the next request whatever door it
came through (deactivated in admin, password changed, renamed, removed from a team, deleted); an unreachable
cache only costs the two queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import services
from accounts.tests.admin_forms import admin_form
from accounts.tests.factories import UserFactory, sign_in_to_admin
from tasks.tests.api_helpers import api_client

pytestmark = pytest.mark.django_db
ME = "/api/v1/me/"
LIST = "/api/v1/tasks/?page_size=50"


@pytest.fixture
def cached():
    """The API's caches on (conftest.py)."""


@pytest.fixture
def root_browser():
    browser = Client()
    sign_in_to_admin(browser, UserFactory(email="root@example.test", is_staff=True, is_superuser=True))
    return browser


def queries(client, url) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    return response.status_code, [q["sql"] for q in captured.captured_queries]


def test_a_repeated_cached_request_reads_no_row(cached, team_roles):
    _, _, people = team_roles
    client = api_client(people["member"])
    code, first = queries(client, LIST)
    assert code == 200
    assert any('"accounts_user"' in sql for sql in first)
    assert queries(client, LIST) == (200, [])


def test_deactivated_in_admin_the_next_request_is_refused(cached, team_roles, root_browser, commit):
    _, _, people = team_roles
    user = people["member"]
    client = api_client(user)
    assert client.get(ME).status_code == 200
    url = reverse("admin:accounts_user_change", args=[user.pk])
    data = admin_form(root_browser, url, "user_form")
    data.pop("is_active", None)  # the box unticked
    with commit():
        assert root_browser.post(url, data).status_code == 302
    response = client.get(ME)
    assert (response.status_code, response.json()["code"]) == (401, "user_inactive")


def test_a_password_change_refuses_the_old_token_at_once(cached, team_roles, commit):
    _, _, people = team_roles
    user = people["member"]
    client = api_client(user)
    assert client.get(ME).status_code == 200
    with commit():
        user.set_password("another-long-password-1")
        user.save(update_fields=["password"])
    response = client.get(ME)
    assert (response.status_code, response.json()["code"]) == (401, "password_changed")


def test_a_new_name_shows_at_the_next_request(cached, team_roles, commit):
    _, _, people = team_roles
    user = people["member"]
    client = api_client(user)
    client.get(ME)
    with commit():
        services.profile_update(actor=user, full_name="Renamed Person")
    assert client.get(ME).json()["full_name"] == "Renamed Person"


def test_leaving_a_team_and_a_new_role_show_at_once(cached, team_roles, commit):
    team, other, people = team_roles
    user = people["member"]
    client = api_client(user)
    assert [t["id"] for t in client.get(ME).json()["teams"]] == [team.pk]
    with commit():
        services.membership_add(actor=people["outsider"], team=other, user=user, role="viewer")
    assert sorted(t["id"] for t in client.get(ME).json()["teams"]) == sorted([team.pk, other.pk])
    with commit():
        services.membership_remove(actor=people["owner"], team=team, user=user)
    assert [t["id"] for t in client.get(ME).json()["teams"]] == [other.pk]


def test_a_deleted_account_is_refused(cached, team_roles, commit):
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

    _, _, people = team_roles
    user = people["viewer"]
    client = api_client(user)
    assert client.get(ME).status_code == 200
    OutstandingToken.objects.filter(user=user).delete()
    with commit():
        user.delete()
    response = client.get(ME)
    assert (response.status_code, response.json()["code"]) == (401, "user_not_found")


def test_an_unreachable_cache_costs_only_the_queries(settings, team_roles, monkeypatch):
    from aether import generations
    from aether.cache import RedisCache

    settings.API_CACHE_SECONDS = 60
    nowhere = RedisCache("redis://127.0.0.1:9/0", {})
    monkeypatch.setattr(generations, "cache", nowhere)
    _, _, people = team_roles
    assert api_client(people["member"]).get(ME).status_code == 200
