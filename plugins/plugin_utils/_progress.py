# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The heartbeat of a wait that no single loop polls (for internal collection use only).

The ECS audit waits in a pool of threads, one per batch of instances; no loop of ours runs
between two answers, so nothing would print the progress line's heartbeat. :func:`heartbeat`
runs one daemon thread that calls :meth:`ProgressLog.tick` while the wait lasts; the rule of
when to print stays in ``module_utils._progress``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

from ansible_collections.winfleet.updates.plugins.module_utils._progress import ProgressLog

__all__ = ["heartbeat"]

# How often the thread asks the log whether the heartbeat is due (the log decides; this only
# bounds how late the line can be).
TICK_S = 1.0


@contextlib.contextmanager
def heartbeat(
    log: ProgressLog, period: float = TICK_S, wait: Callable[[float], bool] | None = None
) -> Iterator[ProgressLog]:
    """Tick ``log`` every ``period`` seconds until the block ends.

    ``wait(period)`` returns True when the block has ended (by default the stop event's own
    ``wait``, so the thread ends at once, not a period later).
    """
    stop = threading.Event()
    pause = wait or stop.wait

    def run() -> None:
        while not stop.is_set() and not pause(period):
            log.tick()

    thread = threading.Thread(target=run, name="winfleet-progress", daemon=True)
    thread.start()
    try:
        yield log
    finally:
        stop.set()
        thread.join(timeout=max(period, 1.0) + 1.0)
