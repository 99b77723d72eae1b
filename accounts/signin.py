"""The one sign-in policy, for every door that checks a password: the sign-in page, Django admin's sign-in and
the API's token endpoint all call `django.contrib.auth.authenticate`, and `SignInPolicyBackend` is the
backend that answers it.

Failures are counted in the cache against the account *as the login finds it* (the address trimmed and
case-folded, so `ALICE@example.com` and ` alice@example.com` are one account) and against the client address:

- **account + address**: `AETHER_SIGNIN_PAIR_LIMIT` failures (5) in a window of `AETHER_SIGNIN_WINDOW_MINUTES`
  (15) pause sign-in to that account from that address until the window ends. This is what stops one guesser.
- **account, from any address**: `AETHER_SIGNIN_ACCOUNT_LIMIT` failures (20) in the same window pause sign-in
  to the account from every address *that has not signed in to it before*. Guessing spread over many addresses
  is bounded too, whatever the spelling.
- **known addresses**: an address that signed in to the account successfully in the last
  `AETHER_SIGNIN_KNOWN_DAYS` (30) days is exempt from the account-wide pause (it still has its own pair limit).
  So a stranger who fails twenty times a minute from anywhere cannot keep the owner out from their usual
  address at all, and out of a new address only until the window ends.

While paused no password is checked (so the answer says nothing about the password, and no hash is spent). The
windows are fixed (they start on the clock), so around a window's edge at most twice a limit can be tried.
The counters live in the cache: Redis, shared by every process. When a pause starts for an existing account,
the account audit trail records it.

A password check is an Argon2 hash (19 MiB, accounts/hashers.py), and a flood of sign-ins must not become a
flood of hashes in one process: at most AETHER_PASSWORD_CHECKS_AT_ONCE run at once per process; a sign-in
waits up to AETHER_PASSWORD_CHECK_WAIT seconds for its turn, then is answered 503 with Retry-After (`Busy`),
its password unchecked and nothing counted.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
import time

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.utils.crypto import salted_hmac

logger = logging.getLogger(__name__)

REFUSAL_ATTRIBUTE = "aether_signin_refusal"
BUSY_RETRY_AFTER = 5


@dataclasses.dataclass(frozen=True)
class Refusal:
    """Why a sign-in was not even tried, and for how many seconds more."""

    scope: str  # "address" (this account from this address), "account" (from new addresses), "busy" (see Busy)
    retry_after: int

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(self.retry_after / 60))


def _now() -> float:
    return time.time()  # one place for tests to move the clock


def account_key(username: str) -> str:
    """The account as the sign-in finds it (UserManager.get_by_natural_key trims and lower-cases)."""
    return (username or "").strip().casefold()


def client_address(request) -> str:
    """The client's address: REMOTE_ADDR, or with `API_NUM_PROXIES` proxies in front, the address the nearest
    proxy appended to X-Forwarded-For (a client can write the header, but not what our proxy appends)."""
    if request is None:
        return "-"
    meta = request.META
    proxies = settings.REST_FRAMEWORK.get("NUM_PROXIES") or 0
    forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        if hops:
            return hops[-min(proxies, len(hops))]
    return meta.get("REMOTE_ADDR", "") or "-"


def _digest(*parts: str) -> str:
    # Keyed hash: the cache holds neither email addresses nor IP addresses.
    return salted_hmac("aether.signin", "\0".join(parts)).hexdigest()[:32]


class _Keys:
    def __init__(self, account: str, address: str, now: float):
        window = settings.AETHER_SIGNIN_WINDOW_MINUTES * 60
        self.window = window
        index = int(now // window)
        self.window_ends = (index + 1) * window
        self.pair = f"signin:pair:{_digest(account, address)}:{index}"
        self.account = f"signin:account:{_digest(account)}:{index}"
        self.known = f"signin:known:{_digest(account, address)}"


def check(account: str, address: str) -> Refusal | None:
    """A Refusal if sign-in to `account` from `address` is paused now, else None. One cache round trip."""
    now = _now()
    keys = _Keys(account, address, now)
    found = cache.get_many([keys.pair, keys.account, keys.known])
    retry_after = max(1, math.ceil(keys.window_ends - now))
    if found.get(keys.pair, 0) >= settings.AETHER_SIGNIN_PAIR_LIMIT:
        return Refusal("address", retry_after)
    if found.get(keys.account, 0) >= settings.AETHER_SIGNIN_ACCOUNT_LIMIT and not found.get(keys.known):
        return Refusal("account", retry_after)
    return None


def _incr(key: str, timeout: int) -> int:
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=timeout)
        return 1


def record_failure(account: str, address: str) -> None:
    keys = _Keys(account, address, _now())
    timeout = keys.window + 60
    pair = _incr(keys.pair, timeout)
    total = _incr(keys.account, timeout)
    if pair == settings.AETHER_SIGNIN_PAIR_LIMIT or total == settings.AETHER_SIGNIN_ACCOUNT_LIMIT:
        logger.warning(
            "sign-in paused: account %s, address %s, %d failures from it, %d in all",
            _digest(account),
            address,
            pair,
            total,
        )
        _audit_pause(account, "address" if pair == settings.AETHER_SIGNIN_PAIR_LIMIT else "account", total)


def _audit_pause(account: str, scope: str, failures: int) -> None:
    """Record in the account audit trail that sign-in to an existing account was just paused (nothing for an
    address that has no account: the trail is about accounts)."""
    from .audit import audit_record
    from .models import AccountEventKind, User

    user = User.objects.filter(email=account).first()
    if user is not None:
        audit_record(AccountEventKind.SIGNIN_PAUSED, subject=user, data={"scope": scope, "failures": failures})


class Busy(Exception):
    """No turn to check a password came within AETHER_PASSWORD_CHECK_WAIT seconds."""


_checks: threading.BoundedSemaphore | None = None
_checks_lock = threading.Lock()


def _password_checks() -> threading.BoundedSemaphore:
    global _checks
    with _checks_lock:
        if _checks is None:
            _checks = threading.BoundedSemaphore(settings.AETHER_PASSWORD_CHECKS_AT_ONCE)
        return _checks


class password_check_turn:
    """`with password_check_turn():` around anything that hashes a password for a sign-in: at most
    AETHER_PASSWORD_CHECKS_AT_ONCE at once in this process; raises Busy after waiting too long."""

    def __enter__(self):
        self._semaphore = _password_checks()
        if not self._semaphore.acquire(timeout=settings.AETHER_PASSWORD_CHECK_WAIT):
            raise Busy
        return self

    def __exit__(self, *exc):
        self._semaphore.release()
        return False


def record_success(account: str, address: str) -> None:
    """The address becomes known to the account; its own failure count starts again."""
    keys = _Keys(account, address, _now())
    cache.set_many({keys.known: 1}, timeout=settings.AETHER_SIGNIN_KNOWN_DAYS * 24 * 60 * 60)
    cache.delete(keys.pair)


def within_limit(name: str, ident: str, *, limit: int, window_seconds: int) -> bool:
    """Count one use of `name` by `ident` (hashed) in the current fixed window; False once past `limit`."""
    index = int(_now() // window_seconds)
    return _incr(f"limit:{name}:{_digest(ident)}:{index}", window_seconds + 60) <= limit


def refusal_of(request) -> Refusal | None:
    """The Refusal the backend left on this request, if the last sign-in attempt was paused."""
    return getattr(request, REFUSAL_ATTRIBUTE, None)


class SignInPolicyBackend(ModelBackend):
    """ModelBackend behind the policy. It is listed first; it answers every email-and-password attempt itself
    (a failure raises PermissionDenied so that no later backend checks the same password again), while
    ModelBackend stays listed after it for sessions that name it."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get("email")
        if username is None or password is None:
            return None
        account, address = account_key(username), client_address(request)
        refusal = check(account, address)
        if refusal is not None:
            if request is not None:
                setattr(request, REFUSAL_ATTRIBUTE, refusal)
            raise PermissionDenied("sign-in paused")
        try:
            with password_check_turn():
                user = super().authenticate(request, username=username, password=password)
        except Busy:
            if request is not None:
                setattr(request, REFUSAL_ATTRIBUTE, Refusal("busy", BUSY_RETRY_AFTER))
            raise PermissionDenied("too many sign-ins at once") from None
        if user is None:
            record_failure(account, address)
            raise PermissionDenied("wrong email or password")
        from .second_factor import has_second_factor

        # With a second factor, the sign-in succeeds only when the code does (the code step records it): a
        # right password must not reset the count of wrong codes.
        if not has_second_factor(user):
            record_success(account, address)
        return user
