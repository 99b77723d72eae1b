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


def demo_logins() -> list[dict]:
    """The demo accounts present in this database, for the debug sign-in page. One query."""
    from .models import User

    present = set(User.objects.filter(email__in=[p[0] for p in DEMO_PEOPLE]).values_list("email", flat=True))
    return [
        {"email": email, "team": team, "role": role, "staff": staff}
        for email, _, team, role, staff in DEMO_PEOPLE
        if email in present
    ]
