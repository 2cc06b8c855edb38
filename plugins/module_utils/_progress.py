# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""When a long wait prints a progress line, and what the line says (for internal collection use only).

``virtio_install`` (minutes), ``cau_run`` (hours) and the ECS audit of a large fleet wait on work
that runs elsewhere, and Ansible prints a task's result only when the task ends. One rule for all
of them, so that an operator (and an AWX job's output) sees the work move without being flooded:

* a line whenever what it shows changes (phase, last log line, counts), on the poll that saw it;
* otherwise the same line again once :data:`PROGRESS_EVERY` seconds have passed (a heartbeat),
  never more often.

A line is ``<subject>: <phase>; elapsed H:MM:SS``. The subject names the host or cluster; the
phase is built by the caller (``_virtio_install.install_phase``, ``_cau_run.progress_phase``).
Text a host reported is made printable (:func:`printable`) before it reaches a terminal.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Mapping
from typing import Any

__all__ = ["PROGRESS_EVERY", "BatchTally", "ProgressLog", "elapsed_text", "printable", "progress_due", "progress_line"]

PROGRESS_EVERY: float = 30.0
"""Seconds after which an unchanged progress line is printed again (the heartbeat)."""

_MAX_PHASE = 160


def progress_due(
    state: Hashable, last_state: Hashable, now: float, last_time: float | None, every: float = PROGRESS_EVERY
) -> bool:
    """Whether a line is printed now: the first one, a changed state, or ``every`` seconds of the same."""
    if last_time is None:
        return True
    return state != last_state or now - last_time >= every


def elapsed_text(seconds: float) -> str:
    """``H:MM:SS`` (a negative duration, from a clock that went back, shows as 0:00:00)."""
    whole = int(max(0.0, seconds))
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def printable(text: object, limit: int = _MAX_PHASE) -> str:
    """``text`` on one line, without control characters (a host's log can hold terminal escapes), cut at ``limit``."""
    flat = "".join(" " if not char.isprintable() else char for char in str(text)).strip()
    flat = " ".join(flat.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def progress_line(subject: str, phase: str, elapsed: float) -> str:
    """The one progress format: ``<subject>: <phase>; elapsed H:MM:SS``."""
    return f"{subject}: {phase}; elapsed {elapsed_text(elapsed)}"


class ProgressLog:
    """Prints a wait's progress lines through ``emit`` by the rule of this module.

    ``show`` is called on every poll with the phase seen (and the state that decides whether
    anything changed, the phase itself by default); ``tick`` repeats the last phase when the
    heartbeat is due, for waits that are not polled from one loop (see
    ``plugin_utils._progress.heartbeat``). Safe to call from several threads.
    """

    def __init__(
        self,
        subject: str,
        emit: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
        every: float = PROGRESS_EVERY,
    ) -> None:
        self.subject = subject
        self.emit = emit
        self.clock = clock
        self.every = every
        self.start = clock()
        self._lock = threading.Lock()
        self._phase: str | None = None
        self._state: Hashable = None
        self._last_time: float | None = None

    def show(self, phase: str | None, state: Hashable = None) -> bool:
        """Print ``phase`` if it is due; True when a line was printed. ``None``: nothing to show."""
        if phase is None:
            return False
        key = phase if state is None else state
        with self._lock:
            now = self.clock()
            self._phase = phase
            if not progress_due(key, self._state, now, self._last_time, self.every):
                return False
            self._state, self._last_time = key, now
            line = progress_line(self.subject, phase, now - self.start)
        self.emit(line)
        return True

    def tick(self) -> bool:
        """The heartbeat: repeat the last phase shown when ``every`` seconds passed without a line."""
        with self._lock:
            phase, state = self._phase, self._state
        return phase is not None and self.show(phase, state)


class BatchTally:
    """What the ECS audit's progress line says: hosts and batches done, hosts without a probe result.

    The audit's batches finish on a pool of threads, so :meth:`add` takes a lock; each call
    returns the new phase and its state (the counts), which :meth:`ProgressLog.show` prints at once
    because the counts changed.
    """

    def __init__(self, hosts: int, batches: int) -> None:
        self.hosts, self.batches = hosts, batches
        self.hosts_done = self.batches_done = self.problems = 0
        self._lock = threading.Lock()

    def phase(self) -> tuple[str, tuple[int, int, int]]:
        """``N of M hosts probed (b of B batches)[, k failed or unreachable]`` and its counts."""
        text = f"{self.hosts_done} of {self.hosts} hosts probed ({self.batches_done} of {self.batches} batches)"
        if self.problems:
            text += f", {self.problems} failed or unreachable"
        return text, (self.hosts_done, self.batches_done, self.problems)

    def add(self, results: Mapping[str, Mapping[str, Any]]) -> tuple[str, tuple[int, int, int]]:
        """Count one finished batch (host -> its probe result)."""
        with self._lock:
            self.batches_done += 1
            self.hosts_done += len(results)
            self.problems += sum(1 for r in results.values() if r.get("failed") or r.get("unreachable"))
            return self.phase()
