"""Choosing how emails reach you, on the preferences page and in the API: bad input is a field's error (never a
500) and writes nothing; someone else's choice is never seen or changed."""

import pytest
from django.urls import reverse

from accounts.tests.factories import MembershipFactory, TeamFactory, UserFactory
from notifications.models import EmailCadence, EmailPreference
from tasks.tests.api_helpers import api_client, error_fields

pytestmark = pytest.mark.django_db
URL = "/api/v1/notifications/email/"
PAGE = reverse("notifications:preferences")


@pytest.fixture
def ann(client):
    team = TeamFactory(time_zone="Europe/Lisbon")
    user = MembershipFactory(team=team, user=UserFactory(email="ann@example.test")).user
    client.force_login(user)
    return user


def test_the_page_offers_the_cadence_starting_in_the_first_teams_time_zone(client, ann):
    html = client.get(PAGE).content.decode()

    assert html.count('type="radio"') == 3
    assert html.count("checked") == 1 + 12  # "as it happens", and the twelve switches below
    assert 'value="immediate" required id="id_cadence_0" checked' in html
    assert '<option value="Europe/Lisbon" selected>' in html
    assert '<option value="8" selected>08:00</option>' in html


def test_the_page_saves_a_digest_choice(client, ann):
    response = client.post(PAGE, {"cadence": "digest", "digest_hour": "7", "time_zone": "America/Chicago"})

    assert response.status_code == 302
    pref = EmailPreference.objects.get(user=ann)
    assert (pref.cadence, pref.digest_hour, pref.time_zone) == ("digest", 7, "America/Chicago")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"cadence": "digest", "digest_hour": "25", "time_zone": "UTC"}, "digest_hour"),
        ({"cadence": "digest", "digest_hour": "eight", "time_zone": "UTC"}, "digest_hour"),
        ({"cadence": "digest", "digest_hour": "", "time_zone": "UTC"}, "digest_hour"),
        ({"cadence": "digest", "digest_hour": "8", "time_zone": "Mars/Olympus"}, "time_zone"),
        ({"cadence": "weekly", "digest_hour": "8", "time_zone": "UTC"}, "cadence"),
    ],
)
def test_bad_input_on_the_page_is_shown_by_its_field_and_saves_nothing(client, ann, data, field):
    response = client.post(PAGE, data)

    assert response.status_code == 200
    assert field in response.context["email_form"].errors
    assert f'id="id_{field}_error"' in response.content.decode()
    assert not EmailPreference.objects.exists()


def test_the_api_reads_the_defaults_then_the_choice(ann):
    client = api_client(ann)
    assert client.get(URL).json() == {"cadence": "immediate", "digest_hour": 8, "time_zone": "Europe/Lisbon"}

    response = client.put(URL, {"cadence": "digest", "digest_hour": 6, "time_zone": "Asia/Kolkata"}, format="json")

    assert response.status_code == 200
    assert response.json() == {"cadence": "digest", "digest_hour": 6, "time_zone": "Asia/Kolkata"}
    # left out: kept
    assert client.put(URL, {"cadence": "off"}, format="json").json() == {
        "cadence": "off",
        "digest_hour": 6,
        "time_zone": "Asia/Kolkata",
    }
    assert EmailPreference.objects.get(user=ann).cadence == EmailCadence.OFF


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"cadence": "digest", "digest_hour": 24}, "digest_hour"),
        ({"cadence": "digest", "digest_hour": -1}, "digest_hour"),
        ({"cadence": "digest", "digest_hour": "noon"}, "digest_hour"),
        ({"cadence": "digest", "time_zone": "Not/AZone"}, "time_zone"),
        ({"cadence": "sometimes"}, "cadence"),
        ({"digest_hour": 8}, "cadence"),
    ],
)
def test_bad_input_in_the_api_is_a_400_naming_the_field_and_changes_nothing(ann, body, field):
    response = api_client(ann).put(URL, body, format="json")

    assert response.status_code == 400
    assert field in error_fields(response)
    assert not EmailPreference.objects.exists()


def test_each_person_reads_and_writes_only_their_own(ann):
    bob = UserFactory()
    api_client(bob).put(URL, {"cadence": "digest", "digest_hour": 20, "time_zone": "UTC"}, format="json")

    assert api_client(ann).get(URL).json()["cadence"] == "immediate"
    assert EmailPreference.objects.get().user == bob


def test_the_api_needs_a_signed_in_user():
    from rest_framework.test import APIClient

    assert APIClient().get(URL).status_code == 401
    assert APIClient().put(URL, {"cadence": "off"}, format="json").status_code == 401
    assert not EmailPreference.objects.exists()
