"""Django admin's task and stage actions in a real browser: the buttons on one task's and one stage's page,
and the actual-hours page of "Complete", without a console error (a CSP violation would be one)."""

import os

import pytest
from playwright.sync_api import expect

from accounts.tests.factories import MembershipFactory, TeamFactory, UserFactory
from tasks import services
from tasks.models import Status
from tasks.tests.factories import ProjectFactory
from tasks.tests.test_browser import PASSWORD, browser, site, tabs  # noqa: F401 - the web UI tests' fixtures


def authenticator_of(user):
    """An authenticator app set up for `user` (a confirmed TOTP device), as pyotp computes its codes."""
    import base64

    import pyotp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return pyotp.TOTP(base64.b32encode(device.bin_key).decode())


pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_an_admin_moves_a_task_and_completes_a_stage_with_its_hours(tabs, transactional_db):  # noqa: F811
    team = TeamFactory(name="Acme")
    member = UserFactory(email="mia@acme.test", full_name="Mia Member")
    MembershipFactory(team=team, user=member, role="member")
    root = UserFactory(email="root@example.test", full_name="Root", password=PASSWORD, is_staff=True, is_superuser=True)
    task, _ = services.task_create(
        actor=member,
        project=ProjectFactory(team=team, name="Launch"),
        title="Ship it",
        stages=[{"name": "Design", "estimated_hours": 4}],
    )
    stage = task.stages.get()

    tab = tabs()
    missing = []  # admin pages link no favicon, so the browser's own /favicon.ico request is a 404
    tab.page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    app = authenticator_of(root)
    page = tab.go("/admin/")  # admin's sign-in is the site's, with the second factor staff are asked for
    page.get_by_label("Email address").fill("root@example.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("textbox", name="Code").fill(app.now())
    page.get_by_role("button", name="Sign in").click()

    page = tab.go(f"/admin/tasks/task/{task.pk}/change/")
    page.get_by_role("button", name="Move to in progress").click()
    expect(page.get_by_text("Moved 1 task(s) to in progress.")).to_be_visible()
    expect(page.get_by_role("button", name="Move to pending")).to_be_visible()
    if os.environ.get("AETHER_SCREENSHOTS"):
        page.screenshot(path="/tmp/admin-task.png", full_page=True)

    page = tab.go(f"/admin/tasks/stage/{stage.pk}/change/")
    page.get_by_role("button", name="Complete").click()
    page.get_by_label("Ship it — 1. Design").fill("3.5")
    if os.environ.get("AETHER_SCREENSHOTS"):
        page.screenshot(path="/tmp/admin-stage-hours.png", full_page=True)
    page.get_by_role("button", name="Complete").click()
    expect(page.get_by_text("Completed 1 stage(s).")).to_be_visible()

    task.refresh_from_db()
    assert task.status == Status.COMPLETED
    assert [a.verb for a in task.activities.order_by("pk")] == [
        "created",
        "stage_started",
        "status_changed",
        "stage_completed",
        "completed",
    ]
    assert [url.rsplit("/", 1)[-1] for url in missing] == ["favicon.ico"] * len(missing)
    assert [p for p in tab.problems if "status of 404" not in p] == []
