"""The second factor in a real browser: a member sets it up from the profile (scans the QR code: here, types the
key the page shows into an authenticator, pyotp), gets the recovery codes; a staff user signs in with a code and
opens Django admin. No console error (a CSP violation would be one)."""

import pyotp
import pytest
from playwright.sync_api import expect

from accounts.tests.factories import MembershipFactory, TeamFactory, UserFactory
from tasks.tests.test_browser import PASSWORD, browser, site, tabs  # noqa: F401 - the web UI tests' fixtures

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_member_sets_up_a_second_factor_and_signs_in_with_it(tabs, transactional_db):  # noqa: F811
    team = TeamFactory(name="Acme")
    MembershipFactory(team=team, user=UserFactory(email="mia@acme.test", full_name="Mia", password=PASSWORD))
    tab = tabs()
    tab.sign_in("mia@acme.test")
    page = tab.go("/accounts/profile/")
    page.get_by_role("link", name="Set up a second factor").click()
    page.get_by_role("button", name="Set up").click()
    expect(page.locator("#second-factor-qr svg")).to_be_visible()
    app = pyotp.TOTP(page.locator("#second-factor-key").inner_text().replace(" ", ""))
    page.get_by_role("textbox", name="Code").fill(app.now())
    page.get_by_role("button", name="Turn it on").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    assert page.locator("#recovery-codes li").count() == 10

    signed_out = tabs()
    page = signed_out.go("/accounts/login/")
    page.get_by_label("Email address").fill("mia@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your code")).to_be_visible()
    page.get_by_role("textbox", name="Code").fill(tab.page.locator("#recovery-codes li").first.inner_text())
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My work")).to_be_visible()
    assert tab.problems == signed_out.problems == []


def test_a_staff_user_signs_in_with_a_code_and_opens_admin(tabs, transactional_db):  # noqa: F811
    from django_otp.plugins.otp_totp.models import TOTPDevice

    root = UserFactory(email="root@example.test", full_name="Root", password=PASSWORD, is_staff=True, is_superuser=True)
    device = TOTPDevice.objects.create(user=root, name="phone", confirmed=True)
    import base64

    app = pyotp.TOTP(base64.b32encode(device.bin_key).decode())

    tab = tabs()
    page = tab.go("/admin/")
    expect(page.get_by_role("heading", name="Sign in to Aether")).to_be_visible()
    page.get_by_label("Email address").fill("root@example.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your code")).to_be_visible()
    page.get_by_role("textbox", name="Code").fill(app.now())
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    assert tab.problems == []
