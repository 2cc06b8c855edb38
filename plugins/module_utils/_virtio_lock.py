# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who holds a host's virtio lock, and whether that holder is gone (for internal collection use only).

A run is one ``ansible-playbook`` process. Its identity is the controller's host name, the
process id and the process start time (the start time tells a reused process id from the
original). The lock's holder is "gone" when it names this controller and that process no longer
runs: the controller was killed, so its lock is stale and may be taken over at once instead of
waiting for it to expire. A holder on another controller cannot be checked from here; its lock
expires by itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

__all__ = ["Controller", "owner_gone", "parse_controller"]

_UNSAFE = re.compile(r"[^0-9A-Za-z._-]")


@dataclass(frozen=True)
class Controller:
    """One ansible-playbook process on one controller."""

    hostname: str
    pid: int
    started: str  # the process start time as the OS reports it ("" when unknown)

    @property
    def identity(self) -> str:
        """``host:pid:start``, safe as a run id on the host (letters, digits, ``._-:``)."""
        return f"{_UNSAFE.sub('-', self.hostname)[:64]}:{self.pid}:{_UNSAFE.sub('-', self.started)[:32]}"


def parse_controller(identity: str) -> Controller | None:
    """The controller a lock names, or ``None`` when it is not one of ours."""
    parts = identity.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    return Controller(parts[0], int(parts[1]), parts[2])


def owner_gone(holder: str, here: Controller, process_started: Callable[[int], str | None]) -> bool:
    """Whether the run named by ``holder`` was started on this controller and its process is gone.

    ``process_started(pid)`` returns the start time of a running process, or ``None`` when no
    process has that id.
    """
    owner = parse_controller(holder)
    if owner is None or owner.hostname != _UNSAFE.sub("-", here.hostname)[:64]:
        return False
    started = process_started(owner.pid)
    if started is None:
        return True
    return bool(owner.started) and _UNSAFE.sub("-", started)[:32] != owner.started
