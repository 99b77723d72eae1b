"""Each permission rule lives once, in accounts/: nothing outside it ranks roles or looks memberships up by user.
Forms, views, the API, admin, analytics and the services ask accounts/permissions.py and accounts/selectors.py
(may this user grant this role, manage this member, edit or delete this comment; who may be assigned a task;
the teams of a user). This test fails naming the file and line where a rule's building blocks appear instead."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ["aether", "tasks", "notifications", "analytics"]

# The building blocks of the rules: the role ranking, the membership table, lookups through a user's memberships
# (or a team's, to find people), and comparisons with the high roles.
BUILDING_BLOCKS = re.compile(
    r"ROLE_RANK|HIGH_ROLES|\bMembership\b|memberships__|\.memberships\b|Role\.(OWNER|ADMIN)\b|role_in\(|accounts_membership"
)


def _sources():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            parts = path.relative_to(ROOT).parts
            if "tests" in parts or "migrations" in parts:
                continue
            yield path


def test_no_rule_building_block_outside_accounts():
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in _sources()
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if BUILDING_BLOCKS.search(line) and not line.lstrip().startswith("#")
    ]
    assert found == [], "Ask accounts/permissions.py or accounts/selectors.py instead:\n" + "\n".join(found)


def test_the_walk_finds_a_building_block(tmp_path):
    """The pattern catches what it is meant to (a guard against a pattern that matches nothing)."""
    samples = [
        "if ROLE_RANK[role] >= 3:",
        "Membership.objects.filter(user=user)",
        "Team.objects.filter(memberships__user=user)",
        "role_in(user, team.pk) == Role.OWNER",
    ]
    assert all(BUILDING_BLOCKS.search(s) for s in samples)
