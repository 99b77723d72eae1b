"""The account an API access token names, with its teams, cached under a generation per person
(aether/generations.py), so that an API request whose answer is cached (tasks/list_cache.py) touches no
database at all: reading the user and their memberships was two queries and most of such a request's time.

An entry is the User row as the authentication would read it, with `team_zones`, the person's teams and
their time zones ((team id, time zone) in team order). Its key holds the person's generation, which is renewed
once a change commits by every write that could make the entry wrong, from any door (admin included):

- the User row saved or deleted (deactivated, password or name changed, made staff);
- one of their memberships saved or deleted (joined, left, role changed; a team deleted deletes them);
- one of their teams saved (its time zone, which decides their "today").

Every rule that decides what a request may do is still checked where it was: the authentication refuses an
inactive account from the entry as from the row, and the services read roles from the database when they
write. An entry lives at most API_CACHE_SECONDS, which bounds how long a change whose renewal was lost (a
process killed between its commit and the renewal, or a bulk `update()` that sends no signal) could go
unseen. Off (0) unless the cache is shared by every process (Redis).

The entry is the row as the database holds it, its password hash included (simplejwt compares a digest of it
with the token's, so that a password change revokes every token): the cache is to be guarded as the database
is, as it already is for sessions and the sign-out denylist.
"""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save

from aether.generations import Generations

from .models import Membership, Team, User
from .permissions import team_ids_visible_to

GENERATIONS = Generations("account", seconds_setting="API_CACHE_SECONDS")


def user_with_teams(user_id) -> User:
    """The user with `team_zones` attached, from the cache when it holds them at the person's generation; with
    the cache off, the row alone (`team_zones()` reads the teams if they are asked for). Raises
    User.DoesNotExist as the query would."""
    if not GENERATIONS.seconds:
        return User.objects.get(pk=user_id)
    return GENERATIONS.cached([user_id], "user", lambda: _read(user_id))


def _read(user_id) -> User:
    user = User.objects.get(pk=user_id)
    user.team_zones = team_zones(user)
    return user


def team_zones(user) -> list[tuple[int, str]]:
    """(team id, time zone) of each of the user's teams, in team order: attached to a cached account, else read."""
    found = getattr(user, "team_zones", None)
    if found is None:
        teams = Team.objects.filter(pk__in=team_ids_visible_to(user)).order_by("pk")  # the one rule of "my teams"
        found = list(teams.values_list("pk", "time_zone"))
    return found


def _user_changed(sender, instance, using, **kwargs) -> None:
    GENERATIONS.renew_on_commit([instance.pk], using=using)


def _membership_changed(sender, instance, using, **kwargs) -> None:
    GENERATIONS.renew_on_commit([instance.user_id], using=using)


def _team_saved(sender, instance, using, **kwargs) -> None:
    if GENERATIONS.seconds:  # the members are read only when there is a cache to renew
        members = Membership.objects.using(using).filter(team=instance).values_list("user_id", flat=True)
        GENERATIONS.renew_on_commit(members, using=using)


def connect() -> None:
    """From AccountsConfig.ready."""
    post_save.connect(_user_changed, sender=User, dispatch_uid="accounts.account_cache.user_saved")
    post_delete.connect(_user_changed, sender=User, dispatch_uid="accounts.account_cache.user_deleted")
    post_save.connect(_membership_changed, sender=Membership, dispatch_uid="accounts.account_cache.member_saved")
    post_delete.connect(_membership_changed, sender=Membership, dispatch_uid="accounts.account_cache.member_deleted")
    post_save.connect(_team_saved, sender=Team, dispatch_uid="accounts.account_cache.team_saved")
