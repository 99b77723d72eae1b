"""The search results page (the top bar's search box)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from .. import palette as palette_reads
from .. import selectors
from ..templatetags.task_text import mentions_terms

SEARCH_PAGE_SIZE = 25
MAX_PAGE = 200


def _page_number(raw: str | None) -> int:
    try:
        number = int(raw or 1)
    except ValueError:
        return 1
    return min(max(number, 1), MAX_PAGE)


@login_required
def search(request):
    """Tasks matching `q`, best first, a page at a time. No total count: one row past the page says whether
    there is a next one, so a word in 30,000 tasks costs what a rare one does."""
    query = request.GET.get("q", "").strip()
    error = ""
    if len(query) > selectors.SEARCH_MAX_LENGTH:
        error = f"Search for at most {selectors.SEARCH_MAX_LENGTH} characters."
    number = _page_number(request.GET.get("page"))
    results, has_next = [], False
    if query and not error:
        offset = (number - 1) * SEARCH_PAGE_SIZE
        results = list(selectors.tasks_search(request.user, query)[offset : offset + SEARCH_PAGE_SIZE + 1])
        has_next = len(results) > SEARCH_PAGE_SIZE
        results = results[:SEARCH_PAGE_SIZE]
        # Only a task whose title and description show none of the words matched in a comment: quote it.
        quiet = [t.pk for t in results if not mentions_terms(f"{t.title} {t.description}", query)]
        comments = selectors.search_comment_matches(quiet, query)
        for task in results:
            task.matched_comment = comments.get(task.pk, "")
    return render(
        request,
        "tasks/search.html",
        {
            "query": query,
            "error": error,
            "results": results,
            "page_number": number,
            "has_previous": number > 1 and bool(query),
            "has_next": has_next,
            "offset": (number - 1) * SEARCH_PAGE_SIZE,
        },
        status=400 if error else 200,
    )


@login_required
def palette(request):
    """The command palette's results for `q` (static/js/palette.js asks at each keystroke): an HTML fragment of
    tasks, projects, people and commands, or "Nothing found". Any text gives one of them (tasks/palette.py)."""
    query = request.GET.get("q", "")[: palette_reads.MAX_INPUT]
    here = None
    project = request.GET.get("project", "")
    if project.isdigit() and len(project) < 12:
        here = selectors.projects_visible_to(request.user).filter(pk=int(project)).first()
    found = palette_reads.palette(request.user, query, here=here)
    return render(request, "tasks/_palette.html", {"palette": found, "query": query.strip()})
