# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Follow a detached CAU updating run until it ends (for internal collection use only).

An updating run takes from minutes to hours and restarts every node, and the host the task talks
to may drop off the network meanwhile (a self-updating node that restarts, a coordinator whose
NIC resets). The host module therefore only *starts* the run, detached, and answers *polls*;
this loop asks until the run has ended, resets the connection and asks again after a connection
failure, and gives up only at the deadline. It is the pattern ``ansible.windows.win_updates``
uses, with the retry extended to any number of failures within the deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ansible.errors import AnsibleConnectionFailure

try:  # psrp can surface a timeout as a requests exception (see ansible.windows win_updates)
    from requests.exceptions import Timeout as RequestTimeoutException
except ImportError:  # pragma: no cover - requests ships with pywinrm/pypsrp

    class RequestTimeoutException(Exception):  # type: ignore[no-redef]
        """Stand-in when requests is missing: nothing raises it, so only AnsibleConnectionFailure is caught."""


FINAL_STATES = frozenset({"finished", "failed"})


@dataclass
class PollOutcome:
    """How following the run ended: the last poll answer (None if none got through) and counts."""

    last: dict[str, Any] | None
    polls: int
    reconnects: int
    timed_out: bool
    elapsed: float
    last_error: str | None = None


def follow_run(
    poll: Callable[[], dict[str, Any]],
    reset: Callable[[], None],
    *,
    timeout: float,
    interval: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    warn: Callable[[str], None] = lambda message: None,
) -> PollOutcome:
    """Poll until the run reports a final state or ``timeout`` seconds have passed.

    ``poll`` returns the host module's answer; its ``run.state`` is ``running`` until the run has
    ``finished`` or ``failed``. A connection failure is not the run's failure: the connection is
    reset, the loop waits one interval and asks again. Any other exception propagates.
    """
    start = clock()
    deadline = start + timeout
    polls = reconnects = 0
    last: dict[str, Any] | None = None
    last_error: str | None = None
    while True:
        try:
            answer = poll()
        except (AnsibleConnectionFailure, RequestTimeoutException) as err:
            reconnects += 1
            last_error = str(err)
            warn(f"lost the connection while following the CAU run ({err}); reconnecting")
            try:
                reset()
            except (AnsibleConnectionFailure, RequestTimeoutException):
                pass
        else:
            polls += 1
            last = answer
            last_error = None
            if answer.get("failed") or (answer.get("run") or {}).get("state") in FINAL_STATES:
                return PollOutcome(last, polls, reconnects, False, clock() - start)
        if clock() >= deadline:
            return PollOutcome(last, polls, reconnects, True, clock() - start, last_error)
        sleep(max(0.0, min(interval, deadline - clock())))
