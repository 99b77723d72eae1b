"""/api/v1/docs/ in a real browser, under the site's strict Content-Security-Policy: the page renders every
operation, and "Try it out" reaches the API with a JWT, with no CSP violation or script error on the way."""

import pytest
from playwright.sync_api import expect

from tasks.tests.api_helpers import access_token_for
from tasks.tests.test_browser import acme, browser, site, tabs  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_api_docs_page_works_under_the_sites_csp(tabs, acme):  # noqa: F811
    tab = tabs()

    page = tab.go("/api/v1/docs/")

    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Aether API")
    expect(page.locator("#operations-tasks-tasks_list")).to_be_visible()
    page.evaluate("token => ui.preauthorizeApiKey('jwtAuth', token)", access_token_for(acme["member"]))
    operation = page.locator("#operations-me-me_retrieve")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    expect(operation.locator(".live-responses-table tbody td.response-col_status")).to_contain_text("200")
    expect(operation.locator(".live-responses-table")).to_contain_text("mia@acme.test")
    assert tab.problems == []


@pytest.mark.django_db
def test_the_docs_page_allows_only_its_own_nonced_style(client):
    response = client.get("/api/v1/docs/")

    policy = response["Content-Security-Policy"]
    nonce = policy.split("'nonce-")[1].split("'")[0]
    assert f'<style nonce="{nonce}">' in response.content.decode()
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert client.get("/api/v1/docs/?script=").status_code == 200
