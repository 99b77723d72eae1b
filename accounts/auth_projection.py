"""What API authentication needs of the account an access token names, kept in Redis as a small projection, so
that a request answered `304 Not Modified` (aether/conditional.py) reads no database row at all.

Measured (docs/performance.md, "Conditional requests"): reading the user row and the person's teams took two
queries, about a millisecond and a half of a request whose whole budget for a 304 is three; Redis gives them
back with the denylist check, in the round trip authentication makes anyway.

The projection is JSON, never a pickled row and never the password hash:

    {"g": "<the person's account generation>", "a": is_active, "s": is_superuser,
     "d": "<simplejwt's digest of the password hash (what every token carries)>",
     "t": [[team id, team time zone], ...]}

It is read in one round trip with the person's account generation and the two sign-out denylist keys
(accounts/tokens.py), and used only when its "g" is the current generation. Every change it reflects renews
that generation once it commits (aether/generations.py: a User row saved, from any door, by the post_save hook
in accounts/apps.py; a membership added, changed or removed; a team's time zone changed), and a new
projection is read from the database, stamped with the generation read *before* the rows, so that a change
committing meanwhile is never hidden under the new generation.

The user that authentication hands the view has only id, is_active and is_superuser loaded; any other field
(a name for a notification's message, say) is read from the database when first used.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from rest_framework_simplejwt.utils import get_md5_hash_password

from aether import generations


def _key(user_id: int) -> str:
    return f"auth:{user_id}"


@dataclass(frozen=True)
class Projection:
    generation: str
    is_active: bool
    is_superuser: bool
    password_digest: str
    teams: list[tuple[int, str]]  # (team id, time zone), in team id order

    def dumps(self) -> str:
        teams = [list(t) for t in self.teams]
        return json.dumps(
            {"g": self.generation, "a": self.is_active, "s": self.is_superuser, "d": self.password_digest, "t": teams}
        )

    @classmethod
    def loads(cls, raw: bytes) -> Projection:
        data = json.loads(raw)
        return cls(data["g"], data["a"], data["s"], data["d"], [(t, z) for t, z in data["t"]])


def read(user_id: int, generation: str) -> Projection:
    """The projection from the database (raises User.DoesNotExist), stamped with `generation`, read before."""
    from .models import Team
    from .permissions import team_ids_visible_to

    User = get_user_model()
    active, superuser, password = User.objects.values_list("is_active", "is_superuser", "password").get(pk=user_id)
    user = User(pk=user_id, is_active=active)
    teams = Team.objects.filter(pk__in=team_ids_visible_to(user)).order_by("pk").values_list("pk", "time_zone")
    return Projection(generation, active, superuser, get_md5_hash_password(password), list(teams))


def authenticate(user_id: int, denylist_keys: list[str]) -> tuple[object, bool]:
    """(the user, whether any of `denylist_keys` is set), in one Redis round trip when the projection is current.
    Raises User.DoesNotExist for an account that is gone."""
    from django.core.cache import cache

    (generation,), (raw, *denied) = generations.current(
        [generations.account(user_id)], plain=[_key(user_id), *denylist_keys]
    )
    projection = None
    if raw is not None:
        try:
            projection = Projection.loads(raw)
        except (ValueError, KeyError, TypeError):
            projection = None
        if projection is not None and projection.generation != generation:
            projection = None
    if projection is None:
        projection = read(user_id, generation)
        cache.set_raw_many({_key(user_id): projection.dumps()}, timeout=generations.seconds())
    return user_from(user_id, projection), any(value is not None for value in denied)


def user_from(user_id: int, projection: Projection):
    """A User with id, is_active and is_superuser loaded (other fields load on first use) and the projection."""
    User = get_user_model()
    known = {"id": user_id, "is_active": projection.is_active, "is_superuser": projection.is_superuser}
    names = [f.attname for f in User._meta.concrete_fields if f.attname in known]  # from_db wants field order
    user = User.from_db("default", names, [known[name] for name in names])
    user._aether_projection = projection
    return user


def projection_of(user) -> Projection:
    """The projection authentication attached to `user`, or one read now (a session, a test's forced user)."""
    found = getattr(user, "_aether_projection", None)
    if found is None:
        found = user._aether_projection = read(user.pk, "")
    return found


def user_row_saved(sender, instance, using, update_fields=None, **kwargs) -> None:
    """post_save / post_delete of User (connected in AccountsConfig.ready): report the account changed
    (aether/changes.py), and the person's teams (their name shows in comments, dashboards, member lists).

    A framework hook, not business logic: the User row is written by Django's own machinery from many doors
    (password change and reset forms, admin's user and password pages, `changepassword`, sign-in's
    last_login), and the projection above copies it, so the row's save is what must renew it. A save of
    last_login alone changes nothing the projection or any answer shows."""
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return
    from aether.changes import record

    from .models import Membership

    teams = Membership.objects.using(using).filter(user_id=instance.pk).values_list("team_id", flat=True)
    record(accounts=[instance.pk], teams=list(teams))
