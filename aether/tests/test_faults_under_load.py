"""The fault run's short form (bench/faults.py --short): 20 people on web, worker and beat while each of them is
killed once, PostgreSQL crashes (immediate stop) and Redis is killed, then every invariant of issue 24 is checked.

It starts its own embedded PostgreSQL and Redis in a folder of its own, on free ports, so it collides neither with
the suite's services (it never stops those) nor with another xdist worker. About a minute and a half."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.mark.slow
def test_faults_under_load_lose_nothing_and_send_nothing_twice(tmp_path):
    summary_file = tmp_path / "summary.json"
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "faults.py"), "--short", "--seconds", "30",
         "--var", str(tmp_path / "run"), "--json", str(summary_file)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert summary_file.exists(), run.stdout[-3000:] + run.stderr[-3000:]
    summary = json.loads(summary_file.read_text())

    assert summary["breaches"] == [], run.stdout[-6000:]
    assert run.returncode == 0
    # One fault of each kind was injected, and the site came back after each.
    kinds = {f["fault"].split(" during ")[0] for f in summary["faults"]}
    assert kinds == {"web worker", "web master", "worker", "beat", "postgres", "redis"}
    assert all(f["recovered_s"] is not None for f in summary["faults"])
    # While a service was down, the API and /healthz said so (the page too, where it needs the database).
    assert len(summary["outage_views"]) == 6
    figures = summary["figures"]
    assert figures["acknowledged_writes_lost"] == 0
    assert figures["refused_writes_kept"] == 0
    assert figures["emails_lost"] == figures["emails_doubled"] == 0
    assert figures["emails_sent"] == figures["email_files"] > 0
    assert figures["deadline_notices"] > 0
    assert figures["deadline_notices_missed"] == figures["deadline_notices_doubled"] == 0
    assert figures["occurrences_missed"] == figures["occurrences_doubled"] == 0
    assert figures["analytics_differences"] == 0
    assert summary["writes"]["ack"] > 100
