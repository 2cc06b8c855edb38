"""Raw commands ``ansible.windows.win_reboot`` sends, answered by the simulated host (test code only).

``ansible.windows``' ``plugin_utils/_reboot.py`` runs each step as
``PowerShell ... -EncodedCommand <script>`` (``raw.run_raw`` decodes it before matching):

1. the boot time: ``(Get-CimInstance ... LastBootUpTime).ToFileTime()``, before and after the reboot;
2. the reboot: a script that removes LogonUI's ``AutoLogonChecked`` key, runs
   ``shutdown.exe /r /t <delay>`` and prints ``{"stdout", "stderr", "rc"}`` as JSON
   (rc 1190 when a shutdown is already scheduled, which makes it send ``shutdown.exe /a``);
3. the readiness test: ``Get-Item`` of the ``AutoLogonChecked`` key then an echo of
   ``'success-<uuid>'``, which only succeeds once the host has booted and LogonUI is up.

The host goes down ``delay`` simulated seconds after the reboot command and comes back after
``faults.reboot_s`` (``winhost.schedule_reboot``), or never with ``faults.never_returns``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tests.simlab import raw, winhost
from tests.simlab.state import Lab


def _reboot(state: dict[str, Any], match: re.Match[str], lab: Lab) -> tuple[int, bytes, bytes]:
    if state.get("reboot"):
        answer = {"stdout": "", "stderr": "A system shutdown has already been scheduled.(1190)", "rc": 1190}
    else:
        winhost.schedule_reboot(state, lab.settings, float(match.group(1)))
        answer = {"stdout": "", "stderr": "", "rc": 0}
    return 0, json.dumps(answer).encode(), b""


def _abort(state: dict[str, Any], match: re.Match[str], lab: Lab) -> tuple[int, bytes, bytes]:
    reboot = state.get("reboot")
    if not reboot or reboot.get("down"):
        return 1116, b"", b"Unable to abort the system shutdown because no shutdown was in progress.(1116)"
    del state["reboot"]
    state["outages"] = [o for o in state.get("outages", []) if o["from"] != reboot["down_at"]]
    state["logon_ready"] = True
    winhost.log(state, "reboot_aborted")
    return 0, b"", b""


def _boot_time(state: dict[str, Any], match: re.Match[str], lab: Lab) -> tuple[int, bytes, bytes]:
    return 0, f"{winhost.boot_time(state)}\r\n".encode(), b""


def _logon_ready(state: dict[str, Any], match: re.Match[str], lab: Lab) -> tuple[int, bytes, bytes]:
    if not state.get("logon_ready", True):
        return (
            1,
            b"",
            b"Get-Item : Cannot find path "
            b"'HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon\\AutoLogonChecked'",
        )
    return 0, f"{match.group(1)}\r\n".encode(), b""


# The reboot script also mentions AutoLogonChecked, so it must be matched before the readiness test.
raw.RAW_COMMANDS.extend(
    [
        (re.compile(r"shutdown\.exe /r /t (\d+)", re.IGNORECASE), _reboot),
        (re.compile(r"shutdown\.exe /a", re.IGNORECASE), _abort),
        (re.compile(r"LastBootUpTime", re.IGNORECASE), _boot_time),
        (re.compile(r"AutoLogonChecked.*'(success-[0-9a-f-]+)'", re.IGNORECASE | re.DOTALL), _logon_ready),
    ]
)
