"""One database engine, one code path per query: PostgreSQL everywhere, so no code outside migrations asks which
engine it runs on. The walk below reads every .py file of the project (not .venv, var/, migrations or this file)
and names each file:line that does, so a second path for another engine cannot come back unnoticed.

What counts as asking, found in the syntax tree (so prose, strings and comments never count):
- reading a `.vendor` attribute (`connection.vendor`, `connections[alias].vendor`), or naming it to
  `getattr`/`hasattr`/`setattr`/`patch.object`, or passing `vendor=` (a mock of another engine's connection);
- the same inside the string condition of `pytest.mark.skipif("connection.vendor != …")`, which pytest
  evaluates as code;
- reading a connection's `.features` (`connection.features.has_select_for_update_skip_locked`): the same
  question asked of one capability;
- defining a per-engine compile method (`as_postgresql`, `as_sqlite`, …), which Django picks by the vendor and
  leaves every other engine on `as_sql`.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
THIS = Path(__file__).resolve()
SKIPPED_DIRS = {".venv", "var", "migrations", "node_modules", "__pycache__"}
PER_ENGINE_METHODS = {f"as_{vendor}" for vendor in ("postgresql", "sqlite", "mysql", "oracle", "mariadb")}
NAMING_CALLS = {"getattr", "hasattr", "setattr", "delattr", "object"}  # object: mock.patch.object
STRING_CONDITIONS = {"skipif", "xfail"}  # pytest evaluates a string condition as Python


def _is_connection(node: ast.expr) -> bool:
    """`connection`, `conn`, `self.connection`, `connections[alias]`, `connections[alias].…`: a connection."""
    if isinstance(node, ast.Subscript):
        node = node.value
    name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""
    return name in {"conn", "connection", "connections"} or name.endswith("_connection")


def _called(node: ast.Call) -> str:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def engine_questions(source: str, filename: str = "<source>") -> list[tuple[int, str]]:
    """(line, what) for each place in `source` that asks which database engine it runs on."""
    return sorted(_questions(ast.parse(source, filename)))


def _questions(tree: ast.AST, line_offset: int = 0) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 1) + line_offset
        if isinstance(node, ast.Attribute) and node.attr == "vendor":
            found.append((line, "reads .vendor"))
        elif isinstance(node, ast.Attribute) and node.attr == "features" and _is_connection(node.value):
            found.append((line, "reads a connection's .features"))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in PER_ENGINE_METHODS:
            found.append((line, f"defines {node.name}"))
        elif isinstance(node, ast.Call):
            called = _called(node)
            if called in NAMING_CALLS and any(isinstance(a, ast.Constant) and a.value == "vendor" for a in node.args):
                found.append((line, f'{called}(…, "vendor")'))
            if any(k.arg == "vendor" for k in node.keywords):
                found.append((line, f"{called}(vendor=…)"))
            if called in STRING_CONDITIONS:
                conditions = [*node.args[:1], *(k.value for k in node.keywords if k.arg == "condition")]
                for condition in conditions:
                    if isinstance(condition, ast.Constant) and isinstance(condition.value, str):
                        try:
                            parsed = ast.parse(condition.value.strip(), mode="eval")
                        except SyntaxError:
                            continue
                        found += [(line, f"{what} (in a {called} condition)") for _, what in _questions(parsed)]
    return found


def project_files() -> list[Path]:
    files = []
    for folder, dirs, names in os.walk(ROOT):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith("."))
        files += [Path(folder) / name for name in sorted(names) if name.endswith(".py")]
    return [f for f in files if f.resolve() != THIS]


def test_no_code_outside_migrations_asks_which_database_engine_it_runs_on():
    files = project_files()
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {what}"
        for path in files
        for line, what in engine_questions(path.read_text(encoding="utf-8"), str(path))
    ]
    assert offenders == [], "PostgreSQL is the only engine; keep one code path per query:\n" + "\n".join(offenders)
    # The walk saw the project: its apps, their tests and bench/, and none of what it skips.
    seen = {str(f.relative_to(ROOT)) for f in files}
    assert {"tasks/sql.py", "notifications/services.py", "analytics/export.py", "bench/pages_bench.py"} <= seen
    assert {"aether/settings.py", "tasks/tests/test_search.py", "conftest.py"} <= seen
    assert not any(part in SKIPPED_DIRS for f in seen for part in Path(f).parts)
    assert "aether/tests/test_one_engine.py" not in seen


def test_the_walk_finds_each_way_of_asking_and_nothing_in_prose():
    source = '''
"""Runs on PostgreSQL, not SQLite; the vendor of the assets is irrelevant."""
# if connection.vendor == "sqlite": a comment, not code
from django.db import connection, connections

vendor = "vendored/chartjs"  # a name, not an attribute
label = "connection.vendor"
a = connection.vendor == "postgresql"
b = connections["replica"].vendor
c = getattr(connection, "vendor", None)
d = connection.features.has_select_for_update_skip_locked
e = connections[alias].features.can_return_rows_from_bulk_insert
f = mock.Mock(vendor="sqlite")
g = mock.patch.object(connection, "vendor", "sqlite")
h = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="a string the marker evaluates")
i = pytest.mark.skipif(not shutil.which("redis-server"), reason="needs the redis-server binary")
j = pytest.mark.skipif("sys.platform == 'win32'")


class Lookup:
    def as_sqlite(self, compiler, connection):
        return "", []

    def as_sql(self, compiler, connection):
        return "", []
'''
    assert engine_questions(source) == [
        (8, "reads .vendor"),
        (9, "reads .vendor"),
        (10, 'getattr(…, "vendor")'),
        (11, "reads a connection's .features"),
        (12, "reads a connection's .features"),
        (13, "Mock(vendor=…)"),
        (14, 'object(…, "vendor")'),
        (15, "reads .vendor (in a skipif condition)"),
        (21, "defines as_sqlite"),
    ]
