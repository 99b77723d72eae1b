"""What the task pages share: scoped lookups (another team's object is a 404), safe redirects, capped paging."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.utils.functional import cached_property
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.models import Team
from accounts.permissions import Action, can, require
from accounts.selectors import memberships_of

from .. import selectors
from ..models import Project, Task

LIST_PAGE_SIZE = 25


class CappedPaginator(Paginator):
    """Counts at most `cap` + 1 rows: a list matching half a million tasks must not pay a full COUNT on every
    page view. Past the cap the page says "10,000+" and offers the pages up to it.

    The count drops the list's ORDER BY: kept, PostgreSQL sorted every matching row to find which 10,001 to
    count (2.6 s on a project of 500,000 tasks); without it the count stops after 10,001 index entries."""

    cap = 10_000

    def page(self, number):
        """The page's rows in two steps: the ids of the page (from the index, however deep the page), then
        those rows with their annotations. In one query PostgreSQL computed the per-row subqueries (stage
        counts) for every row skipped by the OFFSET too: page 200 of a big project took 16 s."""
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        ids = list(self.object_list.values_list("pk", flat=True)[bottom:top])
        rows = {row.pk: row for row in self.object_list.order_by().filter(pk__in=ids)} if ids else {}
        return self._get_page([rows[pk] for pk in ids if pk in rows], number, self)

    @cached_property
    def count(self) -> int:
        # values(): no annotations in the count; order_by(): any 10,001 rows will do
        return self.object_list.order_by().values("pk")[: self.cap + 1].count()


def _errors_text(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _back(request, default: str) -> HttpResponseRedirect:
    """Redirect to the form's `next` when it is a path on this site, else to `default`."""
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(default)


def _project_or_404(request, pk: int) -> Project:
    return get_object_or_404(selectors.projects_visible_to(request.user), pk=pk)


def _task_or_404(request, pk: int, *, include_deleted: bool = False) -> Task:
    qs = selectors.with_details(selectors.tasks_visible_to(request.user, include_deleted=include_deleted))
    return get_object_or_404(qs, pk=pk)


def _teams_where(user, action: Action) -> list[Team]:
    return [m.team for m in memberships_of(user) if can(user, action, m.team_id)]


def _task_for_work(request, pk: int) -> Task:
    """The task, if the user sees it (else 404) and may work on it (else 403)."""
    task = _task_or_404(request, pk)
    require(request.user, Action.WORK, task.project.team_id)
    return task


def _stage_for_work(request, pk: int):
    stage = get_object_or_404(selectors.stages_visible_to(request.user), pk=pk)
    require(request.user, Action.WORK, stage.task.project.team_id)
    return stage
