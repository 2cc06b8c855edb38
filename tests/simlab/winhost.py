"""How a simulated Windows host changes as time passes: installs, the NIC drop, reboots (test code only).

The lab has no background processes. Instead, whatever would happen on the host while nobody
looks is written into its state as a timeline with real epoch times (simulated durations times
the lab's ``time_scale``), and :func:`advance` applies what is due whenever the host is touched:
``raw.unreachable_reason`` calls it, under the host's lock, before every round trip.

State keys this module owns (all optional in a fresh host):

``boot_time``      LastBootUpTime as a FileTime; changes at every boot
``virtio_runs``    install runs by id: source, state running/finished/lost, times, exit code, log
``virtio_last_run`` the id of the most recent run (the host's ``last_run.txt``)
``pending_driver`` the version an install staged, applied to the driver files at the next boot
``outages``        windows of unreachability ``{from, until (None: forever), reason}``
``reboot``         a reboot in progress ``{down_at, up_at (None: never returns)}``
``services``       Windows services by lower-case name ``{name, running, boot_running}``
``antivirus_paused`` the services winfleet.updates.antivirus_services stopped (its marker file)
``logon_ready``    False from a reboot command until the boot finishes (LogonUI's AutoLogonChecked)
"""

from __future__ import annotations

import time
from typing import Any

from tests.simlab.fleet import FAULT_DEFAULTS, UPDATE_DEFAULTS

# FileTime counts 100 ns intervals since 1601-01-01; the Unix epoch is this many of them later.
_FILETIME_UNIX_EPOCH = 116444736000000000
# Installer exit codes that mean success: 0, 3010 (restart required), 1641 (restart initiated)
# https://learn.microsoft.com/en-us/windows/win32/msi/error-codes
_SUCCESS_EXIT_CODES = (0, 3010, 1641)
STATE_ROOT = "C:\\ProgramData\\winfleet\\virtio_install"
AGENT_PATH = "C:\\ProgramData\\aliyun\\assist\\2.1.3.857\\acs-plugin-manager.exe"


def filetime(epoch: float) -> int:
    return int(epoch * 10_000_000) + _FILETIME_UNIX_EPOCH


def scale(lab: dict[str, Any]) -> float:
    """Real seconds per simulated second."""
    return float(lab.get("time_scale", 1.0))


def log(state: dict[str, Any], event: str, **details: Any) -> None:
    state.setdefault("events", []).append({"event": event, "at": round(time.time(), 3), **details})


# A fresh host last booted on 2024-01-01 (only changes of the boot time matter).
INITIAL_BOOT_TIME = filetime(1704067200)


def boot_time(state: dict[str, Any]) -> int:
    """The current boot's LastBootUpTime (reading it changes nothing, so check mode stays clean)."""
    return state.get("boot_time", INITIAL_BOOT_TIME)


def services(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The host's services: its third-party antivirus from the fleet, and Defender on NT 6.2 and later.

    Built and stored in the state on first use; callers in check mode pass a copy of the state.
    """
    if "services" not in state:
        table = {}
        if tuple(int(p) for p in state["os_version"].split(".")[:2]) >= (6, 2):
            table["windefend"] = {"name": "WinDefend", "running": True, "boot_running": True}
        for entry in state.get("antivirus", []):
            table[entry["service"].lower()] = {
                "name": entry["service"],
                "running": entry["running"],
                "boot_running": entry["running"],
            }
        state["services"] = table
    return state["services"]


def update_settings(state: dict[str, Any]) -> dict[str, Any]:
    update = {**UPDATE_DEFAULTS, **state.get("update", {})}
    if update["duration_s"] is None:
        update["duration_s"] = float(min(120, 30 + 15 * state.get("data_disks", 0)))
    return update


def faults(state: dict[str, Any]) -> dict[str, Any]:
    return {**FAULT_DEFAULTS, **state.get("faults", {})}


def add_outage(state: dict[str, Any], start: float, until: float | None, reason: str) -> None:
    state.setdefault("outages", []).append({"from": start, "until": until, "reason": reason})


def start_install(
    state: dict[str, Any], lab: dict[str, Any], run_id: str, source: str, **details: Any
) -> dict[str, Any]:
    """Start the vendor installer as the scheduled task would: it runs on while nobody polls.

    The NIC driver is replaced a third of the way through the install: the host is unreachable for
    ``faults.nic_drop_s`` from then on.
    """
    now = time.time()
    update = update_settings(state)
    fault = faults(state)
    duration = update["duration_s"] * scale(lab)
    run = {
        "run_id": run_id,
        "source": source,
        "state": "running",
        "started_at": now,
        "finishes_at": now + duration,
        "to": update["to"],
        "exit_code": update["exit_code"],
        "boot_time": None,
        "log": [f"starting the {source} install (run {run_id})"],
        **details,
    }
    state.setdefault("virtio_runs", {})[run_id] = run
    state["virtio_last_run"] = run_id
    if fault["nic_drop_s"] > 0:
        drop_at = now + duration / 3
        add_outage(
            state,
            drop_at,
            drop_at + fault["nic_drop_s"] * scale(lab),
            "the network is down while the virtio NIC driver is replaced",
        )
    log(state, "install_started", run_id=run_id, source=source)
    return run


def _finish_run(state: dict[str, Any], run: dict[str, Any]) -> None:
    run["state"] = "finished"
    run["boot_time"] = boot_time(state)
    if run["exit_code"] in _SUCCESS_EXIT_CODES:
        state["pending_driver"] = run["to"]
        run["log"] += [
            f"viostor.sys, netkvm.sys and the other virtio drivers {run['to']} staged",
            "a restart is required for the new drivers to take effect",
        ]
    else:
        run["log"].append(f"ERROR: driver installation failed (code {run['exit_code']})")
    run["log"].append(f"the installer exited with code {run['exit_code']}")
    # `at` (when the controller's round trip saw it) minus `due` is how late the controller noticed
    log(
        state,
        "install_finished",
        run_id=run["run_id"],
        exit_code=run["exit_code"],
        due=round(run["finishes_at"], 3),
    )


def schedule_reboot(state: dict[str, Any], lab: dict[str, Any], delay_s: float) -> None:
    """``shutdown /r /t delay_s``: down after the delay, back after ``faults.reboot_s`` (or never)."""
    fault = faults(state)
    down_at = time.time() + delay_s * scale(lab)
    up_at = None if fault["never_returns"] else down_at + fault["reboot_s"] * scale(lab)
    state["reboot"] = {"down_at": down_at, "up_at": up_at}
    state["logon_ready"] = False
    reason = "the host is restarting" if up_at is not None else "the host did not come back after its restart"
    add_outage(state, down_at, up_at, reason)
    log(state, "reboot_requested", delay_s=delay_s)


def _boot(state: dict[str, Any], at: float) -> None:
    state["boot_time"] = max(boot_time(state) + 1, filetime(at))
    pending = state.pop("pending_driver", None)
    if pending:
        parts = [int(p) for p in pending.split(".")]
        for driver in state["drivers"].values():
            driver.update(
                file_version=pending,
                product_version=pending,
                file_version_parts=parts,
                product_version_parts=parts,
            )
    for service in services(state).values():
        service["running"] = service["boot_running"]
    state["logon_ready"] = True
    state["boots"] = state.get("boots", 0) + 1
    log(state, "booted", driver=pending, due=round(at, 3))


def advance(state: dict[str, Any], lab: dict[str, Any]) -> None:
    """Apply what happened on the host since it was last touched, in time order."""
    now = time.time()
    reboot = state.get("reboot")
    runs = state.get("virtio_runs", {}).values()
    down_at = reboot["down_at"] if reboot else None
    for run in runs:
        if (
            run["state"] == "running"
            and now >= run["finishes_at"]
            and (down_at is None or run["finishes_at"] <= down_at)
        ):
            _finish_run(state, run)
    if reboot and now >= reboot["down_at"] and not reboot.get("down"):
        reboot["down"] = True
        for run in runs:
            if run["state"] == "running":
                run["state"] = "lost"
                log(state, "install_lost", run_id=run["run_id"])
        log(state, "went_down")
    if reboot and reboot["up_at"] is not None and now >= reboot["up_at"]:
        del state["reboot"]
        _boot(state, reboot["up_at"])
    if "outages" in state:
        state["outages"] = [o for o in state["outages"] if o["until"] is None or o["until"] > now]


def run_view(run: dict[str, Any], log_lines: int) -> dict[str, Any]:
    """The ``run`` entry of ``virtio_install.ps1``'s poll answer."""
    state = run["state"]
    return {
        "run_id": run["run_id"],
        "source": run["source"],
        "state": state,
        "exit_code": run["exit_code"] if state == "finished" else None,
        "boot_time": run["boot_time"] if state == "finished" else None,
        "log_path": f"{STATE_ROOT}\\{run['run_id']}\\install.log",
        "log_excerpt": "\n".join(run["log"][-log_lines:]),
    }
