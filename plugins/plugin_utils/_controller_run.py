# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which ``ansible-playbook`` run this controller-side code belongs to (for internal collection use only).

The host's virtio lock names its holder by run: the controller's host name, the process id of
``ansible-playbook`` (an action plugin runs in a worker forked from it, so its parent) and that
process's start time. Both the WinRM lock (``virtio_lock``) and the ECS API rollout
(``virtio_update_ecs``) take the lock under this identity, so they exclude each other.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from ansible_collections.winfleet.updates.plugins.module_utils._virtio_lock import Controller


def process_started(pid: int) -> str | None:
    """The start time of process ``pid`` (field 22 of /proc/PID/stat, proc(5)), ``""`` if unreadable, None if gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # it exists, owned by someone else
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def this_run() -> Controller:
    """The ansible-playbook process this task belongs to (a worker's parent)."""
    pid = os.getppid()
    return Controller(socket.gethostname(), pid, process_started(pid) or "")
