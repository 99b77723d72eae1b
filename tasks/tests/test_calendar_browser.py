"""The calendar in a real browser (Debian's chromium through Playwright, as tasks/tests/test_browser.py): open the
month, go to the next one, move a task to another day and see it there; the phone layout and both themes."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from tasks.models import Activity, Task
from tasks.tests import test_browser, test_browser_ui
from tasks.tests.factories import TaskFactory
from tasks.views.calendar import _shift

browser, site, acme, tabs = test_browser.browser, test_browser.site, test_browser.acme, test_browser_ui.tabs

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def next_month(acme):
    """A task due on the 10th of next month (the team's time zone is UTC), and the days involved."""
    from django.utils import timezone

    first = _shift(timezone.now().date().replace(day=1), 1)
    task = TaskFactory(
        project=acme["project"], title="Plan launch", assignee=acme["member"], due_date=first + timedelta(9)
    )
    return {"first": first, "task": task, "due": first + timedelta(9), "target": first + timedelta(19)}


def _month_title(day: date) -> str:
    return f"{day:%B %Y}"


def test_a_member_opens_the_month_goes_to_the_next_and_moves_a_task_to_another_day(tabs, acme, next_month):
    from django.utils import timezone

    tab = tabs()
    tab.sign_in("mia@acme.test")
    page = tab.page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Calendar").click()
    expect(page.get_by_role("heading", name="Calendar")).to_be_visible()
    expect(page.locator("#cal-month")).to_have_text(_month_title(timezone.now().date()))
    expect(page.locator("td.today")).to_have_count(1)

    page.get_by_role("link", name="Next month →").click()
    expect(page.locator("#cal-month")).to_have_text(_month_title(next_month["first"]))
    expect(page).to_have_url(f"{tab.base}/calendar/?month={next_month['first']:%Y-%m}")
    due_cell = page.locator(f"#day-{next_month['due'].isoformat()}")
    expect(due_cell.get_by_role("link", name="Plan launch", exact=True)).to_be_visible()

    due_cell.get_by_role("link", name="Move “Plan launch”").click()  # opens the month's one move dialog
    dialog = page.get_by_role("dialog", name="Move “Plan launch”")
    expect(dialog.get_by_label("Due on")).to_have_value(next_month["due"].isoformat())
    dialog.get_by_label("Due on").fill(next_month["target"].isoformat())
    dialog.get_by_role("button", name="Move").click()

    target = next_month["target"]
    expect(
        page.locator(".flash").get_by_text(f"“Plan launch” is now due on {target.day} {target:%b %Y}.")
    ).to_be_visible()
    expect(
        page.locator(f"#day-{target.isoformat()}").get_by_role("link", name="Plan launch", exact=True)
    ).to_be_visible()
    expect(
        page.locator(f"#day-{next_month['due'].isoformat()}").get_by_role("link", name="Plan launch", exact=True)
    ).to_have_count(0)
    expect(page.locator("#cal-month")).to_have_text(_month_title(next_month["first"]))  # still on that month
    task = Task.objects.get(pk=next_month["task"].pk)
    assert task.due_date == target
    assert Activity.objects.filter(task=task, field="due_date").count() == 1

    page.locator(f"#day-{target.isoformat()}").get_by_role("link", name="Plan launch", exact=True).click()
    expect(page.get_by_role("heading", name="Plan launch")).to_be_visible()
    assert tab.problems == []


def test_a_task_dragged_to_another_day_moves_there(tabs, acme, next_month):
    tab = tabs()
    tab.sign_in("mia@acme.test")
    page = tab.go(f"/calendar/?month={next_month['first']:%Y-%m}")
    target = next_month["first"] + timedelta(2)
    page.locator(f'[data-task="{next_month["task"].pk}"]').drag_to(page.locator(f"#day-{target.isoformat()}"))
    expect(
        page.locator(f"#day-{target.isoformat()}").get_by_role("link", name="Plan launch", exact=True)
    ).to_be_visible()
    expect(
        page.locator(".flash").get_by_text(f"“Plan launch” is now due on {target.day} {target:%b %Y}.")
    ).to_be_visible()
    assert Task.objects.get(pk=next_month["task"].pk).due_date == target
    assert tab.problems == []


def test_without_js_move_opens_the_tasks_move_page_and_comes_back_to_the_month(tabs, acme, next_month):
    tab = tabs(java_script_enabled=False)
    tab.sign_in("mia@acme.test")
    month = f"/calendar/?month={next_month['first']:%Y-%m}"
    page = tab.go(month)
    page.locator(f"#day-{next_month['due'].isoformat()}").get_by_role("link", name="Move “Plan launch”").click()
    expect(page.get_by_role("heading", name="Move “Plan launch”")).to_be_visible()
    target = next_month["target"]
    page.get_by_label("Due on").fill(target.isoformat())
    page.get_by_role("button", name="Move").click()
    expect(
        page.locator(".flash").get_by_text(f"“Plan launch” is now due on {target.day} {target:%b %Y}.")
    ).to_be_visible()
    expect(page).to_have_url(f"{tab.base}{month}")
    expect(
        page.locator(f"#day-{target.isoformat()}").get_by_role("link", name="Plan launch", exact=True)
    ).to_be_visible()
    assert Task.objects.get(pk=next_month["task"].pk).due_date == target
    assert tab.problems == []


def test_cancel_closes_the_move_dialog_and_nothing_moves(tabs, acme, next_month):
    tab = tabs()
    tab.sign_in("mia@acme.test")
    page = tab.go(f"/calendar/?month={next_month['first']:%Y-%m}")
    page.locator(f"#day-{next_month['due'].isoformat()}").get_by_role("link", name="Move “Plan launch”").click()
    dialog = page.locator("#cal-move-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("link", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert Task.objects.get(pk=next_month["task"].pk).due_date == next_month["due"]
    assert tab.problems == []


def test_a_viewer_sees_the_task_but_no_move_control(tabs, acme, next_month):
    tab = tabs()
    tab.sign_in("vic@acme.test")
    page = tab.go(f"/calendar/?month={next_month['first']:%Y-%m}")
    cell = page.locator(f"#day-{next_month['due'].isoformat()}")
    expect(cell.get_by_role("link", name="Plan launch", exact=True)).to_be_visible()
    expect(cell.locator(".cal-move")).to_have_count(0)
    expect(page.locator("main [draggable=true]")).to_have_count(0)
    assert tab.problems == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_on_a_phone_the_month_is_a_list_of_its_busy_days_readable_in_both_themes(tabs, acme, next_month, scheme):
    for width in (390, 1280):
        tab = tabs(width, color_scheme=scheme)
        tab.sign_in("mia@acme.test")
        page = tab.go(f"/calendar/?month={next_month['first']:%Y-%m}")
        cell = page.locator(f"#day-{next_month['due'].isoformat()}")
        expect(cell.get_by_role("link", name="Plan launch", exact=True)).to_be_visible()
        if width < 500:
            expect(cell.locator(".cal-full")).to_be_visible()  # the weekday and month spelled out
            expect(page.locator(f"#day-{(next_month['due'] + timedelta(1)).isoformat()}")).to_be_hidden()
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"the calendar is {overflow}px wider than the phone"
        cell.locator(".cal-move").click()
        expect(page.locator("#cal-move-dialog").get_by_label("Due on")).to_be_visible()
        failures = page.evaluate(test_browser_ui.CONTRAST_FAILURES)
        assert failures == [], f"{scheme} at {width}px: {failures}"
        assert tab.problems == []
