"""Search: the selector (PostgreSQL full-text), the results page, the API."""

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from tasks import selectors, services
from tasks.models import Comment
from tasks.templatetags.task_text import highlight, search_terms, snippet
from tasks.tests.api_helpers import api_client
from tasks.tests.factories import ProjectFactory, TaskFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def corpus(team_roles):
    team, other, people = team_roles
    project = ProjectFactory(team=team, name="Apollo")
    member = people["member"]
    tasks = {
        "title": TaskFactory(project=project, title="Invoice export is slow", created_by=member),
        "description": TaskFactory(
            project=project, title="Billing page", description="The invoice total is wrong.", created_by=member
        ),
        "comment": TaskFactory(project=project, title="Checkout", created_by=member),
        "unrelated": TaskFactory(project=project, title="Dark mode", description="Colours.", created_by=member),
        "archived": TaskFactory(project=project, title="Old invoice layout", created_by=member),
        "trashed": TaskFactory(project=project, title="Trashed invoice", created_by=member),
        "outsider": TaskFactory(
            project=ProjectFactory(team=other), title="Their invoice", created_by=people["outsider"]
        ),
    }
    Comment.objects.create(task=tasks["comment"], author=member, body="The invoices need a PDF too.")
    tasks["archived"].archived_at = timezone.now()
    tasks["archived"].save(update_fields=["archived_at"])
    tasks["trashed"].deleted_at = timezone.now()
    tasks["trashed"].save(update_fields=["deleted_at"])
    return team, people, tasks


def titles(qs):
    return [t.title for t in qs]


def test_search_finds_titles_descriptions_and_comments_the_user_may_see_best_first(corpus):
    _, people, _ = corpus
    found = titles(selectors.tasks_search(people["viewer"], "invoice"))
    # Title matches (weight A) first, then the description match, then the comment-only match; the trash and
    # the other team's task are never found; archived tasks are.
    assert set(found) == {"Invoice export is slow", "Old invoice layout", "Billing page", "Checkout"}
    assert found.index("Billing page") > max(found.index("Invoice export is slow"), found.index("Old invoice layout"))
    assert found[-1] == "Checkout"
    assert titles(selectors.tasks_search(people["outsider"], "invoice")) == ["Their invoice"]


def test_websearch_syntax_and_stemming(corpus):
    _, people, _ = corpus
    viewer = people["viewer"]
    assert set(titles(selectors.tasks_search(viewer, "invoicing"))) >= {"Invoice export is slow"}  # stemmed
    assert titles(selectors.tasks_search(viewer, '"invoice export"')) == ["Invoice export is slow"]
    assert "Invoice export is slow" not in titles(selectors.tasks_search(viewer, "invoice -slow"))
    assert set(titles(selectors.tasks_search(viewer, "colours or pdf"))) == {"Dark mode", "Checkout"}
    assert titles(selectors.tasks_search(viewer, "the")) == []  # a stop word alone matches nothing
    assert titles(selectors.tasks_search(viewer, "'\"):*&|!")) == []  # no syntax error from stray operators


def test_the_search_reads_the_gin_indexes(corpus):
    """The search's condition on each table is served by its GIN index. Asked of the condition alone, with
    every scan but a bitmap scan switched off, so that the only plan is the index's (the whole selector's
    plan, on the rows of a test, depends on what earlier tests left in the statistics; its speed at a million
    tasks is measured by bench/search_bench.py)."""
    plans = []
    with connection.cursor() as cursor:
        for knob in ("enable_seqscan", "enable_indexscan", "enable_indexonlyscan"):
            cursor.execute(f"SET LOCAL {knob} = off")
        for table in ("tasks_task", "tasks_comment"):
            cursor.execute(
                f"EXPLAIN SELECT id FROM {table} WHERE search_vector @@ {selectors._TSQUERY}",  # noqa: S608
                ["invoice"],
            )
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
        for knob in ("enable_seqscan", "enable_indexscan", "enable_indexonlyscan"):
            cursor.execute(f"SET LOCAL {knob} = on")
    assert "Bitmap Index Scan on task_search_vector" in plans[0]
    assert "Bitmap Index Scan on comment_search_vector" in plans[1]
    # and the selector finds through it what the corpus holds
    assert selectors.tasks_search(corpus[1]["viewer"], "invoice").exists()


def test_every_word_must_match_in_any_case_and_the_matching_comment_is_quoted(corpus):
    _, people, tasks = corpus
    viewer = people["viewer"]
    assert titles(selectors.tasks_search(viewer, "INVOICE")) == titles(selectors.tasks_search(viewer, "invoice"))
    assert titles(selectors.tasks_search(viewer, "invoice pdf")) == ["Checkout"]  # both words, in its comment
    found = [t.pk for t in selectors.tasks_search(viewer, "invoice")]
    # Only the task whose comment matches gets a quote; a title or description match has none.
    assert selectors.search_comment_matches(found, "PDF") == {tasks["comment"].pk: "The invoices need a PDF too."}
    assert selectors.search_comment_matches(found, "") == {}
    assert selectors.search_comment_matches([], "pdf") == {}


def test_an_empty_search_finds_nothing(corpus):
    _, people, _ = corpus
    assert titles(selectors.tasks_search(people["viewer"], "   ")) == []


def test_the_results_page_marks_the_words_and_escapes_the_rest(client, corpus):
    _, people, tasks = corpus
    TaskFactory(
        project=tasks["title"].project,
        title="<script>alert('invoice')</script>",
        description="An <img src=x onerror=alert(1)> invoice",
        created_by=people["member"],
    )
    client.force_login(people["viewer"])
    page = client.get(reverse("tasks:search"), {"q": "invoice"})
    html = page.content.decode()
    assert page.status_code == 200
    assert "<mark>Invoice</mark> export is slow" in html
    assert "The <mark>invoice</mark> total is wrong." in html
    assert "<mark>invoices</mark> need a PDF too." in html  # the comment that matched, quoted
    assert "found in a comment" in html
    assert "&lt;script&gt;alert(&#x27;<mark>invoice</mark>&#x27;)&lt;/script&gt;" in html
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "Trashed invoice" not in html
    assert "Their invoice" not in html


def test_the_results_page_pages_without_counting(client, corpus, django_assert_max_num_queries):
    _, people, tasks = corpus
    for n in range(30):
        TaskFactory(project=tasks["title"].project, title=f"Quarterly report {n}", created_by=people["member"])
    client.force_login(people["viewer"])
    with django_assert_max_num_queries(12):
        first = client.get(reverse("tasks:search"), {"q": "quarterly"})
    assert len(first.context["results"]) == 25
    assert first.context["has_next"]
    assert '<a href="?q=quarterly&amp;page=2" rel="next">' in first.content.decode()
    second = client.get(reverse("tasks:search"), {"q": "quarterly", "page": 2})
    assert len(second.context["results"]) == 5
    assert not second.context["has_next"]
    assert '<a href="?q=quarterly&amp;page=1" rel="prev">' in second.content.decode()
    assert {t.pk for t in first.context["results"]}.isdisjoint({t.pk for t in second.context["results"]})


def test_a_too_long_search_is_a_message_not_an_error(client, corpus):
    _, people, _ = corpus
    client.force_login(people["viewer"])
    page = client.get(reverse("tasks:search"), {"q": "x" * 201})
    assert page.status_code == 400
    assert "Search for at most 200 characters." in page.content.decode()


def test_the_top_bar_has_the_search_box(client, corpus):
    _, people, _ = corpus
    client.force_login(people["viewer"])
    html = client.get(reverse("tasks:my_work")).content.decode()
    assert f'action="{reverse("tasks:search")}"' in html
    assert '<input type="search" id="search" name="q"' in html


def test_the_api_search_uses_the_same_selector(corpus):
    _, people, _ = corpus
    client = api_client(people["viewer"])
    response = client.get("/api/v1/tasks/", {"search": "invoice"})
    assert response.status_code == 200
    found = [row["title"] for row in response.json()["results"]]
    # The API lists active tasks only (not archived), best match first.
    assert found[0] == "Invoice export is slow"
    assert set(found) == {"Invoice export is slow", "Billing page", "Checkout"}
    ordered = client.get("/api/v1/tasks/", {"search": "invoice", "ordering": "created_at"}).json()["results"]
    assert [row["title"] for row in ordered] == ["Invoice export is slow", "Billing page", "Checkout"]
    assert client.get("/api/v1/tasks/", {"search": "x" * 201}).status_code == 400


def test_a_comment_written_through_the_service_is_found_at_once(corpus):
    _, people, tasks = corpus
    services.comment_create(actor=people["member"], task=tasks["unrelated"], body="Needs a contrast check")
    assert titles(selectors.tasks_search(people["viewer"], "contrast")) == ["Dark mode"]


def test_search_terms_and_snippets():
    assert search_terms('"Invoice export" or -slow tests') == ["invoice", "export", "test"]
    assert str(highlight("Testing <b>", "tests")) == "<mark>Testing</mark> &lt;b&gt;"
    long = "word " * 100 + "needle here " + "word " * 100
    cut = str(snippet([long], "needle"))
    assert cut.startswith("… ")
    assert cut.endswith(" …")
    assert "<mark>needle</mark> here" in cut
    assert len(cut) < 260
    assert str(snippet(["", "from a comment about pdf"], "pdf")) == "from a comment about <mark>pdf</mark>"
