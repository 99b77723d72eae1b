"""The dashboard cache (analytics/cache.py) on the real Redis: a repeated dashboard reads no kept rows, a committed
change in its team shows at the next read (through the API, as a user sees it), a change in another team
leaves it cached, and an unreachable cache only costs the computation."""

from __future__ import annotations

import contextlib

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.tests.factories import MembershipFactory, TeamFactory, UserFactory
from analytics.selectors import dashboard_figures, dashboard_scope
from tasks import services
from tasks.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cached(settings):
    assert settings.ANALYTICS_CACHE_SECONDS == 60  # on, as deployed


@pytest.fixture
def two_teams():
    made = {}
    for name in ("Acme", "Other"):
        team = TeamFactory(name=name, time_zone="UTC")
        user = UserFactory(email=f"lead@{name.lower()}.test")
        MembershipFactory(team=team, user=user, role="admin")
        made[name] = (user, ProjectFactory(team=team, name=f"{name} project"))
    return made


def kept_reads(call) -> tuple[dict, int]:
    """call()'s result, and how many of its queries read the kept tables."""
    with CaptureQueriesContext(connection) as queries:
        result = call()
    return result, sum('"analytics_' in q["sql"] for q in queries.captured_queries)


def test_a_committed_change_shows_at_the_next_read_and_other_teams_stay_cached(
    cached, two_teams, django_capture_on_commit_callbacks
):
    lead, project = two_teams["Acme"]
    other_lead, other_project = two_teams["Other"]

    def figures():
        return dashboard_figures(dashboard_scope(lead, project_id=project.pk))

    first, reads = kept_reads(figures)
    assert first["counts"]["created"] == 0
    assert reads > 0
    again, reads = kept_reads(figures)
    assert (again, reads) == (first, 0)  # from the cache

    with django_capture_on_commit_callbacks(execute=True):
        services.task_create(actor=other_lead, project=other_project, title="Elsewhere")
    again, reads = kept_reads(figures)
    assert (again["counts"]["created"], reads) == (0, 0)  # another team's change: still cached

    with django_capture_on_commit_callbacks(execute=True):
        services.task_create(actor=lead, project=project, title="Here")
    after, reads = kept_reads(figures)
    assert after["counts"]["created"] == 1
    assert reads > 0

    with django_capture_on_commit_callbacks(execute=True):
        services.task_create(actor=lead, project=project, title="And here")
    client = APIClient()
    client.force_authenticate(lead)
    body = client.get(f"/api/v1/dashboard/?project={project.pk}").json()
    assert body["counts"]["created"] == 2


def test_a_change_that_does_not_commit_moves_nothing(cached, two_teams):
    lead, project = two_teams["Acme"]
    scope = dashboard_scope(lead, project_id=project.pk)
    dashboard_figures(scope)
    with contextlib.suppress(RuntimeError), transaction.atomic():
        services.task_create(actor=lead, project=project, title="Rolled back")
        raise RuntimeError("the request fails after the write: nothing commits, nothing is renewed")
    _, reads = kept_reads(lambda: dashboard_figures(scope))
    assert reads == 0


def test_every_scope_and_range_has_its_own_entry(cached, two_teams, django_capture_on_commit_callbacks):
    lead, project = two_teams["Acme"]
    with django_capture_on_commit_callbacks(execute=True):
        services.task_create(actor=lead, project=project, title="Mine", assignee=lead)
    whole = dashboard_figures(dashboard_scope(lead, project_id=project.pk))
    nobody = dashboard_figures(dashboard_scope(lead, project_id=project.pk, assignee_id=lead.pk + 1000))
    mine = dashboard_figures(dashboard_scope(lead))
    assert (whole["counts"]["created"], nobody["counts"]["created"], mine["counts"]["created"]) == (1, 0, 1)


def test_an_unreachable_cache_costs_only_the_computation(settings, two_teams):
    settings.ANALYTICS_CACHE_SECONDS = 60
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:9/0"}
    }
    lead, project = two_teams["Acme"]
    services.task_create(actor=lead, project=project, title="Counted")
    first, reads = kept_reads(lambda: dashboard_figures(dashboard_scope(lead, project_id=project.pk)))
    assert (first["counts"]["created"], reads > 0) == (1, True)


def test_a_rebuild_moves_every_team_on(cached, two_teams, django_capture_on_commit_callbacks):
    from analytics.recompute import figures_rebuild

    lead, project = two_teams["Acme"]
    scope = dashboard_scope(lead, project_id=project.pk)
    dashboard_figures(scope)
    with django_capture_on_commit_callbacks(execute=True):
        figures_rebuild()
    _, reads = kept_reads(lambda: dashboard_figures(scope))
    assert reads > 0
