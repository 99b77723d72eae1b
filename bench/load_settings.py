"""Production settings plus one trivial view (bench/load_urls.py), for bench/load.py only."""

from aether.settings import *  # noqa: F403

ROOT_URLCONF = "bench.load_urls"
