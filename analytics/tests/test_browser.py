"""The dashboard in a real browser (Debian's chromium through Playwright, the fixtures of
tasks/tests/test_browser.py): the charts are drawn under the strict CSP with whole-number count axes and every
week present, it is readable and clean for axe-core in light and dark at 1280 px and on a 375 px phone (a page a
thumb can scroll, nothing cut off), the CSV button downloads the file, and a keyboard alone reaches every
control, the heatmap's scrolling region and the tasks behind a figure.

With AETHER_SCREENSHOTS=1 the readable test writes docs/screenshots/dashboard{,-dark,-phone}.png."""

from __future__ import annotations

import itertools
import os
from datetime import date

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from accounts.models import Team
from tasks.tests import test_browser
from tasks.tests.a11y import axe_violations
from tasks.tests.test_browser import SCREENSHOTS, Tab
from tasks.tests.test_browser_ui import CONTRAST_FAILURES, OptionsTab

browser, site, tabs = test_browser.browser, test_browser.site, test_browser.tabs

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHARTS = ("priority", "trend", "delay", "time", "daily", "stages", "throughput", "workload")
PHONE_PAGE_MAX = 7000  # px: the whole dashboard on a 375 px phone, numbers folded (it was 9,200 before)


def _luminance(colour: str) -> float:
    """WCAG relative luminance of "#rrggbb" or "rgb(r, g, b)"."""
    if colour.startswith("#"):
        rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    else:
        rgb = [int(part) for part in colour[colour.index("(") + 1 : colour.index(")")].split(",")[:3]]
    linear = [(c / 255) / 12.92 if c / 255 <= 0.03928 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.fixture
def demo(transactional_db):
    call_command("seed_demo", verbosity=0)  # demo tasks over the last months; seed_demo rebuilds the figures
    return Team.objects.get(slug="demo")


@pytest.fixture
def opened(browser, site):
    tabs = []

    def open_tab(scheme: str, width: int) -> OptionsTab:
        tab = OptionsTab(browser, site, width, color_scheme=scheme)
        tabs.append(tab)
        return tab

    yield open_tab
    for tab in tabs:
        tab.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_the_dashboard_draws_its_charts_under_the_csp(tabs, demo, width):
    tab: Tab = tabs(width)
    tab.sign_in("carol@example.com", "aether-demo")  # a viewer may read dashboards
    page = tab.page
    menu = page.get_by_role("button", name="Menu")
    if menu.is_visible():  # at phone width the navigation folds behind its Menu button
        menu.click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    expect(page.locator("#scope-summary")).to_contain_text("My work")  # a viewer lands on her own work
    fold = page.get_by_role("button", name="Choose what to show")
    if fold.is_visible():  # on a phone the filters fold too
        fold.click()
    page.get_by_label("Team", exact=True).select_option(str(demo.pk))
    page.get_by_label("Range", exact=True).select_option("all")
    page.get_by_role("button", name="Show", exact=True).click()
    expect(page.locator("#scope-summary")).to_contain_text("Team Demo")
    expect(page.locator("html")).to_have_attribute("data-charts-drawn", str(len(CHARTS)))
    for name in CHARTS:
        canvas = page.locator(f"#chart-{name}")
        expect(canvas).to_have_attribute("data-drawn", "true")
        box = canvas.bounding_box()
        assert box is not None, name
        assert box["width"] > 100, name
        assert box["height"] > 100, name
    painted = page.evaluate(
        """() => { const c = document.getElementById('chart-priority');
                   const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                   let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }"""
    )
    assert painted > 500
    # counts on whole-number axes; the weekly trend has every week, one after the other
    for name in ("trend", "daily", "throughput", "workload", "priority"):
        ticks = page.evaluate(f"Chart.getChart('chart-{name}').scales.y.ticks.map(t => t.value)")
        assert ticks, name
        assert all(float(t).is_integer() for t in ticks), (name, ticks)
    hover = """(id) => { const c = Chart.getChart(id);
        return c.options.plugins.tooltip.callbacks.label({dataset: c.data.datasets[0], formattedValue: '4'}); }"""
    assert page.evaluate(hover, "chart-trend") == "Completed: 4 tasks"  # a hover says the unit
    assert page.evaluate(hover, "chart-delay") == "Late by (below 0: early): 4 days"
    weeks = page.evaluate("Chart.getChart('chart-trend').data.labels")
    mondays = [date.fromisocalendar(int(w[:4]), int(w[6:]), 1) for w in weeks]
    assert [(b - a).days for a, b in itertools.pairwise(mondays)] == [7] * (len(weeks) - 1)
    assert page.evaluate("Chart.getChart('chart-stages').data.labels") == page.evaluate(
        "JSON.parse(document.getElementById('dashboard-stages').textContent).map(s => s.name).slice(0, 10)"
    )
    expect(page.get_by_role("heading", name="When tasks get completed (UTC)")).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the dashboard is {overflow}px wider than a {width}px screen"
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    with open(download.value.path(), "rb") as f:
        head = f.read(200)
    assert head.startswith(b"\xef\xbb\xbfid,project,title,status")
    assert [p for p in tab.problems if "favicon" not in p] == []


@pytest.mark.parametrize(
    ("scheme", "width", "name"),
    [("light", 1280, "dashboard"), ("dark", 1280, "dashboard-dark"), ("light", 375, "dashboard-phone")],
)
def test_the_dashboard_reads_in_light_dark_and_on_a_phone(opened, demo, scheme, width, name):
    """The owner lands on her team's dashboard; axe-core finds nothing, every text passes AA contrast (the
    heatmap's cells and the charts' ticks too), nothing is cut off, and the phone page is a scrollable length."""
    tab = opened(scheme, width)
    tab.sign_in("alice@example.com", "aether-demo")
    page = tab.go("/dashboard/")
    expect(page.locator("#scope-summary")).to_contain_text("Team Demo")
    expect(page.locator("html")).to_have_attribute("data-charts-drawn", str(len(CHARTS)))
    assert axe_violations(page) == []
    assert page.evaluate(CONTRAST_FAILURES) == []
    # the charts' ticks in the theme's colour (checked against the card for AA)
    tick = page.evaluate("Chart.defaults.color")
    text_3 = page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--text-3').trim()")
    assert tick == text_3
    card = page.evaluate("getComputedStyle(document.querySelector('.chart.card')).backgroundColor")
    assert contrast(tick, card) >= 4.5, (tick, card)  # the ticks are drawn, not text: checked here
    cells = page.evaluate(
        """() => [...document.querySelectorAll('#heatmap td')].map(td => getComputedStyle(td).backgroundColor)"""
    )
    assert len(cells) == 7 * 24
    if scheme == "dark":
        assert "rgb(255, 255, 255)" not in cells  # no white cell in dark mode
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{overflow}px wider than the screen"
    if width >= 1280:  # the stage table shows every column without scrolling
        region = page.get_by_role("region", name="Stages against their estimates, the table")
        assert region.evaluate("r => r.scrollWidth - r.clientWidth") <= 0
        expect(page.locator("details.numbers[data-wide-open]").first).to_have_attribute("open", "")
    else:
        height = page.evaluate("document.documentElement.scrollHeight")
        assert height <= PHONE_PAGE_MAX, f"the phone page is {height}px long"
        expect(page.locator("details.numbers").first).not_to_have_attribute("open", "")
    if os.environ.get("AETHER_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True, caret="initial")
    assert [p for p in tab.problems if "favicon" not in p] == []


def test_the_dashboard_by_keyboard_alone(opened, demo):
    """From the skip link: choose the range by keyboard, reach the heatmap's scrolling region (focusable, named),
    scroll it with the arrow keys, and follow a figure to the tasks behind it."""
    project = demo.projects.order_by("pk").first()
    tab = opened("light", 1280)
    tab.sign_in("alice@example.com", "aether-demo")
    page = tab.go(f"/dashboard/?project={project.pk}")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to content")
    range_select = page.get_by_label("Range", exact=True)
    for _ in range(40):
        page.keyboard.press("Tab")
        if range_select.evaluate("el => el === document.activeElement"):
            break
    expect(range_select).to_be_focused()
    range_select.select_option("all")  # what the arrow keys do on a focused select
    for _ in range(5):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim() === 'Show'"):
            break
    page.keyboard.press("Enter")
    expect(page.locator("#scope-summary")).to_contain_text("all time")

    heatmap = page.get_by_role("region", name="Completions by weekday and hour, the table")
    for _ in range(200):
        page.keyboard.press("Tab")
        if heatmap.evaluate("el => el === document.activeElement"):
            break
    expect(heatmap).to_be_focused()
    page.set_viewport_size({"width": 500, "height": 900})  # narrow enough for the heatmap to scroll
    before = heatmap.evaluate("el => el.scrollLeft")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("([el, x]) => el.scrollLeft > x", arg=[heatmap.element_handle(), before])
    page.set_viewport_size({"width": 1280, "height": 900})

    overdue = page.locator(".stat").filter(has_text="Overdue now").get_by_role("link")
    page.keyboard.press("Shift+Tab")
    for _ in range(200):
        page.keyboard.press("Shift+Tab")
        if overdue.evaluate("el => el === document.activeElement"):
            break
    expect(overdue).to_be_focused()
    count = overdue.inner_text()
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{tab.base}/projects/{project.pk}/list/?overdue=true")
    expect(page.get_by_text(f"{count} task", exact=False).first).to_be_visible()
    assert [p for p in tab.problems if "favicon" not in p] == []
