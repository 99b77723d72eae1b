"""Every endpoint of /api/v1/ answers OPTIONS (the view's name and media types, in JSON), never a 500: DRF's
metadata asked some views for an object they do not have."""

import pytest
from django.urls import get_resolver

from tasks.tests.api_helpers import api_client

pytestmark = pytest.mark.django_db


def _paths() -> list[str]:
    paths = []
    for pattern in get_resolver("aether.api_urls").url_patterns:
        route = str(pattern.pattern).replace("<int:id>", "1")
        paths.append("/api/v1/" + route)
    return paths


@pytest.mark.parametrize("path", _paths())
def test_options_answers_every_endpoint_in_json(team_roles, path):
    client = api_client(team_roles[2]["member"])
    client.raise_request_exception = False

    response = client.options(path)

    assert response.status_code < 500, response.content[:300]
    # The schema's own views answer in the schema's media type; the docs page in the schema's too.
    assert response["Content-Type"].split(";")[0] in ("application/json", "application/vnd.oai.openapi")
