"""The demo data's calibration, loaded on each of the next N days: `seed_demo` under a patched clock, then the
backtest of the Demo team, each in a transaction that is rolled back (the database is left as it was).

    createdb -h 127.0.0.1 -U postgres aether_demo_check
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aether_demo_check SECRET_KEY=x .venv/bin/python manage.py migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aether_demo_check SECRET_KEY=x \
      .venv/bin/python bench/forecast_demo_days.py --days 14

Prints a line a day: the day, how many tasks were replayed (and too thin), the shares by p85 and p50.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from datetime import timedelta
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aether.settings")


class _RolledBack(Exception):
    pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=14)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from accounts.models import Team
    from analytics.forecasts.backtest import backtest

    start = timezone.now()
    for day in range(args.days):
        now = start + timedelta(days=day)
        try:
            with mock.patch("django.utils.timezone.now", return_value=now), transaction.atomic():
                call_command("seed_demo", verbosity=0, stdout=io.StringIO())
                result = backtest(Team.objects.get(name="Demo").pk)
                print(
                    f"{now:%Y-%m-%d %a}: {result.replayed} replayed ({result.thin} too thin), "
                    f"by p85 {result.share_p85:.1%}, by p50 {result.share_p50:.1%}",
                    flush=True,
                )
                raise _RolledBack
        except _RolledBack:
            pass


if __name__ == "__main__":
    main()
