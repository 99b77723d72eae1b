"""The password hasher: Argon2id with OWASP's recommended parameters.

Django's Argon2PasswordHasher (5.2) takes 100 MiB and 8 lanes per hash: one API sign-in lifted a web worker
from 73 MB to 195 MB, and a burst of them multiplied it. OWASP's Password Storage Cheat Sheet recommends, as
equivalent choices, m=19 MiB with t=2, or m=46 MiB with t=1, both with p=1; this takes the first (the least
memory for the same strength). The algorithm name is Django's ("argon2"), so hashes made with the old
parameters are still checked, and Django rewrites each with these at its owner's next sign-in
(`must_update`). How many hashes one process computes at once is bounded too (accounts/signin.py).
Figures: docs/performance.md, "Sign-in memory".
"""

from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idPasswordHasher(Argon2PasswordHasher):
    time_cost = 2
    memory_cost = 19 * 1024  # KiB: 19 MiB
    parallelism = 1
