"""The web UI in a real browser: Debian's chromium driven by Playwright against pytest-django's live server.

Run with the rest of the suite (`make test` installs chromium); select them alone with `-m browser`.
Set AETHER_SCREENSHOTS=1 to (re)write the README's screenshots under docs/screenshots/.
"""

from __future__ import annotations

import os
import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect, sync_playwright

from accounts.models import Role
from accounts.tests.factories import MembershipFactory, TeamFactory, UserFactory
from tasks.models import Comment, Stage, Status, Task
from tasks.tests.a11y import watch_csp
from tasks.tests.factories import ProjectFactory, StageFactory, TaskFactory, TemplateFactory, TemplateStageFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "Browser-pw-2024"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="module")
def browser():
    if not shutil.which("chromium"):
        pytest.fail("The browser tests need Debian's chromium: `make browser` (or apt-get install chromium).")
    # Playwright's sync API runs an event loop in this thread; Django would refuse ORM calls from it.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=shutil.which("chromium"),
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def site(live_server, transactional_db):
    return live_server.url


class Tab:
    """A browser page that records console errors (a CSP violation is one: watch_csp), uncaught errors and
    dialogs."""

    def __init__(self, browser, base: str, width: int = 1280):
        self.context = browser.new_context(viewport={"width": width, "height": 900})
        watch_csp(self.context)  # a CSP violation is a console error, so a problem (tasks/tests/a11y.py)
        self.page: Page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.base = base
        self.problems: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", lambda m: self.problems.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.problems.append(str(e)))
        self.page.on("dialog", self._dialog)

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def go(self, path: str):
        self.page.goto(self.base + path)
        return self.page

    def sign_in(self, email: str, password: str = PASSWORD):
        page = self.go("/accounts/login/")
        page.get_by_label("Email address").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="My work")).to_be_visible()

    def close(self):
        self.context.close()


@pytest.fixture
def tabs(browser, site):
    opened: list[Tab] = []

    def open_tab(width: int = 1280) -> Tab:
        tab = Tab(browser, site, width)
        opened.append(tab)
        return tab

    yield open_tab
    for tab in opened:
        tab.close()


@pytest.fixture
def acme(transactional_db):
    team = TeamFactory(name="Acme")
    member = UserFactory(email="mia@acme.test", full_name="Mia Member", password=PASSWORD)
    viewer = UserFactory(email="vic@acme.test", full_name="Vic Viewer", password=PASSWORD)
    MembershipFactory(team=team, user=member, role=Role.MEMBER)
    MembershipFactory(team=team, user=viewer, role=Role.VIEWER)
    project = ProjectFactory(team=team, name="Apollo")
    template = TemplateFactory(team=team, name="Release")
    TemplateStageFactory(template=template, order=1, name="Build", estimated_hours=Decimal("3"))
    TemplateStageFactory(template=template, order=2, name="Ship", estimated_hours=Decimal("1"))
    return {"team": team, "member": member, "viewer": viewer, "project": project, "template": template}


def test_member_runs_a_task_from_template_to_completed_and_comments(tabs, acme):
    tab = tabs()
    tab.sign_in("mia@acme.test")
    page = tab.go(f"/projects/{acme['project'].pk}/")
    page.get_by_role("link", name="New task").click()
    page.get_by_label("Title").fill("Launch 1.0")
    page.get_by_label("Template").select_option(label="Release")
    page.get_by_label("Assignee").select_option(label="Mia Member")
    page.get_by_role("button", name="Create task").click()
    expect(page.get_by_role("heading", name="Launch 1.0")).to_be_visible()
    task = Task.objects.get(title="Launch 1.0")
    assert [s.name for s in task.stages.order_by("order")] == ["Build", "Ship"]

    for stage, hours in zip(task.stages.order_by("order"), ("2.5", "1.25"), strict=True):
        row = page.locator(f"#stage-{stage.pk}")
        row.get_by_role("button", name=f"Start {stage.name}").click()
        expect(row.locator(".status")).to_have_text("In progress")
        expect(page.locator("#task-status")).to_have_text("In progress")
        row.get_by_label(f"Actual hours for {stage.name}").fill(hours)
        row.get_by_role("button", name=f"Complete {stage.name}").click()
        expect(row.locator(".status")).to_have_text("Completed")
    expect(page.locator("#task-status")).to_have_text("Completed")
    assert list(Stage.objects.filter(task=task).order_by("order").values_list("actual_hours", flat=True)) == [
        Decimal("2.50"),
        Decimal("1.25"),
    ]

    page.get_by_role("link", name="Apollo").click()
    completed = page.locator('[data-column="completed"]')
    expect(completed.get_by_role("link", name="Launch 1.0")).to_be_visible()
    expect(completed.locator(f'[data-card="{task.pk}"] .progress')).to_have_text("2/2 stages")

    completed.get_by_role("link", name="Launch 1.0").click()
    page.get_by_role("textbox", name="Comment").fill("Shipped <b>on time</b>!")
    page.get_by_role("button", name="Post comment").click()
    comment = page.locator(".comment").last
    expect(comment).to_contain_text("Shipped <b>on time</b>!")
    assert Comment.objects.get(task=task).body == "Shipped <b>on time</b>!"
    expect(page.locator("#history")).to_contain_text("completed stage 2 “Ship” in 1.25 h")
    assert tab.problems == []


def test_a_card_dragged_to_another_column_moves(tabs, acme):
    task = TaskFactory(project=acme["project"], title="Drag me", created_by=acme["member"])
    tab = tabs()
    tab.sign_in("mia@acme.test")
    page = tab.go(f"/projects/{acme['project'].pk}/")
    page.locator(f'[data-card="{task.pk}"]').drag_to(page.locator('[data-column="in_progress"]'))
    expect(page.locator(f'[data-column="in_progress"] [data-card="{task.pk}"]')).to_be_visible()
    expect(page.locator(".flash")).to_contain_text("is now in progress")
    task.refresh_from_db()
    assert task.status == Status.IN_PROGRESS
    assert tab.problems == []


def test_viewer_reads_the_task_without_edit_controls_and_a_forged_post_is_refused(tabs, acme):
    task = TaskFactory(project=acme["project"], title="Read only", created_by=acme["member"])
    stage = StageFactory(task=task, order=1, name="Only stage")
    tab = tabs()
    tab.sign_in("vic@acme.test")
    page = tab.go(f"/tasks/{task.pk}/")
    expect(page.get_by_role("heading", name="Read only")).to_be_visible()
    expect(page.get_by_text("Only stage")).to_be_visible()
    assert page.locator("main form").count() == 0
    assert page.locator("main button").count() == 0
    page = tab.go(f"/projects/{acme['project'].pk}/")
    expect(page.get_by_role("link", name="Read only")).to_be_visible()
    assert page.locator("main form, main [draggable=true]").count() == 0
    expect(page.get_by_role("link", name="New task")).to_have_count(0)

    # A forged request, with a valid CSRF token from the viewer's own page, is refused by the server.
    statuses = page.evaluate(
        """async (urls) => {
            const token = JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
            const out = [];
            for (const [url, body] of urls) {
                const headers = {"X-CSRFToken": token};
                const r = await fetch(url, {method: "POST", headers, body: new URLSearchParams(body)});
                out.push(r.status);
            }
            return out;
        }""",
        [
            [f"/stages/{stage.pk}/start/", {}],
            [f"/tasks/{task.pk}/status/", {"status": "completed"}],
            [f"/tasks/{task.pk}/comments/", {"body": "sneaky"}],
        ],
    )
    assert statuses == [403, 403, 403]
    stage.refresh_from_db()
    task.refresh_from_db()
    assert (stage.status, task.status, task.comments.count()) == (Status.PENDING, Status.PENDING, 0)


def test_a_script_in_a_title_is_shown_as_text(tabs, acme):
    title = "<script>alert(1)</script>"
    task = TaskFactory(project=acme["project"], title=title, created_by=acme["member"], assignee=acme["member"])
    tab = tabs()
    tab.sign_in("mia@acme.test")
    expect(tab.page.get_by_role("link", name=title)).to_be_visible()  # My work
    page = tab.go(f"/projects/{acme['project'].pk}/")
    expect(page.get_by_role("link", name=title)).to_be_visible()
    page = tab.go(f"/tasks/{task.pk}/")
    expect(page.get_by_role("heading", name=title)).to_have_text(title)
    page.get_by_role("textbox", name="Comment").fill('<img src=x onerror="alert(2)">')
    page.get_by_role("button", name="Post comment").click()
    expect(page.locator(".comment").last).to_contain_text('<img src=x onerror="alert(2)">')
    assert tab.dialogs == []
    assert tab.problems == []


def test_keyboard_users_sign_in_and_start_at_the_skip_link(tabs, acme):
    tab = tabs()
    page = tab.go("/accounts/login/")
    expect(page.get_by_label("Email address")).to_be_focused()  # the form starts where the typing starts
    page.keyboard.type("mia@acme.test")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="My work")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Aether")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="My work")).to_be_focused()


def test_main_pages_fit_a_phone_and_load_without_errors(tabs):
    """On the demo data: My work, a board and a task page, at desktop and phone widths. With
    AETHER_SCREENSHOTS=1 this also writes the README's screenshots."""
    call_command("seed_demo", verbosity=0)
    bob_task = Task.objects.filter(assignee__email="bob@example.com", status=Status.IN_PROGRESS).order_by("pk").first()
    project = bob_task.project
    write = os.environ.get("AETHER_SCREENSHOTS") == "1"
    for width, suffix in ((1280, ""), (390, "-phone")):
        tab = tabs(width)
        tab.sign_in("bob@example.com", "aether-demo")
        for name, path in (
            ("my-work", "/my-work/"),
            ("board", f"/projects/{project.pk}/"),
            ("task", f"/tasks/{bob_task.pk}/"),
        ):
            page = tab.go(path)
            expect(page.locator("main h1")).to_be_visible()
            if name == "task" and width > 1000:
                # Some work on the task first, so that its page shows a comment and a history.
                stage = bob_task.stages.filter(status=Status.IN_PROGRESS).first()
                row = page.locator(f"#stage-{stage.pk}")
                row.get_by_label(f"Actual hours for {stage.name}").fill("6.5")
                row.get_by_role("button", name=f"Complete {stage.name}").click()
                expect(row.locator(".status")).to_have_text("Completed")
                before = bob_task.comments.count()  # the demo's conversation may be on it already
                page.get_by_role("textbox", name="Comment").fill("Implementation is done; testing starts tomorrow.")
                page.get_by_role("button", name="Post comment").click()
                expect(page.locator(".comment")).to_have_count(before + 1)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{path} is {overflow}px wider than a {width}px screen"
            if write:
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SCREENSHOTS / f"{name}{suffix}.png"), full_page=width > 1000)
        assert [p for p in tab.problems if not re.search(r"favicon", p)] == []
