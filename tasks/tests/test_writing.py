"""Writing: the Preview tab's endpoint renders with the page's own renderer and sanitiser, mentions as links to the
person; the @ picker's list is the team's active members with the handle that mentions each; plain text (an
email's part) names them."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import Role
from accounts.tests.factories import MembershipFactory, TeamFactory, UserFactory
from tasks.services.mentions import mention_choices, mention_links, mentions_as_names
from tasks.tests.factories import ProjectFactory


@pytest.fixture
def team(db):
    team = TeamFactory(name="Acme")
    people = {
        "mia": UserFactory(email="mia@acme.test", full_name="Mia Member"),
        "sam1": UserFactory(email="sam@acme.test", full_name="Sam One"),
        "sam2": UserFactory(email="sam@other.test", full_name="Sam Two"),
        "gone": UserFactory(email="gone@acme.test", full_name="Gone Person", is_active=False),
        "vic": UserFactory(email="vic@acme.test", full_name="Vic Viewer"),
    }
    for key, user in people.items():
        MembershipFactory(team=team, user=user, role=Role.VIEWER if key == "vic" else Role.MEMBER)
    return {"team": team, "people": people, "project": ProjectFactory(team=team)}


def test_the_picker_lists_active_members_with_the_handle_that_mentions_each(team):
    assert mention_choices(team["team"].pk) == [
        {"name": "Mia Member", "handle": "mia", "email": "mia@acme.test"},
        {"name": "Sam One", "handle": "sam@acme.test", "email": "sam@acme.test"},
        {"name": "Sam Two", "handle": "sam@other.test", "email": "sam@other.test"},
        {"name": "Vic Viewer", "handle": "vic", "email": "vic@acme.test"},
    ]


def test_mentions_link_to_the_person_and_plain_text_names_them(team):
    links = mention_links(team["team"].pk, "hi @mia, @sam@other.test and @gone and @sam.", base_url="https://x.test/")
    mia, sam2 = team["people"]["mia"], team["people"]["sam2"]
    assert links == {
        "mia": ("Mia Member", f"https://x.test/accounts/teams/{team['team'].pk}/#member-{mia.pk}"),
        "sam@other.test": ("Sam Two", f"https://x.test/accounts/teams/{team['team'].pk}/#member-{sam2.pk}"),
    }
    assert mentions_as_names("hi @mia. and @sam@other.test, @nobody", links) == "hi @Mia Member. and @Sam Two, @nobody"


def test_the_preview_is_the_page_rendering_sanitised_with_mentions(team):
    client = Client()
    client.force_login(team["people"]["mia"])
    url = f"/projects/{team['project'].pk}/preview/"
    response = client.post(url, {"text": "**Hi** @mia <script>alert(1)</script> [x](javascript:alert(1))"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<strong>Hi</strong>" in html
    assert f'href="/accounts/teams/{team["team"].pk}/#member-{team["people"]["mia"].pk}"' in html
    assert "@Mia Member" in html
    assert "<script>" not in html
    assert 'href="javascript' not in html  # left as text, never a link
    assert "Nothing to preview" in client.post(url, {"text": "  "}).content.decode()
    assert client.get(url)["Location"] == f"/projects/{team['project'].pk}/"


def test_a_viewer_and_an_outsider_get_no_preview(team):
    viewer = Client()
    viewer.force_login(team["people"]["vic"])
    assert viewer.post(f"/projects/{team['project'].pk}/preview/", {"text": "x"}).status_code == 403
    outsider = Client()
    outsider.force_login(UserFactory())
    assert outsider.post(f"/projects/{team['project'].pk}/preview/", {"text": "x"}).status_code == 404


def test_a_notification_says_what_happened_with_a_plain_text_preview(team):
    from notifications.models import Notification
    from tasks import services
    from tasks.tests.factories import TaskFactory

    mia, sam = team["people"]["mia"], team["people"]["sam1"]
    task = TaskFactory(project=team["project"], created_by=mia, title="Ship it")
    services.comment_create(actor=sam, task=task, body="**Done**, see [the log](https://x.test/log)")
    note = Notification.objects.get(user=mia)
    assert note.preview == "Done, see the log"
    client = Client()
    client.force_login(mia)
    page = client.get("/notifications/").content.decode()
    assert "New comment" in page
    assert "Done, see the log" in page
    assert "Someone comments on my task" not in page  # the settings' sentence stays on the settings page


def test_staff_see_the_way_to_admin_and_a_viewer_is_told_she_reads_only(team):
    staff, viewer = team["people"]["mia"], team["people"]["vic"]
    staff.is_staff = True
    staff.save(update_fields=["is_staff"])
    client = Client()
    client.force_login(staff)
    assert 'href="/admin/" class="admin-link">Admin</a>' in client.get("/my-work/").content.decode()
    client.force_login(viewer)
    page = client.get(f"/projects/{team['project'].pk}/").content.decode()
    assert "Admin</a>" not in page
    assert "You can read this project but not change it: your role in Acme is viewer." in page
    assert 'id="quick-title"' not in page
