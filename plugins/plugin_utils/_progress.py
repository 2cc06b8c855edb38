# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where progress lines go, and the heartbeat of a wait no single loop polls (for internal collection use only).

:func:`show_progress` prints a line at default verbosity on standard error, as Ansible prints its
own warnings: standard output stays the stdout callback's alone, so a run with a machine-readable
callback (``ansible.posix.json``, ``ansible.builtin.junit`` files aside) still parses, and a
terminal or AWX job output (which captures both streams) shows the line while the task waits.
``Display`` proxies it from the forked worker to the controller process.

The ECS audit waits in a pool of threads, one per batch of instances; no loop of ours runs
between two answers, so nothing would print the progress line's heartbeat. :func:`heartbeat`
runs one daemon thread that calls :meth:`ProgressLog.tick` while the wait lasts; the rule of
when to print stays in ``module_utils._progress``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

from ansible.utils.display import Display

from ansible_collections.winfleet.updates.plugins.module_utils._progress import ProgressLog

__all__ = ["heartbeat", "show_progress"]

_display = Display()


def show_progress(line: str) -> None:
    """Print one progress line at default verbosity, on standard error (see the module docstring)."""
    _display.display(line, stderr=True)


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
