# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Follow work a host runs detached, through dropped connections (for internal collection use only).

The one controller-side loop of the collection: ``virtio_install`` (the NIC reset drops the
session for about ten seconds) and ``cau_run`` (nodes restart for hours) both start a worker on
the host with ``module_utils/_DetachedWorker.psm1`` and then poll it here.

- :class:`Reconnector` runs one host call and, after a connection failure, resets the connection
  and calls again until the host has been silent for ``timeout`` seconds.
- :func:`reset_connection` follows ``ansible.windows`` ``plugin_utils/_reboot.py``: any exception
  while resetting is tolerated, and the reset is repeated until it succeeds (with psrp, a failed
  ``close()`` leaves the connection marked connected, so one attempt is not enough).
- :func:`follow_run` polls until the worker's answer is final, treating a lost connection and an
  answer marked ``transient_error`` (the CAU cmdlets throwing while a node restarts) alike: both
  are retried until the deadline; only a definite answer ends it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ansible.errors import AnsibleConnectionFailure
from ansible.utils.display import Display

try:  # the psrp connection plugin can leak requests' exceptions instead of AnsibleConnectionFailure
    from requests.exceptions import RequestException
except ImportError:  # pragma: no cover - requests comes with pywinrm / pypsrp
    RequestException = AnsibleConnectionFailure  # type: ignore[misc,assignment]

__all__ = ["CONNECTION_ERRORS", "FINAL_STATES", "PollOutcome", "Reconnector", "follow_run", "reset_connection"]

CONNECTION_ERRORS: tuple[type[BaseException], ...] = (AnsibleConnectionFailure, RequestException)
FINAL_STATES = frozenset({"finished", "failed"})

T = TypeVar("T")
display = Display()


def reset_connection(
    connection: Any,
    host: str | None = None,
    *,
    attempts: int = 5,
    interval: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Drop the dead session so that the next call opens a new one; True once a reset succeeded.

    ``close()`` first (WSMan shells stay allocated otherwise), then ``reset()``, as
    ``ansible.windows``' reboot helper does; ANY exception of either is expected while the host is
    away, is logged, and the pair is tried again, at most ``attempts`` times ``interval`` apart.
    The caller's own retry loop bounds the total time.
    """
    for attempt in range(1, attempts + 1):
        try:
            try:
                connection.close()
            # any failure is expected while the host is away
            except Exception as err:  # pylint: disable=broad-exception-caught
                display.vvvv(f"connection close() failed while the host is away: {err}", host=host)
            connection.reset()
            return True
        except Exception as err:  # pylint: disable=broad-exception-caught
            display.vvvv(f"connection reset() failed (attempt {attempt}/{attempts}): {err}", host=host)
            if attempt < attempts:
                sleep(interval)
    return False


@dataclass
class Reconnector:
    """Run host calls, retrying each after a dropped connection until ``timeout`` seconds of silence."""

    connection: Any
    timeout: float
    interval: float
    host: str | None = None
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    failures: int = field(default=0)

    def reset(self) -> None:
        """Reset the connection (never raises)."""
        reset_connection(self.connection, self.host, interval=min(self.interval, 1.0) or 0.1, sleep=self.sleep)

    def call(self, description: str, func: Callable[[], T]) -> T:
        """Return ``func()``; after a connection failure reset, wait ``interval`` and try again.

        Raises :class:`AnsibleConnectionFailure` naming ``description`` when the host stayed silent
        for ``timeout`` seconds; any other exception passes through untouched.
        """
        silent_since: float | None = None
        while True:
            try:
                return func()
            except Exception as err:  # pylint infers no class from CONNECTION_ERRORS; test it here
                if not isinstance(err, CONNECTION_ERRORS):
                    raise
                now = self.clock()
                silent_since = now if silent_since is None else silent_since
                self.failures += 1
                silent_for = now - silent_since
                if silent_for >= self.timeout:
                    raise AnsibleConnectionFailure(
                        f"{description}: the host has not answered for {silent_for:.0f} s "
                        f"(retried for up to {self.timeout:g} s); last error: {err}"
                    ) from err
                display.vv(
                    f"{description}: connection lost ({err}); reconnecting in {self.interval:g} s",
                    host=self.host,
                )
                self.reset()
                self.sleep(max(0.0, min(self.interval, self.timeout - silent_for)))


@dataclass
class PollOutcome:
    """How following the run ended: the last poll answer (None if none got through) and counts."""

    last: dict[str, Any] | None
    polls: int
    reconnects: int
    timed_out: bool
    elapsed: float
    last_error: str | None = None
    transient_errors: int = 0


def _transient_error(answer: dict[str, Any]) -> str | None:
    run = answer.get("run") or {}
    return str(run["transient_error"]) if isinstance(run, dict) and run.get("transient_error") else None


def follow_run(
    poll: Callable[[], dict[str, Any]],
    reset: Callable[[], None],
    *,
    timeout: float,
    interval: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    warn: Callable[[str], None] = lambda message: None,
    is_final: Callable[[dict[str, Any]], bool] | None = None,
    silence_timeout: float | None = None,
    wait_first: bool = False,
    subject: str = "the run",
    progress: Callable[[dict[str, Any] | None], None] = lambda answer: None,
) -> PollOutcome:
    """Poll until the answer is final or ``timeout`` seconds have passed.

    ``poll`` returns the host module's answer; by default it is final when it ``failed`` or its
    ``run.state`` is ``finished`` or ``failed``. A connection failure (any of
    :data:`CONNECTION_ERRORS`) and an answer carrying ``run.transient_error`` are not final: the
    loop resets the connection after the former, waits one interval and asks again. Any other
    exception propagates. With ``silence_timeout``, a host that has not answered for that long raises
    :class:`AnsibleConnectionFailure` (reported unreachable) before the deadline. ``wait_first``
    sleeps one interval before the first poll (the worker was just started). ``progress`` sees every
    answer, and ``None`` after each lost connection, to print the wait's progress
    (``module_utils._progress``).
    """
    final = is_final or (lambda answer: bool(answer.get("failed")) or (answer.get("run") or {}).get("state") in FINAL_STATES)
    start = clock()
    deadline = start + timeout
    polls = reconnects = transient = 0
    last: dict[str, Any] | None = None
    last_error: str | None = None
    silent_since: float | None = None
    if wait_first:
        sleep(max(0.0, min(interval, deadline - clock())))
    while True:
        try:
            answer = poll()
        except Exception as err:  # pylint infers no class from CONNECTION_ERRORS; test it here
            if not isinstance(err, CONNECTION_ERRORS):
                raise
            reconnects += 1
            last_error = str(err)
            now = clock()
            silent_since = now if silent_since is None else silent_since
            if silence_timeout is not None and now - silent_since >= silence_timeout:
                raise AnsibleConnectionFailure(
                    f"poll: the host has not answered for {now - silent_since:.0f} s "
                    f"(retried for up to {silence_timeout:g} s); last error: {err}"
                ) from err
            warn(f"lost the connection while following {subject} ({err}); reconnecting")
            progress(None)
            try:
                reset()
            # as ansible.windows plugin_utils/_reboot.py: any failure of the reset is tolerated
            except Exception as reset_err:  # pylint: disable=broad-exception-caught
                display.vvvv(f"reset failed while the host is away: {reset_err}")
        else:
            polls += 1
            last = answer
            silent_since = None
            progress(answer)
            problem = _transient_error(answer)
            if problem is not None:
                transient += 1
                last_error = problem
                warn(f"the host could not read the state of {subject} ({problem}); asking again")
            else:
                last_error = None
                if final(answer):
                    return PollOutcome(last, polls, reconnects, False, clock() - start, None, transient)
        if clock() >= deadline:
            return PollOutcome(last, polls, reconnects, True, clock() - start, last_error, transient)
        pause = min(interval, deadline - clock())
        if silent_since is not None and silence_timeout is not None:
            pause = min(pause, silent_since + silence_timeout - clock())  # land on the silence limit
        sleep(max(0.0, pause))
