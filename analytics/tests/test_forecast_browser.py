"""The forecasts in a real browser (Debian's chromium through Playwright, the fixtures of
tasks/tests/test_browser.py): the task page says the range in words, the list's "At risk" filter narrows the
list to the at-risk tasks (and stays in the URL), and the pages that carry the at-risk mark (list, board, task,
dashboard) are readable and clean for axe-core in light and dark. (The walk of every page in
tasks/tests/test_browser_ui.py runs on the demo data, which has no forecast rows.)"""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from analytics.recompute import figures_rebuild
from analytics.tests.test_forecast_surfaces import put_forecast, words
from tasks.deadlines import deadlines_at
from tasks.tests import test_browser
from tasks.tests.a11y import axe_violations
from tasks.tests.factories import StageFactory, TaskFactory
from tasks.tests.test_browser_ui import CONTRAST_FAILURES, OptionsTab

browser, site, tabs, acme = test_browser.browser, test_browser.site, test_browser.tabs, test_browser.acme

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def forecasts(acme):
    """Three open tasks of Apollo: one at risk, one on time, one the engine has not reached."""
    project, member = acme["project"], acme["member"]
    today = deadlines_at().today(acme["team"].time_zone)
    late = TaskFactory(project=project, title="Late launch", assignee=member, due_date=today + timedelta(days=3))
    fine = TaskFactory(project=project, title="Fine docs", assignee=member, due_date=today + timedelta(days=30))
    TaskFactory(project=project, title="Not reached yet", created_by=member)
    for task in (late, fine):
        StageFactory(task=task, order=1, name="Build")
    put_forecast(late, today + timedelta(days=4), today + timedelta(days=6))
    put_forecast(fine, today + timedelta(days=5), today + timedelta(days=7))
    figures_rebuild()  # the dashboard's kept figures of these bare rows
    return {"today": today, "late": late, "fine": fine}


def test_the_task_page_says_the_forecast_in_words(tabs, acme, forecasts):
    today, late = forecasts["today"], forecasts["late"]
    tab = tabs()
    tab.sign_in("mia@acme.test")
    page = tab.go(f"/tasks/{late.pk}/")
    said = words(today + timedelta(days=4), today + timedelta(days=6), today)
    forecast = page.get_by_role("region", name="Forecast")
    expect(forecast.locator("#forecast-words")).to_have_text(said[0].upper() + said[1:])
    expect(forecast.locator("#forecast-risk")).to_contain_text("At risk")
    expect(forecast.locator("#forecast-risk")).to_contain_text("3 days after the due date")
    page = tab.go(f"/tasks/{forecasts['fine'].pk}/")
    expect(page.locator("#forecast-risk")).to_have_count(0)
    assert tab.problems == []


def test_the_at_risk_filter_narrows_the_list_and_stays_in_the_url(tabs, acme, forecasts):
    tab = tabs()
    tab.sign_in("mia@acme.test")
    page = tab.go(f"/projects/{acme['project'].pk}/list/")
    rows = page.locator(".tasks-table tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator(".tasks-table .badge.at-risk")).to_have_count(1)
    page.get_by_label("At risk").select_option(label="At risk only")
    page.get_by_role("button", name="Apply").click()
    expect(rows).to_have_count(1)
    expect(rows.first.get_by_role("link", name="Late launch")).to_be_visible()
    assert "at_risk=true" in page.url
    expect(page.get_by_label("At risk")).to_have_value("true")
    # The board's own filter, and the project's head linking to the same list.
    page = tab.go(f"/projects/{acme['project'].pk}/")
    page.get_by_role("link", name="At risk only").click()
    expect(page.locator("[data-card]")).to_have_count(1)
    expect(page.locator("#project-forecast")).to_contain_text("1 at risk")
    page.locator("#project-forecast").get_by_role("link", name="1 at risk").click()
    expect(page.locator(".tasks-table tbody tr")).to_have_count(1)
    assert tab.problems == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_pages_with_forecasts_are_readable_and_clean_for_axe(browser, site, acme, forecasts, scheme):
    tab = OptionsTab(browser, site, 1280, color_scheme=scheme)
    try:
        tab.sign_in("mia@acme.test")
        project = acme["project"]
        violations = {}
        for name, path, shown in (
            ("list", f"/projects/{project.pk}/list/", ".badge.at-risk"),
            ("board", f"/projects/{project.pk}/", ".badge.at-risk"),
            ("task", f"/tasks/{forecasts['late'].pk}/", ".badge.at-risk"),
            ("dashboard", f"/dashboard/?project={project.pk}", "#at-risk a"),
        ):
            page = tab.go(path)
            expect(page.locator(shown).first).to_be_visible()
            assert page.evaluate(CONTRAST_FAILURES) == [], (scheme, path)
            violations[name] = axe_violations(page)
        assert {k: v for k, v in violations.items() if v} == {}
        assert tab.problems == []
    finally:
        tab.close()
