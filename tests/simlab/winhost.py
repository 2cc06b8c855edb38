"""How a simulated Windows host changes as time passes: installs, the NIC drop, reboots (test code only).

The lab has no background processes. Instead, whatever would happen on the host while nobody
looks is written into its state as a timeline with real epoch times (simulated durations times
the lab's ``time_scale``), and :func:`advance` applies what is due whenever the host is touched:
``raw.unreachable_reason`` calls it, under the host's lock, before every round trip.

State keys this module owns (all optional in a fresh host):

``boot_time``      LastBootUpTime as a FileTime; changes at every boot
``virtio_runs``    install runs by id: source, state running/finished/lost, times, exit code, log
``virtio_last_run`` the id of the module's most recent run (the host's ``last_run.txt``; set by
                   the virtio_install stand-in, never by an installer Cloud Assistant started)
``pending_driver`` the version an install staged, applied to the driver files at the next boot
``outages``        windows of unreachability ``{from, until (None: forever), reason}``
``reboot``         a reboot in progress ``{down_at, up_at (None: never returns)}``
``services``       Windows services by lower-case name ``{name, running, boot_running}``
``antivirus_record`` the JSON text of antivirus_services' record file (tests/simlab/modules/antivirus_services.py)
``logon_ready``    False from a reboot command until the boot finishes (LogonUI's AutoLogonChecked)
"""

from __future__ import annotations

import datetime
import random
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


# Win32_OperatingSystem.LastBootUpTime is the current time minus the time since boot, which Windows
# keeps at the resolution of the system timer (10 to 16 ms), so two reads in one boot differ by a
# little: https://learn.microsoft.com/windows/win32/api/sysinfoapi/nf-sysinfoapi-gettickcount64
# (Remarks) and https://learn.microsoft.com/windows/win32/cimwin32prov/win32-operatingsystem; the
# same drift made Auditbeat report false reboots: https://github.com/elastic/beats/pull/12591.
# The lab returns the boot time moved by up to half a millisecond, either way, at every CIM read.
WMI_BOOT_TIME_JITTER = 5_000  # FileTime units of 100 ns


def wmi_boot_time(state: dict[str, Any]) -> int:
    """LastBootUpTime as a module reads it through CIM: this boot's time, give or take a little."""
    return boot_time(state) + random.randint(-WMI_BOOT_TIME_JITTER, WMI_BOOT_TIME_JITTER)


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
                "depends_on": list(entry.get("depends_on", [])),
                "stop_pending_s": entry.get("stop_pending_s", 0),
            }
        state["services"] = table
    return state["services"]


def service_status(service: dict[str, Any]) -> str:
    """ServiceController.Status: Running, StopPending (a stop asked for, not done yet) or Stopped.

    https://learn.microsoft.com/dotnet/api/system.serviceprocess.servicecontrollerstatus
    """
    if service["running"]:
        return "Running"
    if service.get("stop_pending_until", 0) > time.time():
        return "StopPending"
    return "Stopped"


def dependent_services(table: dict[str, dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """ServiceController.DependentServices: every service that needs ``name``, directly or not,
    in reverse start order (EnumDependentServices' order).

    https://learn.microsoft.com/windows/win32/api/winsvc/nf-winsvc-enumdependentservicesw
    """
    found: list[dict[str, Any]] = []
    pending = [name.lower()]
    while pending:
        current = pending.pop()
        for service in table.values():
            needs = [d.lower() for d in service.get("depends_on", [])]
            if current in needs and service not in found:
                found.append(service)
                pending.append(service["name"].lower())
    return list(reversed(found))


def request_stop(table: dict[str, dict[str, Any]], service: dict[str, Any], lab: dict[str, Any]) -> None:
    """``Stop-Service -Force``: the service and every running dependent stop (a service with
    ``stop_pending_s`` stays StopPending that long).

    https://learn.microsoft.com/powershell/module/microsoft.powershell.management/stop-service
    (-Force "stops the service even if it has dependent services"; they are stopped first)
    """
    for target in [*dependent_services(table, service["name"]), service]:
        if target["running"]:
            target["running"] = False
            target["stop_pending_until"] = time.time() + target.get("stop_pending_s", 0) * scale(lab)


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
    if fault.get("worker_never_starts"):
        run["state"] = "not_started"
        run["log"] = [
            f"the scheduled task winfleet-virtio-install-{run_id} never started the install worker "
            "(last result 0x00041303); see docs/windows_requirements.md"
        ]
        log(state, "worker_not_started", run_id=run_id)
        return run
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


# pnputil's documented return values: 0 success, 3010 success with a restart needed, 259
# (ERROR_NO_MORE_ITEMS) no device matched the INF or the installed driver is as good or better.
# https://learn.microsoft.com/windows-hardware/drivers/devtest/pnputil-return-values
_PNPUTIL_STAGED = (0, 3010)
# `pnputil /add-driver <inf> /install` exists from Windows 10 1607 / Server 2016 (build 14393);
# earlier pnputil only knows `-i -a <inf>`:
# https://learn.microsoft.com/windows-hardware/drivers/devtest/pnputil-command-syntax
PNPUTIL_ADD_DRIVER_BUILD = 14393


def pnputil_command(state: dict[str, Any], inf: str) -> str:
    """The pnputil command line this host's pnputil understands for one INF."""
    build = int(state["os_version"].split(".")[2]) if state["os_version"].count(".") >= 2 else 0
    if build >= PNPUTIL_ADD_DRIVER_BUILD:
        return f"pnputil.exe /add-driver {inf} /install"
    return f"pnputil.exe -i -a {inf}"


def _finish_package_run(state: dict[str, Any], run: dict[str, Any]) -> None:
    """An offline package install: pnputil once per INF, each with its own documented exit code."""
    codes = update_settings(state).get("inf_exit_codes") or {}
    run["infs"] = []
    for inf in run["inf_files"]:
        code = codes.get(inf.rsplit("\\", 1)[-1].lower(), 0)
        command = pnputil_command(state, inf)
        run["infs"].append({"inf": inf, "exit_code": code, "command": command})
        run["log"].append(f"{command} exited with code {code}")
    if any(entry["exit_code"] in _PNPUTIL_STAGED for entry in run["infs"]):
        state["pending_driver"] = run["to"]
    failures = [e["exit_code"] for e in run["infs"] if e["exit_code"] not in (*_PNPUTIL_STAGED, 259)]
    restart = any(e["exit_code"] == 3010 for e in run["infs"])
    run["exit_code"] = failures[0] if failures else 3010 if restart else 0


def _finish_run(state: dict[str, Any], run: dict[str, Any]) -> None:
    run["state"] = "finished"
    run["boot_time"] = wmi_boot_time(state)
    if run.get("inf_files") is not None:
        _finish_package_run(state, run)
        log(state, "install_finished", run_id=run["run_id"], exit_code=None, due=round(run["finishes_at"], 3))
        return
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
        "infs": run.get("infs") if state == "finished" else None,
        # what the module recorded in the run's run.json when it started it, and result.json's end time
        **{key: run.get(key) for key in ("rollout_id", "version_before", "build_before")},
        "finished": _iso(run["finishes_at"]) if state == "finished" else None,
    }


def _iso(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc).isoformat()
