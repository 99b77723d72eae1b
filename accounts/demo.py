"""The demo accounts that `seed_demo` creates, in one place: the seed writes them, and in debug mode the
sign-in page lists those that exist (accounts cannot import the tasks app, where the seed lives)."""

DEMO_PASSWORD = "aether-demo"  # noqa: S105 -- the documented demo password, for a local demo only

# email, full name, team, role, staff (opens Django admin)
DEMO_PEOPLE = [
    ("alice@example.com", "Alice Martin", "Demo", "owner", False),
    ("bob@example.com", "Bob Okafor", "Demo", "member", False),
    ("carol@example.com", "Carol Nguyen", "Demo", "viewer", False),
    ("dave@example.com", "Dave Schmidt", "Other", "owner", False),
    ("admin@example.com", "Ada Admin", "Demo", "admin", True),
]


def demo_people_create():
    """The demo teams and people (safe to run again): ({local part: user}, {team name: team})."""
    from .models import Membership, Team, User

    teams = {}
    for name in ("Demo", "Other"):
        teams[name], _ = Team.objects.get_or_create(slug=name.lower(), defaults={"name": name})
    users = {}
    for email, full_name, team, role, staff in DEMO_PEOPLE:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(
                email=email, password=DEMO_PASSWORD, full_name=full_name, is_staff=staff, is_superuser=staff
            )
        users[email.split("@")[0]] = user
        Membership.objects.get_or_create(team=teams[team], user=user, defaults={"role": role})
    return users, teams


def demo_logins() -> list[dict]:
    """The demo accounts present in this database, for the debug sign-in page. One query."""
    from .models import User

    present = set(User.objects.filter(email__in=[p[0] for p in DEMO_PEOPLE]).values_list("email", flat=True))
    return [
        {"email": email, "team": team, "role": role, "staff": staff}
        for email, _, team, role, staff in DEMO_PEOPLE
        if email in present
    ]
