"""Back-off schedules and waits are bounded before they start."""

from __future__ import annotations

import pytest

from ansible_collections.winfleet.updates.plugins.module_utils._alicloud import (
    backoff_delays,
    max_polls,
    wait_until,
)
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError


@pytest.mark.parametrize(
    ("retries", "base", "cap", "expected"),
    [
        (0, 1.0, 20.0, []),
        (3, 1.0, 20.0, [1.0, 2.0, 4.0]),
        (6, 1.0, 20.0, [1.0, 2.0, 4.0, 8.0, 16.0, 20.0]),
        (3, 0.01, 20.0, [0.01, 0.02, 0.04]),
        (2, 0.0, 20.0, [0.0, 0.0]),
    ],
)
def test_backoff_delays(retries, base, cap, expected):
    assert backoff_delays(retries, base, cap) == expected


@pytest.mark.parametrize(
    ("retries", "base", "field"), [(-1, 1.0, "api_retries"), (1, -0.5, "api_retry_delay")]
)
def test_backoff_rejects_negative_values(retries, base, field):
    with pytest.raises(InputError) as err:
        backoff_delays(retries, base)
    assert err.value.field == field


class FakeTime:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.mark.parametrize(
    ("values", "timeout", "interval", "done", "polls", "sleeps"),
    [
        ([True], 10, 1, True, 1, []),
        ([False, False, True], 10, 1, True, 3, [1, 1]),
        ([False] * 100, 3, 1, False, 4, [1, 1, 1]),
        ([False] * 100, 2.5, 1, False, 4, [1, 1, 0.5]),
        ([False] * 100, 0, 1, False, 1, []),
    ],
)
def test_wait_until(values, timeout, interval, done, polls, sleeps):
    fake = FakeTime()
    feed = iter(values)
    outcome = wait_until(lambda: next(feed), bool, timeout, interval, fake.clock, fake.sleep)
    assert (outcome.done, outcome.polls, fake.sleeps) == (done, polls, sleeps)
    assert sum(fake.sleeps) <= timeout


def test_wait_is_bounded_in_polls_even_if_the_clock_stands_still():
    calls = []
    outcome = wait_until(
        lambda: calls.append(1), lambda _v: False, 5, 1, clock=lambda: 0.0, sleep=lambda _s: None
    )
    assert outcome.done is False
    assert len(calls) == max_polls(5, 1) == 6


@pytest.mark.parametrize(
    ("timeout", "interval", "field"), [(-1, 1, "wait_timeout"), (10, 0, "poll_interval")]
)
def test_wait_rejects_bad_bounds(timeout, interval, field):
    with pytest.raises(InputError) as err:
        max_polls(timeout, interval)
    assert err.value.field == field
