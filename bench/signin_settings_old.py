"""Production settings as they were before accounts/hashers.py, for bench/signin_memory_bench.py's "before" run
only: Django's Argon2 parameters (100 MiB, 8 lanes a hash) and no bound on the password checks at once."""

from aether.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
AETHER_PASSWORD_CHECKS_AT_ONCE = 1000
