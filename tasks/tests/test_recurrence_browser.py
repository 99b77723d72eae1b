"""The rule editor of the task page in a real browser (Debian's chromium through Playwright, with the fixtures
of tasks/tests/test_browser.py): a refused rule shows its error by the field, a saved one reads back in words,
and the viewer sees the words without the editor."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

from tasks.models import Recurrence
from tasks.tests import test_browser
from tasks.tests.factories import TaskFactory

browser, site, acme, tabs = test_browser.browser, test_browser.site, test_browser.acme, test_browser.tabs

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_member_makes_a_task_repeat_in_the_rule_editor_and_a_viewer_reads_it(tabs, acme):
    task = TaskFactory(
        project=acme["project"], title="Weekly report", created_by=acme["member"], due_date=date(2030, 1, 7)
    )
    tab = tabs()
    tab.sign_in("mia@acme.test")
    page = tab.go(f"/tasks/{task.pk}/")
    expect(page.locator("#recurrence-summary")).to_have_text("Does not repeat.")

    page.get_by_text("Make it repeat").click()
    editor = page.locator("#repeat-editor")
    editor.get_by_label("Repeats").select_option(label="Weekly")
    editor.get_by_label("Every", exact=True).fill("2")
    editor.get_by_label("On a date").check()
    editor.get_by_role("button", name="Save repeats").click()

    # no weekday and no end date: refused by each field, the editor open, nothing saved
    editor = page.locator("#repeat-editor")
    expect(editor).to_have_attribute("open", "")
    expect(editor.locator("#id_repeat_weekdays_error")).to_have_text("Choose at least one day of the week.")
    expect(editor.locator("#id_repeat_until_error")).to_have_text("Give the date the repeats end on.")
    assert not Recurrence.objects.exists()

    editor.get_by_label("Mon", exact=True).check()
    editor.get_by_label("Thu", exact=True).check()
    editor.get_by_label("End date").fill("2030-03-01")
    editor.get_by_role("button", name="Save repeats").click()

    expect(page.locator("#recurrence-summary")).to_have_text("Every 2 weeks on Mon, Thu, until 2030-03-01")
    expect(page.locator("#repeats")).to_contain_text("Next: 10 Jan 2030")
    expect(page.locator("#history")).to_contain_text(
        "set the task to repeat: Every 2 weeks on Mon, Thu, until 2030-03-01"
    )
    assert Recurrence.objects.get(task=task).rule == "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;UNTIL=20300301"

    # the editor opens again on the saved choices
    page.get_by_text("Change the repeats").click()
    editor = page.locator("#repeat-editor")
    expect(editor.get_by_label("Every", exact=True)).to_have_value("2")
    expect(editor.get_by_label("Mon", exact=True)).to_be_checked()
    expect(editor.get_by_label("Tue", exact=True)).not_to_be_checked()
    expect(editor.get_by_label("End date")).to_have_value("2030-03-01")
    assert [p for p in tab.problems if "422 (Unprocessable" not in p] == []  # the refusal was one

    viewer = tabs()
    viewer.sign_in("vic@acme.test")
    seen = viewer.go(f"/tasks/{task.pk}/")
    expect(seen.locator("#recurrence-summary")).to_have_text("Every 2 weeks on Mon, Thu, until 2030-03-01")
    expect(seen.locator("#repeat-editor")).to_have_count(0)
    assert viewer.problems == []
