"""A short cache of dashboard figures, keyed by a generation per team that every change of its figures renews.

Every write of kept figures goes through `figures.rows_upsert` (the observer of every task write, and the
rebuild); it calls `generations_renew(team_ids)`, which, once the transaction has committed, gives each team a
new random generation in the shared cache (aether/generations.py). A dashboard's figures are cached under its
scope (kind, project or team, assignee, range, each team's today) and the generations of its teams, so a
change in a team moves all of that team's dashboards to new keys at once: nothing is invalidated by hand, and
a reader can never get figures older than its team's last committed change, save in the two cases below.

- A process that dies between its commit and the renewal (or a cache that cannot be reached just then) leaves
  the old generation in place: its dashboards may lag by at most ANALYTICS_CACHE_SECONDS.
- With a reporting replica (analytics/routers.py), figures read from a replica that has not yet replayed the
  change are cached under the new generation, for the same bound.

The person who made the change sees it at once: on_commit callbacks run before the view returns.

The cache is Redis, shared by every process, so a job in the worker renews the generations the web process
reads; ANALYTICS_CACHE_SECONDS = 0 turns it off. When the cache cannot be reached, figures are computed as if
it were off; a dashboard never fails because of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from aether.generations import Generations

GENERATIONS = Generations("analytics", seconds_setting="ANALYTICS_CACHE_SECONDS")


def generations_renew(team_ids: Iterable[int], *, using: str | None = None) -> None:
    """After the current transaction commits (at once outside one), give these teams new generations."""
    GENERATIONS.renew_on_commit(team_ids, using=using)


def figures_cached(scope, compute: Callable[[object], dict]) -> dict:
    """compute(scope), or the figures cached for the same scope at the same generations of its teams."""
    what = (
        scope.kind,
        scope.project.pk if scope.project else None,
        scope.team.pk if scope.team else None,
        scope.assignee_id,
        scope.since,
        scope.until,
        scope.today,
        sorted(scope.team_todays.items()),
    )
    return GENERATIONS.cached(sorted(scope.team_todays), what, lambda: compute(scope))
