"""The task list API's pages (`GET /api/v1/tasks/`), cached whole per person and request, under the generations
of the person's teams (aether/generations.py).

A page is what one person sees at one instant, so its key holds everything the body depends on: the person,
the URL as asked (host, path, filters, ordering, page), the media type, the time zone its times are written
in, and for each of the person's teams its id, its time zone, its "today" and due-soon horizon there (the
overdue and due-soon marks and filters, tasks/deadlines.py), and its generation. What changes a page renews
the generations of the teams it touches once its transaction commits:

- every write of task or stage rows (the services behind the HTML pages, the API and admin, the jobs,
  archiving, trash and restore): they all go through `tasks.changes.task_rows_changing`, whose observer here
  renews the teams of the tasks before and after the write;
- a label saved or deleted (its name and colour are on the page), from any door, admin included: the model's
  signals.

Joining or leaving a team changes the list of teams in the key, a team's time zone is in it, and midnight in a
team's time zone changes its "today": none of those needs a renewal. A deactivated account is refused by the
authentication before the cache is read.

Off (API_CACHE_SECONDS = 0) unless the cache is shared by every process (Redis), as the dashboard cache
is; a cache that cannot be reached only costs the computation. An entry lives at most API_CACHE_SECONDS,
which bounds how long a page could lag after a change whose renewal was lost (a process killed between its
commit and the renewal).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.http import HttpResponse
from django.utils import timezone

from accounts.account_cache import team_zones
from aether.generations import Generations

from .deadlines import deadlines_for

log = logging.getLogger(__name__)
GENERATIONS = Generations("tasks", seconds_setting="API_CACHE_SECONDS")


def cached_page(request, compute: Callable[[], HttpResponse]) -> HttpResponse:
    """compute()'s response, or the body it gave for the same key. Only 200s are kept."""
    seconds = GENERATIONS.seconds
    if not seconds:
        return compute()
    try:
        key = _key(request)
        hit = cache.get(key)
    except Exception:
        log.warning("tasks: the cache cannot be reached; computing the task list", exc_info=True)
        return compute()
    if hit is not None:
        content_type, body = hit
        return HttpResponse(body, content_type=content_type)
    response = compute()
    if response.status_code == 200 and hasattr(response, "add_post_render_callback"):

        def keep(rendered):
            try:
                cache.set(key, (rendered["Content-Type"], rendered.content), timeout=seconds)
            except Exception:
                log.warning("tasks: could not cache the task list", exc_info=True)

        response.add_post_render_callback(keep)
    return response


def _key(request) -> str:
    teams = team_zones(request.user)  # from the cached account (accounts/account_cache.py) when it is one
    deadlines = deadlines_for(request)
    days = [(team, zone, deadlines.day(zone)) for team, zone in teams]  # today and the due-soon horizon there
    what = (
        request.user.pk,
        request.build_absolute_uri(),
        request.accepted_renderer.media_type,
        timezone.get_current_timezone_name(),
        days,
    )
    return GENERATIONS.key([team for team, _ in teams], what)


class TeamsOfChangedTasks:
    """The task-row observer (tasks/changes.py) that renews the generations of the changed tasks' teams: those
    of the tasks before the write (a task deleted or moved away) and after it (a task created or moved in)."""

    def snapshot(self, task_ids: list[int]) -> set[int]:
        return _teams_of(task_ids) if task_ids and GENERATIONS.seconds else set()

    def apply(self, task_ids: list[int], before: set[int]) -> None:
        if GENERATIONS.seconds:
            GENERATIONS.renew_on_commit(before | _teams_of(task_ids))


def _teams_of(task_ids: list[int]) -> set[int]:
    from .models import Task

    return set(Task.objects.filter(pk__in=task_ids).values_list("project__team_id", flat=True).distinct())


observer = TeamsOfChangedTasks()


def _label_changed(sender, instance, **kwargs) -> None:
    GENERATIONS.renew_on_commit([instance.team_id], using=kwargs.get("using"))


def connect() -> None:
    """From TasksConfig.ready: the observer of task writes, and the label signals."""
    from .changes import observer_register
    from .models import Label

    observer_register(observer)
    post_save.connect(_label_changed, sender=Label, dispatch_uid="tasks.list_cache.label_saved")
    post_delete.connect(_label_changed, sender=Label, dispatch_uid="tasks.list_cache.label_deleted")
