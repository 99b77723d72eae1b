"""The profile page of the account menu: name, password, the way to notification settings."""

import pytest
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(client):
    user = UserFactory(email="ann@example.test", full_name="Ann Smith", password="Old-password-123")
    client.force_login(user)
    return user


def test_the_account_menu_opens_the_profile_with_name_password_and_notification_settings(client, ann):
    home = client.get(reverse("tasks:my_work")).content.decode()
    assert f'href="{reverse("accounts:profile")}" class="who"' in home
    page = client.get(reverse("accounts:profile"))
    html = page.content.decode()
    assert page.status_code == 200
    assert "<title>Your profile · Aether</title>" in html
    assert html.count('id="calendar-feed-h"') == 1  # the feed's card once, in the page, not in the title
    assert 'value="Ann Smith"' in html
    assert f'action="{reverse("accounts:password_change")}"' in html
    assert 'name="old_password"' in html
    assert f'href="{reverse("notifications:preferences")}"' in html


def test_changing_the_name(client, ann):
    response = client.post(reverse("accounts:profile"), {"full_name": "  Ann Jones "})
    assert response["Location"] == reverse("accounts:profile")
    ann.refresh_from_db()
    assert ann.full_name == "Ann Jones"


def test_an_empty_name_is_refused_by_the_field(client, ann):
    response = client.post(reverse("accounts:profile"), {"full_name": "   "})
    assert response.status_code == 422
    assert response.context["name_form"].errors == {"full_name": ["This field is required."]}
    assert User.objects.get(pk=ann.pk).full_name == "Ann Smith"


def test_changing_the_password_from_the_profile_returns_to_it(client, ann):
    response = client.post(
        reverse("accounts:password_change"),
        {
            "old_password": "Old-password-123",
            "new_password1": "New-pass-phrase-456",
            "new_password2": "New-pass-phrase-456",
        },
    )
    assert response["Location"] == reverse("accounts:profile")
    ann.refresh_from_db()
    assert ann.check_password("New-pass-phrase-456")
    wrong = client.post(
        reverse("accounts:password_change"),
        {"old_password": "nope", "new_password1": "Other-phrase-789", "new_password2": "Other-phrase-789"},
    )
    assert wrong.status_code == 200
    assert "old_password" in wrong.context["form"].errors
    ann.refresh_from_db()
    assert ann.check_password("New-pass-phrase-456")
