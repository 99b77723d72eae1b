"""The API's rate limit (aether/throttling.py) on the real Redis: requests of one client arriving at the same
moment are each counted (DRF's list-in-the-cache throttle let lost updates through), the previous window
weighs by how much of it is still inside the last period, Retry-After says when a request would pass, and
a window's counter lives two periods in Redis."""

from __future__ import annotations

import threading

import pytest
from django.core.cache import cache

from accounts.tests.factories import UserFactory
from aether.throttling import UserRateThrottle, window_counts
from tasks.tests.api_helpers import api_client

pytestmark = pytest.mark.django_db
T0 = 1_800_000_000 // 60 * 60  # the start of a minute


class _Request:
    def __init__(self, user):
        self.user = user
        self.META = {"REMOTE_ADDR": "10.0.0.1"}


def throttle(rate: str, now: float) -> UserRateThrottle:
    made = UserRateThrottle.__new__(UserRateThrottle)
    made.rate = rate
    made.num_requests, made.duration = made.parse_rate(rate)
    made.timer = lambda: now
    return made


def test_requests_at_the_same_moment_are_each_counted(db):
    user = UserFactory()
    request = _Request(user)
    allowed = []
    start = threading.Barrier(24)

    def one():
        start.wait()
        allowed.append(throttle("10/min", T0 + 5).allow_request(request, None))

    threads = [threading.Thread(target=one) for _ in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(allowed) == [False] * 14 + [True] * 10


def test_the_previous_window_weighs_by_its_share_still_inside_the_period(db):
    request = _Request(UserFactory())
    assert all(throttle("10/min", T0 + 50).allow_request(request, None) for _ in range(10))
    assert throttle("10/min", T0 + 59).allow_request(request, None) is False  # 11 in this minute
    # 45 s into the next minute a quarter of the last one is still inside the period: 11 * 0.25 = 2.75 of it.
    later = [throttle("10/min", T0 + 105).allow_request(request, None) for _ in range(8)]
    assert later == [True] * 7 + [False]


def test_each_person_and_each_window_counts_apart(db):
    first, second = _Request(UserFactory()), _Request(UserFactory())
    assert [throttle("2/min", T0 + 1).allow_request(first, None) for _ in range(3)] == [True, True, False]
    assert throttle("2/min", T0 + 1).allow_request(second, None) is True
    # Two periods on, nothing of the old counts is left.
    assert throttle("2/min", T0 + 121).allow_request(first, None) is True


def test_retry_after_is_when_a_request_would_pass_again(db):
    request = _Request(UserFactory())
    for _ in range(3):
        made = throttle("3/min", T0 + 30)
        made.allow_request(request, None)
    refused = throttle("3/min", T0 + 30)
    assert refused.allow_request(request, None) is False
    wait = refused.wait()
    # 4 counted at 30 s: in the next minute they weigh 4 * (1 - f), and 4 * (1 - f) + 1 <= 3 once f >= 0.5.
    assert wait == pytest.approx(30 + 30)
    assert throttle("3/min", T0 + 30 + wait).allow_request(request, None) is True


def test_a_window_counter_is_a_plain_integer_that_lives_two_periods(db):
    request = _Request(UserFactory())
    answers = [throttle("3/min", T0 + 10).allow_request(request, None) for _ in range(4)]
    assert answers == [True, True, True, False]
    key = f"throttle_user_{request.user.pk}:{T0 // 60}"
    assert cache.get(key) == 4  # refused requests count too
    redis = cache._cache.get_client(write=True)
    assert 110 < redis.ttl(cache.make_and_validate_key(key)) <= 120
    # The previous window is read as it is stored, and a missing one is 0.
    cache.set("throttle-test:before", 7)
    assert window_counts(cache, "throttle-test:now", "throttle-test:before", timeout=60) == (1, 7)
    assert window_counts(cache, "throttle-test:now", "throttle-test:none", timeout=60) == (2, 0)


def test_through_the_api_the_limit_answers_429_with_retry_after(monkeypatch):
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {**UserRateThrottle.THROTTLE_RATES, "user": "2/min"})
    client = api_client(UserFactory())
    codes = [client.get("/api/v1/me/").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    refused = client.get("/api/v1/me/")
    assert refused.json()["code"] == "throttled"
    assert 0 < int(refused["Retry-After"]) <= 120
