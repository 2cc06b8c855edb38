"""What the instance does when Cloud Assistant runs the collection's virtio lock script (test code only).

The script takes or releases ``%ProgramData%\\winfleet\\virtio_lock.json`` under the named mutex
``Global\\winfleet-virtio-lock``: a mutex in the Global namespace is one object for every session
of the machine (https://learn.microsoft.com/en-us/dotnet/api/system.threading.mutex, "Global\\"
prefix: https://learn.microsoft.com/en-us/windows/win32/termserv/kernel-object-namespaces), so a
Cloud Assistant session and a WinRM session exclude each other exactly as two WinRM sessions do.
The lab models that file once, as the host state ``virtio_lock`` under the host's ``flock``
(tests/simlab/modules/virtio_lock.py); the fake recognises the script by its mutex name and its
output marker, reads the values it assigns (``$state = 'present'``, ``$runId = '...'``, ...) and
answers from that same model, so an API rollout and a WinRM rollout on one lab host see one lock.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.simlab.dispatch import HostCall
from tests.simlab.modules import virtio_lock

MARKER = "WINFLEET-VIRTIO-LOCK "
_MUTEX = "Global\\winfleet-virtio-lock"
_ASSIGNED = re.compile(r"^\s*\$(state|runId|rolloutId|controller|takeover)\s*=\s*'((?:[^']|'')*)'\s*$", re.M)
_TTL = re.compile(r"^\s*\$ttl\s*=\s*(\d+)\s*$", re.M)
_CHECK = re.compile(r"^\s*\$check\s*=\s*\$(true|false)\s*$", re.M | re.I)
_ARGS = {"state": "state", "runId": "run_id", "rolloutId": "rollout_id", "controller": "controller", "takeover": "takeover"}


def recognises(content: str) -> bool:
    return _MUTEX in content and MARKER.strip() in content


def answer(state: dict[str, Any], content: str, lab: dict[str, Any]) -> tuple[int, str]:
    """(exit code, output) of the lock script on this host; the lock state changes as the script's would."""
    args: dict[str, Any] = {_ARGS[m.group(1)]: m.group(2).replace("''", "'") for m in _ASSIGNED.finditer(content)}
    ttl = _TTL.search(content)
    args["ttl_s"] = int(ttl.group(1)) if ttl else 7200
    check = _CHECK.search(content)
    result = virtio_lock.run(HostCall(state=state, args=args, check_mode=bool(check and check.group(1).lower() == "true"),
                                      lab=lab, lab_dir=Path(".")))
    shown = {key: result.get(key) for key in ("acquired", "attached", "busy", "released", "changed", "holder")}
    shown["msg"] = result.get("msg", "")
    state.setdefault("events", []).append({"event": f"ecs_lock_{args.get('state')}", "busy": bool(result.get("busy"))})
    return 0, MARKER + json.dumps(shown, separators=(",", ":"))
