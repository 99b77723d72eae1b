"""The command palette (tasks/palette.py, /search/palette/): prefix matching from the first character over titles,
descriptions, comments, projects and people, scoped to the user's teams; plain-text snippets with the words
marked; commands; and any typed text, of any length or character, answers results or "Nothing found"."""

from __future__ import annotations

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Role
from accounts.tests.factories import MembershipFactory, TeamFactory, UserFactory
from tasks.models import Comment
from tasks.palette import palette, palette_words, prefix_tsquery
from tasks.tests.factories import ProjectFactory, TaskFactory

ODD = [
    "",
    " ",
    "&",
    "|",
    "!",
    "(",
    ")",
    ":*",
    "& | ! ( ) :* <-> <2>",
    "'",
    "''",
    '"',
    "\\",
    "--",
    "-x",
    "or",
    "a & b | !c",
    "'; DROP TABLE tasks_task; --",
    "%_%",
    "<script>alert(1)</script>",
    "😀",
    "日本語",
    "مرحبا",
    "a" * 10_000,
    " ".join(["word"] * 500),
    "x:*:*:*",
    "\u200b\u200e",
    "\r\n\t",
]


@pytest.fixture
def acme(db):
    team = TeamFactory(name="Acme")
    mia = UserFactory(email="mia@acme.test", full_name="Mia Member")
    MembershipFactory(team=team, user=mia, role=Role.MEMBER)
    MembershipFactory(team=team, user=UserFactory(email="bo@acme.test", full_name="Bo Builder"), role=Role.VIEWER)
    project = ProjectFactory(team=team, name="Invoicing revamp")
    other = ProjectFactory(team=TeamFactory(name="Elsewhere"), name="Invisible project")
    invoice = TaskFactory(
        project=project,
        title="Send the invoices",
        description="**Bold** words and a [link](https://example.com) about `deploying` the printer",
        created_by=mia,
    )
    quiet = TaskFactory(project=project, title="Quiet task", description="", created_by=mia)
    Comment.objects.create(task=quiet, author=mia, body="The _deployment_ went **well**")
    TaskFactory(project=other, title="Invoice of another team", created_by=UserFactory())
    client = Client()
    client.force_login(mia)
    return {"mia": mia, "project": project, "invoice": invoice, "quiet": quiet, "client": client}


def test_words_are_letters_and_digits_and_operators_alone_make_no_query(db):
    assert palette_words("Inv-oice: 'x' & y|z") == ["inv", "oice", "x", "y", "z"]
    assert prefix_tsquery("& | ! ( ) :* <-> \\ ' \x00") is None
    assert prefix_tsquery("") is None
    assert "'deployi':*" in prefix_tsquery("deployi")
    assert "'deploy'" in prefix_tsquery("deployi")


def test_a_title_is_found_from_its_first_letter_and_other_teams_never(acme):
    for typed in ("s", "se", "sen", "send inv", "invoices", "INVOIC"):
        found = palette(acme["mia"], typed)
        assert [hit.title for hit in found.tasks][:1] == ["Send the invoices"], typed
    assert all(hit.title != "Invoice of another team" for hit in palette(acme["mia"], "invoice").tasks)


def test_a_word_typed_half_way_past_its_stem_still_finds_it(acme):
    for typed in ("deplo", "deploy", "deployi", "deployin", "deploying"):
        titles = {hit.title for hit in palette(acme["mia"], typed).tasks}
        assert "Send the invoices" in titles, typed


def test_a_match_only_in_a_comment_is_found_and_says_so_in_plain_text(acme):
    hit = next(h for h in palette(acme["mia"], "deployment").tasks if h.title == "Quiet task")
    assert hit.in_comment
    assert hit.snippet == "The deployment went well"


def test_snippets_are_plain_text_with_the_words_marked(acme):
    response = acme["client"].get("/search/palette/", {"q": "bold"})
    html = response.content.decode()
    assert "<mark>Bold</mark> words and a link about deploying the printer" in html
    assert "**" not in html
    assert "[link]" not in html
    assert "`" not in html


def test_projects_people_and_commands_are_found(acme):
    found = palette(acme["mia"], "inv")
    assert [hit.title for hit in found.projects] == ["Invoicing revamp"]
    assert [hit.title for hit in palette(acme["mia"], "bo").people] == ["Bo Builder"]
    assert [hit.title for hit in palette(acme["mia"], "mia").people] == ["Mia Member"]
    assert palette(acme["mia"], "invisible").projects == []
    commands = palette(acme["mia"], "cal").actions
    assert [(hit.title, hit.url) for hit in commands] == [("Calendar", "/calendar/")]
    new_task = palette(acme["mia"], "new task", here=acme["project"]).actions
    assert new_task[0].url == f"/projects/{acme['project'].pk}/tasks/new/"
    assert {hit.title for hit in palette(acme["mia"], "").actions} >= {"My work", "Calendar", "Dashboard", "New task"}


def test_a_viewer_is_offered_no_new_task(acme):
    viewer = UserFactory()
    MembershipFactory(team=acme["project"].team, user=viewer, role=Role.VIEWER)
    assert [hit.title for hit in palette(viewer, "").actions if hit.title == "New task"] == []


@pytest.mark.parametrize("typed", ODD)
def test_odd_input_answers_results_or_nothing_found(acme, typed):
    response = acme["client"].get("/search/palette/", {"q": typed})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'role="option"' in html or "Nothing found" in html
    assert "<script>" not in html


def test_a_nul_in_the_address_is_the_sites_clear_400_not_the_palettes_concern(acme):
    """A NUL cannot be typed, and the palette's script sends control characters as spaces; one in an address is
    refused before any view, site-wide (aether/hygiene.py, issue #19), as a clear 400."""
    for typed in ("\x00", "a\x00b"):
        response = acme["client"].get("/search/palette/", {"q": typed})
        assert (response.status_code, response.content) == (400, b"The address contains a NUL character.")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(typed=st.text(max_size=300).map(lambda text: text.replace("\x00", " ")))  # as the script sends it
def test_a_fuzz_of_any_text_answers_results_or_nothing_found(acme, typed):
    response = acme["client"].get("/search/palette/", {"q": typed})
    assert response.status_code == 200
    assert prefix_tsquery(typed) is None or prefix_tsquery(typed).count("'") % 2 == 0


def test_a_signed_out_palette_asks_for_sign_in(db):
    response = Client().get("/search/palette/", {"q": "x"})
    assert response.status_code == 302
