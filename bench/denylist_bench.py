"""What the sign-out denylist (accounts/tokens.py) costs each API request: one cache read.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aether_load REDIS_URL=redis://127.0.0.1:6379/9 \
      SECRET_KEY=bench-only-secret-0123456789 ALLOWED_HOSTS=testserver SECURE_SSL_REDIRECT=false \
      .venv/bin/python bench/denylist_bench.py --repeat 2000

Times, on a database with the demo accounts (`seed_demo`): the denylist check alone (`is_denied`, one
`get_many` against the cache), and GET /api/v1/me/ in-process (every middleware, JWT check, one query) with
simplejwt's plain authentication and with the denylist's, interleaved so that both see the same machine.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aether.settings")

import django

django.setup()

from django.test import Client  # noqa: E402
from rest_framework.settings import api_settings  # noqa: E402
from rest_framework_simplejwt.authentication import JWTAuthentication  # noqa: E402

from accounts.api import MeView  # noqa: E402
from accounts.models import User  # noqa: E402
from accounts.tokens import DenylistJWTAuthentication, is_denied, pair_for  # noqa: E402


def _us(samples):
    samples = sorted(samples)
    return statistics.median(samples) * 1e6, samples[int(len(samples) * 0.95)] * 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=2000)
    parser.add_argument("--email", default="bob@example.com")
    args = parser.parse_args()
    access = pair_for(User.objects.get(email=args.email)).access_token

    check = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        is_denied(access)
        check.append(time.perf_counter() - start)

    client = Client(HTTP_AUTHORIZATION=f"Bearer {access}")
    timings = {JWTAuthentication: [], DenylistJWTAuthentication: []}

    for i in range(args.repeat * 2):
        auth = JWTAuthentication if i % 2 else DenylistJWTAuthentication
        MeView.authentication_classes = [auth]
        start = time.perf_counter()
        assert client.get("/api/v1/me/").status_code == 200
        timings[auth].append(time.perf_counter() - start)
    MeView.authentication_classes = api_settings.DEFAULT_AUTHENTICATION_CLASSES

    print(f"{args.repeat} runs each; cache: {os.environ.get('REDIS_URL') or 'local memory'}")
    print("| what | median µs | p95 µs |")
    print("| --- | ---: | ---: |")
    print("| denylist check alone (`is_denied`: one `get_many`) | {:.0f} | {:.0f} |".format(*_us(check)))
    plain, deny = _us(timings[JWTAuthentication]), _us(timings[DenylistJWTAuthentication])
    print("| GET /api/v1/me/, simplejwt's authentication | {:.0f} | {:.0f} |".format(*plain))
    print("| GET /api/v1/me/, with the denylist | {:.0f} | {:.0f} |".format(*deny))
    print(f"| difference of the medians | {deny[0] - plain[0]:.0f} | |")


if __name__ == "__main__":
    main()
