"""The first-day UI in a real browser (Debian's chromium through Playwright, as tasks/tests/test_browser.py):
a card dropped on Completed asks its stages' hours, the card menu without JS, the keyboard shortcuts, the
phone layout (navigation and filters fold), dark mode readable on every page, the trashed-task page and a
template's stage rows changed in place.

With AETHER_SCREENSHOTS=1 the dark-mode test also writes the README's dark screenshots."""

from __future__ import annotations

import os
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from tasks.models import Stage, Status, Task, Template
from tasks.tests import test_browser
from tasks.tests.a11y import axe_violations, watch_csp
from tasks.tests.factories import StageFactory, TaskFactory
from tasks.tests.test_browser import SCREENSHOTS, Tab

# The browser tests' fixtures (one chromium a module, the live server, the Acme team), used here too.
browser, site, acme = test_browser.browser, test_browser.site, test_browser.acme

pytestmark = [pytest.mark.browser, pytest.mark.slow]


class OptionsTab(Tab):
    """A Tab whose browser context takes Playwright's options (color_scheme, java_script_enabled, ...)."""

    def __init__(self, browser, base: str, width: int = 1280, **options):
        super().__init__(browser, base, width)
        self.context.close()
        self.context = browser.new_context(viewport={"width": width, "height": 900}, **options)
        watch_csp(self.context)
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.page.on("console", lambda m: self.problems.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.problems.append(str(e)))
        self.page.on("dialog", self._dialog)


@pytest.fixture
def tabs(browser, site):
    opened: list[Tab] = []

    def open_tab(width: int = 1280, **options) -> Tab:
        tab = OptionsTab(browser, site, width, **options)
        opened.append(tab)
        return tab

    yield open_tab
    for tab in opened:
        tab.close()


@pytest.fixture
def staged(acme):
    task = TaskFactory(project=acme["project"], title="Ship it", created_by=acme["member"])
    StageFactory(task=task, order=1, name="Build", estimated_hours=Decimal("3"))
    StageFactory(task=task, order=2, name="Release", estimated_hours=Decimal("1"))
    return task


def test_dropping_a_card_with_open_stages_on_completed_asks_their_hours_and_completes_it(tabs, acme, staged):
    tab = tabs()
    tab.sign_in("mia@acme.test")
    page = tab.go(f"/projects/{acme['project'].pk}/")
    card = page.locator(f'[data-card="{staged.pk}"]')
    card.drag_to(page.locator('[data-column="completed"]'))

    dialog = page.locator("#complete-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading", name="Complete “Ship it”")).to_be_visible()
    build = dialog.get_by_label("Build")
    expect(build).to_be_focused()
    build.fill("2.5")
    dialog.get_by_role("button", name="Complete the task").click()
    # the Release stage is missing: refused in the dialog, by its field, and nothing written
    expect(dialog.locator(".field-error")).to_have_text("Enter the actual hours of “Release”.")
    assert Stage.objects.filter(task=staged, status=Status.COMPLETED).count() == 0
    dialog.get_by_label("Release").fill("1.25")
    dialog.get_by_role("button", name="Complete the task").click()

    expect(page.locator(f'[data-column="completed"] [data-card="{staged.pk}"]')).to_be_visible()
    expect(page.locator(".flash")).to_contain_text("is now completed")
    expect(dialog).to_have_count(1)
    expect(page.locator("#complete-dialog[open]")).to_have_count(0)
    staged.refresh_from_db()
    assert staged.status == Status.COMPLETED
    assert list(staged.stages.order_by("order").values_list("actual_hours", flat=True)) == [
        Decimal("2.50"),
        Decimal("1.25"),
    ]
    assert [p for p in tab.problems if "422 (Unprocessable" not in p] == []  # the refusal was one


def test_a_card_cannot_be_dropped_where_its_menu_offers_nothing(tabs, acme, staged):
    member = acme["member"]
    from tasks import services

    services.stage_start(actor=member, stage=staged.stages.get(order=1))  # begun: no way back to pending
    tab = tabs()
    tab.sign_in("mia@acme.test")
    page = tab.go(f"/projects/{acme['project'].pk}/")
    card = page.locator(f'[data-card="{staged.pk}"]')
    expect(card).to_have_attribute("data-moves", "completed")
    card.drag_to(page.locator('[data-column="pending"]'))
    expect(page.locator(f'[data-column="in_progress"] [data-card="{staged.pk}"]')).to_be_visible()
    expect(page.locator(".flash")).to_have_count(0)  # nothing was posted, so nothing was refused
    staged.refresh_from_db()
    assert staged.status == Status.IN_PROGRESS
    assert tab.problems == []


def test_the_card_menu_and_the_hours_form_work_without_javascript(tabs, acme, staged):
    plain = TaskFactory(project=acme["project"], title="Plain one", created_by=acme["member"])
    tab = tabs(java_script_enabled=False)
    tab.sign_in("mia@acme.test")
    page = tab.go(f"/projects/{acme['project'].pk}/")
    plain_card = page.locator(f'[data-card="{plain.pk}"]')
    plain_card.get_by_text("Move").click()
    plain_card.get_by_role("button", name="In progress").click()
    expect(page.locator(f'[data-column="in_progress"] [data-card="{plain.pk}"]')).to_be_visible()

    card = page.locator(f'[data-card="{staged.pk}"]')
    card.get_by_text("Move").click()
    card.get_by_role("link", name="Completed…").click()
    expect(page.get_by_role("heading", name="Complete “Ship it”", exact=True).first).to_be_visible()
    page.get_by_label("Build").fill("3")
    page.get_by_label("Release").fill("1")
    page.get_by_role("button", name="Complete the task").click()
    expect(page.locator(f'[data-column="completed"] [data-card="{staged.pk}"]')).to_be_visible()
    staged.refresh_from_db()
    assert staged.status == Status.COMPLETED


def test_keyboard_shortcuts(tabs, acme):
    project = acme["project"]
    tasks = [TaskFactory(project=project, title=f"Row {i}", created_by=acme["member"]) for i in range(3)]
    tab = tabs()
    tab.sign_in("mia@acme.test")
    page = tab.go(f"/projects/{project.pk}/list/")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(3)

    page.keyboard.press("j")
    expect(rows.nth(0)).to_have_class("is-current")
    expect(rows.nth(0).get_by_role("link")).to_be_focused()
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    expect(rows.nth(1)).to_have_class("is-current")
    second = rows.nth(1).get_by_role("link").inner_text()

    # never while typing: j in a filter field is a letter
    page.get_by_label("Search", exact=True).fill("")
    page.get_by_label("Search", exact=True).press("j")
    expect(page.get_by_label("Search", exact=True)).to_have_value("j")
    expect(rows.nth(1)).to_have_class("is-current")

    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("?")
    shortcuts = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(shortcuts).to_be_visible()
    expect(shortcuts).to_contain_text("New task")
    page.keyboard.press("Escape")
    expect(shortcuts).to_be_hidden()

    # / focuses the top bar's search box
    page.keyboard.press("/")
    expect(page.locator("#search")).to_be_focused()
    page.keyboard.press("Escape")
    page.locator("#search").evaluate("el => el.blur()")

    page.keyboard.press("j")  # on from where it was: the third row, then back to the second
    page.keyboard.press("k")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=second)).to_be_visible()
    assert page.url.endswith(f"/tasks/{Task.objects.get(title=second).pk}/")

    page.keyboard.press("c")  # no quick add on the task page: the palette's "New task in …" (the page stays)
    expect(page.locator("#search")).to_be_focused()
    expect(page.locator("#palette").get_by_role("option", name="New task in Apollo")).to_be_visible()
    page.keyboard.press("Escape")
    page = tab.go(f"/projects/{project.pk}/")
    page.keyboard.press("j")
    expect(page.locator(f'[data-card="{tasks[-1].pk}"], [data-card="{tasks[0].pk}"]').first).to_be_visible()
    expect(page.locator(".task-card.is-current")).to_have_count(1)
    page.keyboard.press("c")
    expect(page.get_by_label("New task", exact=True)).to_be_focused()  # the title of a new task, in the page
    assert tab.problems == []


def test_on_a_phone_the_navigation_and_the_filters_fold(tabs, acme, staged):
    tab = tabs(390)
    tab.sign_in("mia@acme.test")
    page = tab.go(f"/projects/{acme['project'].pk}/list/")
    nav = page.get_by_role("navigation", name="Main")
    menu = page.get_by_role("button", name="Menu")
    expect(nav).to_be_hidden()
    expect(menu).to_have_attribute("aria-expanded", "false")
    menu.click()
    expect(nav.get_by_role("link", name="Templates")).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "true")

    filters = page.get_by_role("search", name="Filter the tasks")
    toggle = page.get_by_role("button", name="Filters")
    expect(filters).to_be_hidden()
    toggle.click()
    expect(filters.get_by_label("Status")).to_be_visible()
    filters.get_by_label("Status").select_option("pending")
    filters.get_by_role("button", name="Apply").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.get_by_role("button", name="Filters")).to_contain_text("on")
    # the sorts stay reachable: the headers show as a row of links
    expect(page.get_by_role("link", name="Due")).to_be_visible()

    page = tab.go(f"/projects/{acme['project'].pk}/")
    hint = page.locator(".hint")
    expect(hint).to_be_visible()
    assert "drag" not in hint.inner_text().lower()
    for path in ("/my-work/", f"/projects/{acme['project'].pk}/", f"/projects/{acme['project'].pk}/list/"):
        page = tab.go(path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} is {overflow}px wider than the phone"
    assert tab.problems == []

    desktop = tabs(1280)
    desktop.sign_in("mia@acme.test")
    page = desktop.go(f"/projects/{acme['project'].pk}/")
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    assert "drag it to another column" in page.locator(".hint").inner_text()


# Each visible text's contrast with the background it is drawn on (the first opaque one up the tree), by
# WCAG's formula; large or bold-large text needs 3:1, the rest 4.5:1. Disabled controls are exempt.
CONTRAST_FAILURES = """() => {
  const parse = (c) => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const p = m[1].split(',').map(Number); return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; };
  const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const background = (el) => { for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor); if (c && c.a > 0.5) return c; }
    return {r: 255, g: 255, b: 255, a: 1}; };
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    if (!walker.currentNode.textContent.trim() || seen.has(el)) continue;
    seen.add(el);
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    if (box.width < 2 || box.height < 2 || style.visibility === 'hidden') continue;
    if (el.closest('[hidden], .sr-only, .skip, .disabled, [disabled], template')) continue;
    if (el.closest('dialog:not([open]), details:not([open]) > :not(summary)')) continue;
    const fg = parse(style.color), bg = background(el);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    const text = el.textContent.trim().slice(0, 30);
    if (ratio < need) out.push(`${el.tagName.toLowerCase()}.${el.className} "${text}" ${ratio.toFixed(2)}`);
  }
  return out;
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_is_readable_in_light_and_dark(tabs, scheme):
    """On the demo data, each page in the system's light and dark settings, at desktop and phone width: every
    text meets WCAG AA contrast, and axe-core (WCAG 2.1 AA and best practice, tasks/tests/a11y.py) finds no
    violation; the palette, a shortcut list and a signed-out page too. With AETHER_SCREENSHOTS=1 the dark run
    writes the README's dark screenshots."""
    call_command("seed_demo", verbosity=0)
    bob_task = Task.objects.filter(assignee__email="bob@example.com", status=Status.IN_PROGRESS).order_by("pk").first()
    project = bob_task.project
    trashed = Task.objects.filter(project=project).exclude(pk=bob_task.pk).order_by("pk").first()
    Task.objects.filter(pk=trashed.pk).update(deleted_at=timezone.now())
    template = Template.objects.filter(team=project.team).order_by("pk").first()
    write = os.environ.get("AETHER_SCREENSHOTS") == "1" and scheme == "dark"
    violations: dict[str, list[str]] = {}
    for width, suffix in ((1280, ""), (375, "-phone")):
        # axe in light and dark at desktop width and in light at phone width (the dark phone run keeps the
        # contrast check, which is what the dark colours change): a third of the walk's time less.
        run_axe = axe_violations if (width > 1000 or scheme == "light") else (lambda page: [])
        tab = tabs(width, color_scheme=scheme)
        page = tab.go("/accounts/login/")
        violations[f"sign-in {width}"] = run_axe(page)
        tab.sign_in("alice@example.com", "aether-demo")
        pages = [
            ("my-work", "/my-work/"),
            ("board", f"/projects/{project.pk}/"),
            ("list", f"/projects/{project.pk}/list/"),
            ("task", f"/tasks/{bob_task.pk}/"),
            ("task-complete", f"/tasks/{bob_task.pk}/complete/"),
            ("new-task", f"/projects/{project.pk}/tasks/new/"),
            ("project-edit", f"/projects/{project.pk}/edit/"),
            ("projects", "/projects/"),
            ("templates", "/templates/"),
            ("template-form", f"/templates/{template.pk}/edit/"),
            ("trashed", f"/tasks/{trashed.pk}/"),
            ("trash", "/trash/"),
            ("archive", "/archive/"),
            ("not-found", "/no-such-page/"),
            ("search", "/search/?q=api"),
            ("team", "/accounts/teams/"),
            ("team-page", f"/accounts/teams/{project.team_id}/"),
            ("notifications", "/notifications/"),
            ("preferences", "/notifications/preferences/"),
            ("calendar", "/calendar/"),
            ("profile", "/accounts/profile/"),
            ("dashboard", "/dashboard/"),  # the team's (an owner lands there)
            ("dashboard-mine", "/dashboard/?team="),
        ]
        for name, path in pages:
            page = tab.go(path)
            expect(page.locator("main h1").first).to_be_visible()
            background = page.evaluate("getComputedStyle(document.body).backgroundColor")
            assert (background == "rgb(13, 17, 23)") == (scheme == "dark"), (path, background)
            failures = page.evaluate(CONTRAST_FAILURES)
            assert failures == [], f"{scheme} {path} at {width}px: {failures}"
            violations[f"{name} {width}"] = run_axe(page)
            if write and name in ("my-work", "board", "task", "calendar"):
                page.screenshot(path=str(SCREENSHOTS / f"{name}-dark{suffix}.png"), full_page=width > 1000)
        page = tab.go(f"/projects/{project.pk}/")
        page.keyboard.press("?")
        expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
        assert page.evaluate(CONTRAST_FAILURES) == []
        violations[f"shortcuts {width}"] = run_axe(page)
        page.keyboard.press("Escape")
        page.keyboard.press("Control+k")
        page.keyboard.type("a")
        expect(page.locator("#palette [role=option]").first).to_be_visible()
        assert page.evaluate(CONTRAST_FAILURES) == []
        violations[f"palette {width}"] = run_axe(page)
        assert [p for p in tab.problems if "favicon" not in p and "404" not in p] == []
    failing = {k: v for k, v in violations.items() if v}
    assert failing == {}, f"axe-core, {scheme}: {failing}"


def test_a_link_to_a_trashed_task_offers_restore_to_a_member(tabs, acme):
    task = TaskFactory(project=acme["project"], title="Old plan", created_by=acme["member"])
    Task.objects.filter(pk=task.pk).update(deleted_at=timezone.now())
    viewer = tabs()
    viewer.sign_in("vic@acme.test")
    page = viewer.go(f"/tasks/{task.pk}/")
    expect(page.get_by_role("heading", name="Old plan")).to_be_visible()
    expect(page.get_by_text("This task is in the trash.")).to_be_visible()
    expect(page.get_by_role("button", name="Restore “Old plan”")).to_have_count(0)

    tab = tabs()
    tab.sign_in("mia@acme.test")
    page = tab.go(f"/tasks/{task.pk}/")
    expect(page.get_by_role("heading", name="Old plan")).to_be_visible()
    page.get_by_role("button", name="Restore “Old plan”").click()
    expect(page.locator(".flash")).to_contain_text("was restored")
    expect(page.locator("#task-status")).to_be_visible()  # the task's own page now
    task.refresh_from_db()
    assert task.deleted_at is None
    assert [p for p in tab.problems if "404 (Not Found)" not in p] == []  # the trashed page is a 404


def test_template_stage_rows_are_added_moved_and_removed_in_place(tabs, acme):
    from accounts.models import Membership, Role

    Membership.objects.filter(user=acme["member"]).update(role=Role.ADMIN)
    tab = tabs()
    tab.sign_in("mia@acme.test")
    page = tab.go(f"/templates/{acme['template'].pk}/edit/")
    rows = page.locator("[data-rows] > [data-row]")
    start = rows.count()
    assert [rows.nth(i).locator('input[name$="-name"]').input_value() for i in range(2)] == ["Build", "Ship"]
    url = page.url
    page.get_by_role("button", name="Add a stage").click()
    expect(rows).to_have_count(start + 1)
    expect(rows.last.locator('input[name$="-name"]')).to_be_focused()
    assert page.url == url  # no round trip
    rows.last.locator('input[name$="-name"]').fill("Announce")
    rows.last.locator('input[name$="-estimated_hours"]').fill("0.5")
    for n in range(start + 1, 3, -1):  # up, above the blank rows, to place 3
        page.get_by_role("button", name=f"Move stage {n} up").click()
    expect(rows.nth(2).locator('input[name$="-name"]')).to_have_value("Announce")
    page.get_by_role("button", name="Move stage 1 down").click()  # Build below Ship
    page.get_by_role("button", name=f"Remove stage {start + 1}").click()
    expect(rows).to_have_count(start)
    page.get_by_role("button", name="Save template").last.click()
    expect(page.get_by_role("heading", name="Templates")).to_be_visible()
    assert list(acme["template"].stages.order_by("order").values_list("name", flat=True)) == [
        "Ship",
        "Build",
        "Announce",
    ]
    assert tab.problems == []
