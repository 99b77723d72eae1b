"""The dashboard page as people read it: who lands on which dashboard, a bad team, project or range said beside
its field (never a 500), an empty scope that reads as such, figures in plain words, each linked to the tasks
behind it where one list holds them, and the accessibility of its markup (captions, named scrolling regions)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import MembershipFactory, TeamFactory, UserFactory
from analytics.templatetags.analytics_ui import against_estimate, delay, duration, figure, overrun, percent
from tasks import services
from tasks.models import Priority
from tasks.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(team_roles):
    team, other, people = team_roles
    project = ProjectFactory(team=team, name="Website")
    member = people["member"]
    late, _ = services.task_create(
        actor=member,
        project=project,
        title="Late one",
        assignee=member,
        priority=Priority.HIGH,
        due_date=timezone.localdate() - timedelta(days=3),
        stages=[{"name": "Build", "estimated_hours": "2"}, {"name": "Ship", "estimated_hours": "1"}],
    )
    services.stage_complete(actor=member, stage=late.stages.get(name="Build"), actual_hours="3")
    done, _ = services.task_create(actor=member, project=project, title="Done one")
    services.task_complete(actor=member, task=done)
    return {"team": team, "other": other, "project": project, "people": people, "late": late}


def page(client, user, query: str = ""):
    client.force_login(user)
    response = client.get(f"/dashboard/{query}")
    return response, response.content.decode()


@pytest.mark.parametrize(("role", "lands_on"), [("owner", "team"), ("admin", "team"), ("member", "mine")])
def test_owners_and_admins_land_on_their_team_members_on_their_own_work(world, client, role, lands_on):
    response, html = page(client, world["people"][role])
    assert response.status_code == 200
    summary = re.search(r'id="scope-summary">(.*?)</p>', html, re.S).group(1)
    if lands_on == "team":
        assert "Team Acme, every project" in summary
        assert f'<option value="{world["team"].pk}" selected>Acme</option>' in html
    else:
        assert "My work" in summary


def test_an_admin_can_still_ask_for_her_own_work(world, client):
    _, html = page(client, world["people"]["admin"], "?team=&range=30")
    assert "My work: tasks assigned to me" in html


@pytest.mark.parametrize(
    ("query", "status", "field", "message"),
    [
        ("?team=999999", 404, "d-team", "There is no such team among yours"),
        ("?team={other}", 404, "d-team", "There is no such team among yours"),
        ("?project={other_project}", 404, "d-project", "There is no such project among yours"),
        ("?project={project}&team={other}", 404, "d-project", "There is no such project among yours"),
        ("?range=fortnight", 400, "d-range", "Select a valid choice"),
        ("?since=2026-02-30", 400, "d-since", "Enter a valid date"),
        ("?since=2026-02-01&until=2026-01-01", 400, "d-until", "The end date must be on or after the start date."),
    ],
)
def test_a_bad_team_project_or_range_is_said_beside_its_field(world, client, query, status, field, message):
    other_project = ProjectFactory(team=world["other"])
    url = query.format(other=world["other"].pk, other_project=other_project.pk, project=world["project"].pk)
    response, html = page(client, world["people"]["member"], url)
    assert response.status_code == status
    assert message in html
    assert f'id="{field}" aria-invalid="true" aria-describedby="{field}-error"' in html
    assert "dashboard-data" not in html  # no figures of anything


def test_a_new_team_without_tasks_reads_as_empty_not_as_zeros(client):
    team = TeamFactory(name="Fresh")
    owner = UserFactory()
    MembershipFactory(team=team, user=owner, role="owner")
    ProjectFactory(team=team)
    response, html = page(client, owner)
    assert response.status_code == 200
    assert "Nothing to show yet" in html
    assert "Show all time" in html
    assert "<canvas" not in html
    assert "dashboard-data" not in html


def test_figures_are_in_plain_words_with_captions_and_named_scrolling_regions(world, client):
    _, html = page(client, world["people"]["viewer"], f"?project={world['project'].pk}&range=all")
    for jargon in ("h²", "Variance", "Accuracy", "±9", "Std dev"):
        assert jargon not in html
    assert "50 % longer than estimated" in html  # Build: 3 h for 2 estimated
    assert "+1 h a stage" in html
    assert "Stages named “Build” overrun most" in html
    assert html.count("<table") == html.count("<caption")
    for region in re.findall(r'<div class="scroll-x"[^>]*>', html):
        assert 'tabindex="0"' in region
        assert 'role="region"' in region
        assert "aria-label=" in region


def test_each_figure_links_to_the_tasks_behind_it(world, client):
    project, member = world["project"], world["people"]["member"]
    _, html = page(client, world["people"]["viewer"], f"?project={project.pk}&range=all")
    base = f"/projects/{project.pk}/list/"
    assert f'href="{base}?overdue=true"' in html
    assert f'href="{base}?priority=high"' in html
    assert f'href="{base}?status=completed"' in html
    assert f'href="{base}?assignee={member.pk}&amp;overdue=true"' in html
    listed = client.get(f"{base}?overdue=true").content.decode()
    assert "Late one" in listed
    assert "Done one" not in listed
    # a team's figures: each project's list; "my work": My work
    _, team_html = page(client, world["people"]["viewer"], f"?team={world['team'].pk}")
    assert f'href="{base}?overdue=true"' in team_html
    _, mine = page(client, member, "?team=")
    assert 'href="/my-work/"' in mine


@pytest.mark.parametrize(
    ("filter_", "value", "said"),
    [
        (duration, None, "no data"),
        (duration, 0.5, "30 min"),
        (duration, 5.5, "5.5 h"),
        (duration, 30.0, "30 h"),
        (duration, 72.0, "3 days"),
        (duration, 300.0, "12 days"),
        (delay, 1.0, "1 day late"),
        (delay, -2.5, "2.5 days early"),
        (delay, 0.0, "on the due date"),
        (percent, 0.004, "less than 1 %"),
        (percent, 0.75, "75 %"),
        (against_estimate, 1.24, "24 % longer than estimated"),
        (against_estimate, 0.75, "25 % shorter than estimated"),
        (against_estimate, 1.0, "as estimated"),
        (overrun, -0.5, "\u221230 min a stage"),
        (figure, 1234, "1,234"),
        (figure, 12.345, "12"),
        (figure, 2.0, "2"),
    ],
)
def test_how_a_figure_is_said(filter_, value, said):
    assert filter_(value) == said
