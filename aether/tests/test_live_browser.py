"""Live pages in a real browser (chromium through Playwright), served over ASGI as the web process serves them:
two teammates on one board see each other's committed changes without reloading; a third, removed from the
team meanwhile, sees neither. pytest-django's live_server speaks WSGI only, so here uvicorn serves
aether/asgi.py's application in a thread, on the test database."""

from __future__ import annotations

import threading
import time

import pytest
from playwright.sync_api import expect

from accounts.services.teams import membership_remove
from accounts.tests.factories import MembershipFactory, TeamFactory, UserFactory
from aether.testing import free_port, wait_for
from tasks.models import Status
from tasks.tests.factories import ProjectFactory, TaskFactory
from tasks.tests.test_browser import PASSWORD, Tab, browser  # noqa: F401 (the browser fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SEEN_WITHIN = 2_000  # ms: the promise (#23)


@pytest.fixture
def asgi_site(transactional_db, settings):
    import uvicorn
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
    from django.core.asgi import get_asgi_application

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "127.0.0.1"]
    # Each request runs in a thread of its own: let each give its connection back as it ends, as the web
    # process's pool does (DATABASE_POOL), rather than leave one per thread open on the test database.
    database = settings.DATABASES["default"]
    max_age, database["CONN_MAX_AGE"] = database["CONN_MAX_AGE"], 0
    port = free_port()
    config = uvicorn.Config(
        ASGIStaticFilesHandler(get_asgi_application()), host="127.0.0.1", port=port, lifespan="off", log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, 15, "uvicorn")
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    database["CONN_MAX_AGE"] = max_age


@pytest.fixture
def tabs(browser, asgi_site):  # noqa: F811
    opened: list[Tab] = []

    def open_tab() -> Tab:
        tab = Tab(browser, asgi_site)
        opened.append(tab)
        return tab

    yield open_tab
    for tab in opened:
        tab.close()


def card(page, title):
    return page.locator("[data-card]", has_text=title)


def test_teammates_see_a_move_and_a_comment_and_a_removed_member_sees_neither(tabs):
    team = TeamFactory(name="Acme")
    people = {
        name: MembershipFactory(
            team=team,
            role="owner" if name == "olga" else "member",
            user=UserFactory(email=f"{name}@acme.test", full_name=name.title(), password=PASSWORD),
        ).user
        for name in ("olga", "mia", "rex")
    }
    project = ProjectFactory(team=team, name="Launch")
    task = TaskFactory(project=project, title="Write the brief", created_by=people["olga"], status=Status.PENDING)

    views = {}
    for name in ("mia", "rex"):
        board, detail = tabs(), tabs()
        board.sign_in(f"{name}@acme.test")
        detail.sign_in(f"{name}@acme.test")
        board.go(f"/projects/{project.pk}/")
        detail.go(f"/tasks/{task.pk}/")
        views[name] = (board, detail)
    mia_board, mia_task = views["mia"]
    rex_board, rex_task = views["rex"]
    expect(card(mia_board.page, "Write the brief")).to_have_attribute("data-status", "pending")
    # Mia is typing a comment of her own, and has scrolled: neither is lost when the page changes under her
    mia_task.page.locator("#comments textarea[name=body]").last.fill("My draft, not sent")
    for page in (mia_board.page, mia_task.page, rex_board.page, rex_task.page):
        wait_for(lambda page=page: page.evaluate("document.querySelector('[data-live]') !== null"), 5, "live page")
    time.sleep(0.5)  # the streams are open (EventSource connects after the page's scripts ran)

    membership_remove(actor=people["olga"], team=team, user=people["rex"])  # Rex leaves meanwhile

    olga = tabs()
    olga.sign_in("olga@acme.test")
    page = olga.go(f"/projects/{project.pk}/")
    card(page, "Write the brief").locator("summary").click()
    card(page, "Write the brief").get_by_role("button", name="In progress").click()
    expect(card(page, "Write the brief")).to_have_attribute("data-status", "in_progress")
    moved_at = time.monotonic()
    expect(card(mia_board.page, "Write the brief")).to_have_attribute("data-status", "in_progress", timeout=SEEN_WITHIN)
    assert time.monotonic() - moved_at < SEEN_WITHIN / 1000

    page = olga.go(f"/tasks/{task.pk}/")
    page.locator("#comments textarea[name=body]").last.fill("Kick-off is on Monday")
    page.get_by_role("button", name="Post comment").click()
    expect(page.locator(".comment-body", has_text="Kick-off is on Monday")).to_be_visible()
    commented_at = time.monotonic()
    expect(mia_task.page.locator(".comment-body", has_text="Kick-off is on Monday")).to_be_visible(timeout=SEEN_WITHIN)
    assert time.monotonic() - commented_at < SEEN_WITHIN / 1000
    expect(mia_task.page.locator("#task-status")).to_have_text("In progress")
    assert mia_task.page.locator("#comments textarea[name=body]").last.input_value() == "My draft, not sent"

    time.sleep(SEEN_WITHIN / 1000)  # as long as Mia was given: Rex's pages stayed as they were
    expect(card(rex_board.page, "Write the brief")).to_have_attribute("data-status", "pending")
    expect(rex_task.page.locator(".comment-body", has_text="Kick-off is on Monday")).to_have_count(0)
    expect(rex_task.page.locator("#task-status")).to_have_text("Pending")

    for tab in (mia_board, mia_task, olga):
        assert tab.problems == [], tab.problems  # a CSP violation would be one
