"""What people write, in a real browser: search from the top bar, Markdown with a script payload rendered
inert, and mentions (in a comment, in a description) that notify. Same launch pattern and fixtures as
test_browser.py."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from notifications.models import Kind, Notification
from tasks.models import Comment
from tasks.tests.factories import TaskFactory
from tasks.tests.test_browser import acme, browser, site, tabs  # noqa: F401 -- fixtures

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_search_from_the_top_bar_finds_ranks_marks_and_opens(tabs, acme):  # noqa: F811
    member = acme["member"]
    TaskFactory(project=acme["project"], title="Invoice export", created_by=member)
    TaskFactory(project=acme["project"], title="Billing", description="The invoice total is off", created_by=member)
    TaskFactory(project=acme["project"], title="Dark mode", created_by=member)
    tab = tabs()
    tab.sign_in("mia@acme.test")
    page = tab.page
    page.locator("#search").fill("invoice")
    page.locator("#search").press("Enter")
    expect(page.get_by_role("heading", name="Search")).to_be_visible()
    results = page.locator(".search-result")
    expect(results).to_have_count(2)
    expect(results.first.locator(".row-title")).to_have_text("Invoice export")  # the title match first
    expect(results.nth(1).locator(".snippet mark")).to_have_text("invoice")
    expect(page.locator("#search")).to_have_value("invoice")
    results.first.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Invoice export")).to_be_visible()
    assert tab.problems == []


def test_markdown_with_a_script_payload_is_rendered_inert(tabs, acme):  # noqa: F811
    task = TaskFactory(project=acme["project"], title="Payloads", created_by=acme["member"])
    tab = tabs()
    tab.sign_in("mia@acme.test")
    page = tab.go(f"/tasks/{task.pk}/")
    payload = (
        "**Bold** and [docs](https://example.com)\n\n"
        '<script>window.pwned = 1</script> <img src=x onerror="window.pwned = 2"> '
        '[click](javascript:window.pwned=3) <a href="javascript:alert(4)" onclick="alert(5)">a</a>'
    )
    page.get_by_role("textbox", name="Comment").fill(payload)
    page.get_by_role("button", name="Post comment").click()
    body = page.locator(".comment .comment-body").last
    expect(body.locator("strong")).to_have_text("Bold")
    link = body.get_by_role("link", name="docs")
    expect(link).to_have_attribute("href", "https://example.com")
    expect(link).to_have_attribute("rel", "nofollow noopener")
    expect(body).to_contain_text("<script>window.pwned = 1</script>")  # shown as text
    assert body.locator("script, img, [onclick], [onerror], a[href^='javascript']").count() == 0
    page.reload()
    expect(page.locator(".comment .comment-body").last.locator("strong")).to_have_text("Bold")
    assert page.evaluate("typeof window.pwned") == "undefined"
    assert tab.dialogs == []
    assert tab.problems == []
    assert Comment.objects.get(task=task).body == payload


def test_mentions_in_a_comment_and_a_description_notify_and_opening_one_marks_it_read(tabs, acme):  # noqa: F811
    task = TaskFactory(project=acme["project"], title="Review the copy", created_by=acme["member"])
    writer = tabs()
    writer.sign_in("mia@acme.test")
    page = writer.go(f"/tasks/{task.pk}/")
    page.get_by_role("textbox", name="Comment").fill("@vic could you check the wording?")
    page.get_by_role("button", name="Post comment").click()
    expect(page.locator(".comment .comment-body").last).to_have_text("@Vic Viewer could you check the wording?")
    expect(page.locator(".comment").last.get_by_role("link", name="@Vic Viewer")).to_be_visible()  # to the person
    comment = Comment.objects.get(task=task)
    page.locator("#edit summary").click()
    page.get_by_role("textbox", name="Description").fill("Copy for the **launch**; @vic signs it off.")
    page.locator("#save-task").click()
    expect(page.locator("#task-description strong")).to_have_text("launch")
    expect(page.locator("#task-description")).to_contain_text("@Vic Viewer signs it off.")
    on_comment = Notification.objects.get(user=acme["viewer"], url__endswith=f"#comment-{comment.pk}")
    on_description = Notification.objects.get(user=acme["viewer"], url__endswith="#task-description")
    assert {on_comment.kind, on_description.kind} == {Kind.MENTIONED}

    reader = tabs()
    reader.sign_in("vic@acme.test")
    page = reader.page
    expect(page.locator(".bell .count")).to_have_text("2")
    page.locator(".bell").click()
    entry = page.locator(f"#notification-{on_comment.pk}")
    expect(entry).to_contain_text("Mia Member mentioned you on “Review the copy”")
    entry.get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"/tasks/{task.pk}/#comment-{comment.pk}$"))
    expect(page.get_by_role("heading", name="Review the copy")).to_be_visible()
    expect(page.locator(".bell .count")).to_have_text("1")
    page.locator(".bell").click()
    entry = page.locator(f"#notification-{on_description.pk}")
    expect(entry).to_contain_text("Mia Member mentioned you in the description of “Review the copy”")
    entry.get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"/tasks/{task.pk}/#task-description$"))
    expect(page.locator("#task-description")).to_contain_text("@Vic Viewer signs it off.")
    expect(page.locator(".bell .count")).to_have_count(0)
    for note in (on_comment, on_description):
        note.refresh_from_db()
        assert note.read_at is not None
    assert writer.problems == []
    assert reader.problems == []
