"""The collection's one poll/reconnect loop (virtio_install and cau_run both follow their worker here)."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleConnectionFailure
from ansible_collections.winfleet.updates.plugins.plugin_utils._host_poll import (
    Reconnector,
    follow_run,
    reset_connection,
)
from tests.unit.plugins.plugin_utils.fake_clock import FakeClock


class FlakyConnection:
    """psrp after a NIC reset: close() and reset() raise whatever they like a few times."""

    def __init__(self, failures: list[BaseException]) -> None:
        self.failures = list(failures)
        self.resets = 0
        self.closes = 0

    def close(self) -> None:
        self.closes += 1
        raise KeyError("runspace pool")  # a failed close leaves psrp marked connected

    def reset(self) -> None:
        self.resets += 1
        if self.failures:
            raise self.failures.pop(0)


def test_reset_is_repeated_after_any_exception_until_it_succeeds():
    clock = FakeClock()
    connection = FlakyConnection([RuntimeError("pypsrp: WSManFault"), ValueError("bad state"), AnsibleConnectionFailure("down")])
    assert reset_connection(connection, attempts=5, interval=1.0, sleep=clock.sleep) is True
    assert connection.resets == 4 and connection.closes == 4 and clock.now == 3.0


def test_reset_gives_up_quietly_after_its_attempts():
    connection = FlakyConnection([RuntimeError("x")] * 10)
    assert reset_connection(connection, attempts=3, interval=0, sleep=lambda s: None) is False


def test_a_reconnector_survives_a_reset_that_raises():
    clock = FakeClock()
    connection = FlakyConnection([RuntimeError("reset failed while away")] * 3)
    answers = [AnsibleConnectionFailure("down"), AnsibleConnectionFailure("down"), "ok"]

    def call():
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    reconnector = Reconnector(connection, timeout=60, interval=2, sleep=clock.sleep, clock=clock)
    assert reconnector.call("poll", call) == "ok" and reconnector.failures == 2


def _running(transient: str | None = None) -> dict:
    return {"run": {"state": "running", "transient_error": transient}}


def test_transient_errors_are_polled_through_until_a_definite_answer():
    clock = FakeClock()
    answers = [
        _running(),
        _running("Get-CauRun -ClusterName c1 failed: The cluster service is not running"),
        AnsibleConnectionFailure("node restarting"),
        _running("Get-CauReport -ClusterName c1 failed: cannot connect"),
        {"run": {"state": "finished", "status": "Succeeded", "transient_error": None}},
    ]

    def poll():
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def reset():
        raise RuntimeError("psrp close failed")  # any exception while resetting is tolerated

    outcome = follow_run(poll, reset, timeout=600, interval=10, clock=clock, sleep=clock.sleep)
    assert not outcome.timed_out and outcome.last["run"]["state"] == "finished"
    assert (outcome.polls, outcome.reconnects, outcome.transient_errors) == (4, 1, 2)


def test_a_transient_error_until_the_deadline_times_out_naming_it():
    clock = FakeClock()
    outcome = follow_run(lambda: _running("Get-CauRun -ClusterName c1 failed: RPC server unavailable"), lambda: None,
                         timeout=60, interval=10, clock=clock, sleep=clock.sleep)
    assert outcome.timed_out and outcome.transient_errors == 7
    assert outcome.last_error == "Get-CauRun -ClusterName c1 failed: RPC server unavailable"


def test_silence_longer_than_the_limit_is_unreachable():
    clock = FakeClock()

    def poll():
        raise AnsibleConnectionFailure("down")

    with pytest.raises(AnsibleConnectionFailure) as err:
        follow_run(poll, lambda: None, timeout=600, interval=5, clock=clock, sleep=clock.sleep, silence_timeout=12)
    assert "has not answered for 12 s" in str(err.value)


def test_other_exceptions_propagate():
    with pytest.raises(ZeroDivisionError):
        follow_run(lambda: 1 / 0, lambda: None, timeout=10, interval=1)
