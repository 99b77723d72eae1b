"""The trash and the archive."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from accounts.permissions import Action, can

from .. import selectors
from ._common import LIST_PAGE_SIZE, CappedPaginator


@login_required
def trash(request):
    page = CappedPaginator(selectors.trash_page(request.user), LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    for task in page:
        task.can_restore = can(request.user, Action.WORK, task.project.team_id)
    return render(request, "tasks/trash.html", {"page": page})


@login_required
def archive(request):
    page = CappedPaginator(selectors.archive_page(request.user), LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "tasks/archive.html", {"page": page})
