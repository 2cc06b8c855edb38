"""Simulated ``winfleet.updates.virtio_lock``: a lock file on the host, taken and replaced atomically.

The real module reads and replaces ``%ProgramData%\\winfleet\\virtio_lock.json`` under a named
mutex in the Global namespace, so two sessions cannot both take it
(https://learn.microsoft.com/en-us/dotnet/api/system.threading.mutex); here the lab's per-host
``flock`` around every call gives the same exclusion. The lock file is the state key
``virtio_lock``; the host clock is the real clock. Same results as the real module.
"""

from __future__ import annotations

import time
from typing import Any

from tests.simlab.dispatch import HostCall

SUPPORTS_CHECK_MODE = True


def run(call: HostCall) -> dict[str, Any]:
    now = int(time.time())
    given = {key.lstrip("_"): value for key, value in call.args.items()}
    args = {"rollout_id": "", "controller": "", "ttl_s": 7200, "takeover": "", **given}
    current = call.state.get("virtio_lock")
    live = current is not None and current["expires"] > now
    result: dict[str, Any] = {
        "changed": False,
        "acquired": False,
        "attached": False,
        "busy": False,
        "released": False,
        "holder": dict(current) if live else None,
    }
    mine = live and current["run_id"] == args["run_id"]
    same_rollout = live and bool(args["rollout_id"]) and current["rollout_id"] == args["rollout_id"]
    stale = live and bool(args["takeover"]) and current["run_id"] == args["takeover"]
    if args["state"] == "absent":
        if current is not None and current["run_id"] == args["run_id"]:
            if not call.check_mode:
                del call.state["virtio_lock"]
            result.update(released=True, changed=True, holder=None)
        return result
    if live and not mine and not same_rollout and not stale:
        return {
            **result,
            "busy": True,
            "msg": f"busy: run {current['run_id']} (rollout {current['rollout_id']}, controller "
            f"{current['controller']}) holds this host's virtio lock since {current['started']} until "
            f"{current['expires']}",
        }
    record = {
        "run_id": args["run_id"],
        "rollout_id": args["rollout_id"],
        "controller": args["controller"],
        "started": current["started"] if mine else now,
        "expires": now + args["ttl_s"],
    }
    if not call.check_mode:
        call.state["virtio_lock"] = record
    return {**result, "acquired": True, "attached": bool((same_rollout or stale) and not mine), "changed": not mine, "holder": record}
