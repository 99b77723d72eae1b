"""The second factor (accounts/second_factor.py): enrolment, the sign-in's code step, the API's `otp`, recovery
codes, removal with the password and a code, and Django admin asking staff for it when the setting says so."""

import pyotp
import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from accounts import services
from accounts.demo import DEMO_PEOPLE
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "pw-for-tests-1"


def app_of(device) -> pyotp.TOTP:
    """The authenticator app: the key as the enrolment page gives it to be typed in (base32)."""
    import base64

    return pyotp.TOTP(base64.b32encode(device.bin_key).decode())


def next_code(device) -> str:
    """A code the device will accept now: a step is used once, and a wrong code slows the device down for a
    second or more (django-otp's throttling); the test does not wait for either."""
    device.refresh_from_db()
    device.last_t = -1
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save(update_fields=["last_t", "throttling_failure_count", "throttling_failure_timestamp"])
    return app_of(device).now()


@pytest.fixture
def enrolled(db):
    user = UserFactory(email="sam@acme.test")
    device = services.second_factor_begin(actor=user)
    codes = services.second_factor_confirm(actor=user, device_id=device.pk, code=app_of(device).now())
    device.refresh_from_db()
    return user, device, codes


def test_enrolment_needs_a_right_first_code_and_gives_ten_recovery_codes(db):
    user = UserFactory(email="sam@acme.test")
    device = services.second_factor_begin(actor=user)
    with pytest.raises(ValidationError) as err:
        services.second_factor_confirm(actor=user, device_id=device.pk, code="000000")
    assert "code" in err.value.message_dict
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()

    assert device.__class__.objects.get(pk=device.pk).throttling_failure_count == 1  # counted, not rolled back
    codes = services.second_factor_confirm(actor=user, device_id=device.pk, code=next_code(device))
    assert len(codes) == len(set(codes)) == 10
    assert TOTPDevice.objects.get(user=user).confirmed


def test_a_second_setup_is_refused_while_one_is_on(enrolled):
    with pytest.raises(ValidationError):
        services.second_factor_begin(actor=enrolled[0])


def test_signing_in_asks_for_the_code_before_the_session_is_signed_in(client, enrolled):
    user, device, _ = enrolled
    response = client.post(reverse("accounts:login"), {"username": user.email, "password": PASSWORD})
    assert response["Location"] == reverse("accounts:second_factor_verify")
    assert client.get(reverse("accounts:profile")).status_code == 302  # not signed in yet

    wrong = client.post(reverse("accounts:second_factor_verify"), {"code": "123456"})
    assert wrong.status_code == 422
    assert "not right" in wrong.content.decode()

    right = client.post(reverse("accounts:second_factor_verify"), {"code": next_code(device)})
    assert right.status_code == 302
    assert client.get(reverse("accounts:profile")).status_code == 200


def test_wrong_codes_pause_the_sign_in_like_wrong_passwords(client, enrolled, settings):
    user, device, _ = enrolled
    client.post(reverse("accounts:login"), {"username": user.email, "password": PASSWORD})
    statuses = [
        client.post(reverse("accounts:second_factor_verify"), {"code": "000001"}).status_code
        for _ in range(settings.AETHER_SIGNIN_PAIR_LIMIT + 1)
    ]
    assert statuses[-1] == 429
    paused = client.post(reverse("accounts:second_factor_verify"), {"code": next_code(device)})
    assert paused.status_code == 429  # even the right code, while paused


def test_a_recovery_code_signs_in_once(client, enrolled):
    user, _, codes = enrolled
    for expected in (302, 422):
        fresh = Client()
        fresh.post(reverse("accounts:login"), {"username": user.email, "password": PASSWORD})
        assert fresh.post(reverse("accounts:second_factor_verify"), {"code": codes[0]}).status_code == expected
    assert StaticToken.objects.filter(device__user=user).count() == 9


def test_the_api_wants_the_code_in_otp(enrolled):
    user, device, _ = enrolled
    api = APIClient()
    url = "/api/v1/auth/token/"
    missing = api.post(url, {"email": user.email, "password": PASSWORD}, format="json")
    assert (missing.status_code, missing.json()["code"]) == (401, "otp_required")
    wrong = api.post(url, {"email": user.email, "password": PASSWORD, "otp": "000000"}, format="json")
    assert (wrong.status_code, wrong.json()["code"]) == (401, "otp_invalid")
    right = api.post(url, {"email": user.email, "password": PASSWORD, "otp": next_code(device)}, format="json")
    assert right.status_code == 200
    assert {"access", "refresh"} <= set(right.json())


def test_removal_takes_the_password_and_a_code(client, enrolled):
    user, device, _ = enrolled
    with pytest.raises(ValidationError) as err:
        services.second_factor_remove(actor=user, password="wrong", code=next_code(device))
    assert "password" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        services.second_factor_remove(actor=user, password=PASSWORD, code="000000")
    assert "code" in err.value.message_dict
    assert TOTPDevice.objects.filter(user=user).exists()

    client.force_login(user)
    response = client.post(reverse("accounts:second_factor_remove"), {"password": PASSWORD, "code": next_code(device)})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=user).exists()


def test_the_enrolment_page_shows_a_qr_code_as_svg(client, db):
    user = UserFactory(email="sam@acme.test")
    client.force_login(user)
    client.post(reverse("accounts:second_factor_begin"))
    page = client.get(reverse("accounts:second_factor")).content.decode()
    assert "<svg" in page
    assert "otpauth://" not in page  # the URL is drawn, not linked
    bad = client.post(reverse("accounts:second_factor_confirm"), {"code": ""})
    assert bad.status_code == 422


# --- Django admin asks staff ----------------------------------------------------------------------------


def test_admin_sends_a_staff_user_without_a_second_factor_to_set_one_up(client, db, settings):
    assert settings.AETHER_STAFF_SECOND_FACTOR  # the production default, which the tests run
    staff = UserFactory(email="root@acme.test", is_staff=True, is_superuser=True)
    assert client.get("/admin/")["Location"].startswith("/admin/login/")
    assert client.get("/admin/login/?next=/admin/")["Location"].startswith(reverse("accounts:login"))
    client.force_login(staff)
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("accounts:second_factor"))
    assert "Django admin asks staff for a second factor" in response.content.decode()


def test_admin_opens_once_the_session_passed_a_code(client, enrolled):
    user, device, _ = enrolled
    user.is_staff = user.is_superuser = True
    user.save()
    client.post(reverse("accounts:login"), {"username": user.email, "password": PASSWORD, "next": "/admin/"})
    response = client.post(reverse("accounts:second_factor_verify"), {"code": next_code(device)})
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_with_the_setting_off_staff_open_admin_with_the_password(client, db, settings):
    settings.AETHER_STAFF_SECOND_FACTOR = False
    client.force_login(UserFactory(email="root@acme.test", is_staff=True, is_superuser=True))
    assert client.get("/admin/").status_code == 200


def test_the_demo_sign_in_page_says_the_demo_admin_is_exempt(client, db, settings):
    settings.DEBUG = True
    settings.AETHER_STAFF_SECOND_FACTOR = False  # what `make run` has
    email = next(p[0] for p in DEMO_PEOPLE if p[4])
    UserFactory(email=email, is_staff=True)
    page = client.get(reverse("accounts:login")).content.decode()
    assert "exempt from the second factor in this local run" in page
