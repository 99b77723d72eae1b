"""The embedded PostgreSQL and Redis (aether/embedded.py) in a checkout of their own: they start, answer only with
their passwords, keep their data across runs, stay up while another command holds them, stop with the last
holder, and, as root, never widen a folder's permissions."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import redis

from aether.embedded import SYSTEM_USER, Embedded

pytestmark = pytest.mark.slow


@pytest.fixture
def checkout(tmp_path):
    """A scratch var/ and what the test said, with the services stopped and their data removed at the end."""
    said: list[str] = []
    var = tmp_path / "checkout" / "var"
    var.mkdir(parents=True)
    modes = {p: stat.S_IMODE(p.stat().st_mode) for p in [var, *var.parents]}
    embedded = Embedded(var, say=said.append)
    yield embedded, said, modes
    embedded.stop()
    link = var / "postgres"
    if link.is_symlink():
        shutil.rmtree(link.resolve(), ignore_errors=True)


def _held(embedded):
    return embedded.held(environ={})  # as with neither DATABASE_URL nor REDIS_URL set


def test_they_start_answer_with_their_passwords_only_and_keep_data_across_runs(checkout):
    embedded, said, modes = checkout
    with _held(embedded) as urls:
        assert set(urls) == {"DATABASE_URL", "REDIS_URL"}
        with psycopg.connect(urls["DATABASE_URL"], autocommit=True) as conn:
            assert conn.execute("SHOW server_version").fetchone()[0].startswith("18.")
            conn.execute("CREATE TABLE kept (note text)")
            conn.execute("INSERT INTO kept VALUES ('still here')")
        redis.Redis.from_url(urls["REDIS_URL"]).set("kept", "still here")
        port = urls["DATABASE_URL"].rsplit(":", 1)[1].split("/")[0]
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(f"postgres://postgres:wrong@127.0.0.1:{port}/aether").close()
        with pytest.raises(redis.AuthenticationError):
            redis.Redis.from_url(urls["REDIS_URL"].replace(urls["REDIS_URL"].split("@")[0], "redis://:wrong")).ping()
    assert all(not s.running() for s in embedded.all)  # the last holder stopped them

    with _held(embedded) as urls:
        with psycopg.connect(urls["DATABASE_URL"]) as conn:
            assert conn.execute("SELECT note FROM kept").fetchall() == [("still here",)]
        assert redis.Redis.from_url(urls["REDIS_URL"]).get("kept") == b"still here"

    state = embedded.root / "state.json"
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    assert {p: stat.S_IMODE(p.stat().st_mode) for p in modes} == modes  # no folder opened up
    if os.geteuid() == 0:  # PostgreSQL ran as the system user, with its data where that user may go
        assert embedded.all[0].data.owner() == SYSTEM_USER
        if (embedded.var_dir / "postgres").is_symlink():
            assert any("No folder's permissions were changed" in line for line in said)


def test_they_stay_up_while_another_command_holds_them(checkout):
    embedded, _said, _modes = checkout
    other = subprocess.Popen(
        [sys.executable, "-c", f"""
import time
from pathlib import Path
from aether.embedded import Embedded
with Embedded(Path({str(embedded.var_dir)!r}), say=lambda _: None).held(environ={{}}):
    print("holding", flush=True)
    time.sleep(30)
"""],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    try:
        assert other.stdout.readline().strip() == "holding"
        with _held(embedded) as urls:
            assert redis.Redis.from_url(urls["REDIS_URL"]).ping()
        assert all(s.running() for s in embedded.all)  # the other command still holds them
    finally:
        other.kill()
        other.wait()
    with _held(embedded):  # the killed holder no longer counts: this one is the last
        pass
    assert not any(s.running() for s in embedded.all)


def test_status_names_each_service_and_whether_it_runs(checkout):
    embedded, _said, _modes = checkout
    with _held(embedded):
        postgres, redis_line = embedded.status()
        pids = [s.running() for s in embedded.all]
    assert postgres.startswith("PostgreSQL 18 on 127.0.0.1:")
    assert postgres.endswith(f": running, pid {pids[0]}")
    assert redis_line.startswith("Redis 6.2 on 127.0.0.1:")
    assert redis_line.endswith(f": running, pid {pids[1]}")
    assert all(line.endswith(": stopped") for line in embedded.status())


def test_with_the_addresses_set_nothing_embedded_starts(checkout):
    embedded, _said, _modes = checkout
    elsewhere = {"DATABASE_URL": "postgres://db.example/aether", "REDIS_URL": "redis://cache.example/0"}
    with embedded.held(environ=elsewhere) as urls:
        assert urls == {}
        assert not any(s.running() for s in embedded.all)
    assert not (embedded.var_dir / "postgres").exists()
    assert not Path(embedded.var_dir / "redis").exists()
