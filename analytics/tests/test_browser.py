"""The dashboard in a real browser (Debian's chromium through Playwright, as tasks/tests/test_browser.py): the
charts are drawn, the strict CSP reports no violation, it fits a phone, and the CSV button downloads the file."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from accounts.models import Team
from tasks.tests.test_browser import Tab, browser, site, tabs  # noqa: F401 -- the shared launch pattern

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHARTS = ("priority", "trend", "delay", "time", "daily", "stages", "throughput", "workload")


@pytest.mark.parametrize("width", [1280, 390])
def test_the_dashboard_draws_its_charts_under_the_csp(tabs, width):  # noqa: F811
    call_command("seed_demo", verbosity=0)  # demo tasks over the last months; seed_demo rebuilds the figures
    team = Team.objects.get(slug="demo")
    tab: Tab = tabs(width)
    tab.sign_in("carol@example.com", "aether-demo")  # a viewer may read dashboards
    page = tab.page
    menu = page.get_by_role("button", name="Menu")
    if menu.is_visible():  # at phone width the navigation folds behind its Menu button
        menu.click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    page.get_by_label("Team", exact=True).select_option(str(team.pk))
    page.get_by_label("Range", exact=True).select_option("all")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#scope-summary")).to_contain_text("Team Demo")
    expect(page.locator("html")).to_have_attribute("data-charts-drawn", str(len(CHARTS)))
    for name in CHARTS:
        canvas = page.locator(f"#chart-{name}")
        expect(canvas).to_have_attribute("data-drawn", "true")
        box = canvas.bounding_box()
        assert box is not None, name
        assert box["width"] > 100, name
        assert box["height"] > 100, name
    # the charts drew something: a canvas with coloured pixels
    painted = page.evaluate(
        """() => { const c = document.getElementById('chart-priority');
                   const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                   let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }"""
    )
    assert painted > 500
    expect(page.get_by_role("heading", name="Completions by weekday and hour (UTC)")).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the dashboard is {overflow}px wider than a {width}px screen"
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    path = download.value.path()
    with open(path, "rb") as f:
        head = f.read(200)
    assert head.startswith(b"\xef\xbb\xbfid,project,title,status")
    assert [p for p in tab.problems if "favicon" not in p] == []
