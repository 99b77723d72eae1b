"""Imports between the apps go one way: notifications (bottom) <- accounts <- tasks <- analytics. An app's code
(not its tests or migrations) never imports an app above it, so no import cycle can form and a lower app
can be read, tested and changed without the ones that build on it."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ["notifications", "accounts", "tasks", "analytics"]  # bottom first


def imported_apps(app: str) -> dict[str, set[str]]:
    """module path -> the apps of LAYERS it imports (at any depth: function-level imports count too)."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / app).rglob("*.py")):
        parts = path.relative_to(ROOT / app).parts
        if parts[0] in ("tests", "migrations"):
            continue
        names = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
        apps = {name.split(".")[0] for name in names} & set(LAYERS) - {app}
        if apps:
            found[str(path.relative_to(ROOT))] = apps
    return found


@pytest.mark.parametrize("app", LAYERS)
def test_an_app_imports_only_the_apps_below_it(app):
    above = set(LAYERS[LAYERS.index(app) + 1 :])
    wrong = {module: apps & above for module, apps in imported_apps(app).items() if apps & above}
    assert wrong == {}


def test_the_scan_sees_imports():
    """The check above is not vacuous: tasks does import accounts and notifications."""
    seen = set().union(*imported_apps("tasks").values())
    assert {"accounts", "notifications"} <= seen
