"""A web process loads what it serves, not every library the site can use: the CSV export's 100 MB ceiling
(docs/performance.md) is the serving process's whole memory, Django and its apps included. The Markdown
renderer, the sanitiser, the iCal writer and the OpenAPI generator's views are imported on first use."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOADED_ON_FIRST_USE = ["markdown_it", "nh3", "icalendar", "drf_spectacular.views"]

PROGRAM = """
import json, sys
import django
django.setup()
from django.urls import get_resolver, reverse
get_resolver().url_patterns  # every URL module and the view modules they import, as a first request does
reverse("api-schema"), reverse("api-docs")
before = {name: name in sys.modules for name in json.loads(sys.argv[1])}
from tasks.templatetags.task_text import render_markdown
html = str(render_markdown("**bold** <script>x</script>"))
print(json.dumps({"before": before, "html": html}))
"""


def test_the_url_configuration_does_not_load_the_libraries_of_rarely_served_views():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "aether.settings",
        # Services as in production; the program only imports and resolves URLs, it never connects to them.
        "DATABASE_URL": "postgres://aether@db.internal:5432/aether",
        "REDIS_URL": "redis://cache.internal:6379/0",
        "SECRET_KEY": "test-only-" + "x" * 50,
        "DEBUG": "0",
    }
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, json.dumps(LOADED_ON_FIRST_USE)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["before"] == dict.fromkeys(LOADED_ON_FIRST_USE, False)
    # Loaded when first needed, and still doing its job: Markdown rendered, the script tag escaped away.
    assert "<strong>bold</strong>" in result["html"]
    assert "<script>" not in result["html"]
