"""A clock the controller loops under test read and sleep on, so no test waits for real time."""

from __future__ import annotations


class FakeClock:
    """``clock()`` returns the simulated time; ``sleep(s)`` advances it and records the wait."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
