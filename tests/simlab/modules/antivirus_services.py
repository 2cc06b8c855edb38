"""Simulated ``winfleet.updates.antivirus_services``: stop and restart services, remember which.

Services come from the fleet's ``antivirus`` key (plus Defender on NT 6.2+, which the action
plugin refuses before it could get here) and behave as the Service Control Manager documents
(``winhost.request_stop``: ``-Force`` stops running dependents too; a slow service stays
StopPending). The record of paused services is kept as the JSON text the module writes
(``ConvertTo-Json``, under the state key ``antivirus_record``), and it is read back by running the
module's own ``ConvertFrom-Json`` statement under Windows PowerShell 5.1's pipeline rules
(``tests/simlab/ps51.py``), so a reading that only works on PowerShell 7 loses the record here as
it would on Windows.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from tests.simlab import winhost
from tests.simlab.dispatch import REPO_ROOT, HostCall
from tests.simlab.ps51 import evaluate_statement

SUPPORTS_CHECK_MODE = True
RECORD_KEY = "antivirus_record"
_SCRIPT = REPO_ROOT / "plugins" / "modules" / "antivirus_services.ps1"


def _reading_statement() -> str:
    """The module's statement that turns the record's text into names (the one using ConvertFrom-Json)."""
    code = re.sub(r"<#.*?#>", "", _SCRIPT.read_text(encoding="utf-8"), flags=re.DOTALL)  # block comments
    lines = [line for line in code.splitlines()
             if re.search(r"\bConvertFrom-Json\b", line) and not line.lstrip().startswith("#")]
    if len(lines) != 1:
        raise ValueError(f"simlab: expected one ConvertFrom-Json statement in {_SCRIPT.name}, found {len(lines)}")
    return lines[0]


def read_record(state: dict[str, Any]) -> list[str]:
    """The names the module gets back from its record on Windows PowerShell 5.1."""
    text = state.get(RECORD_KEY)
    if text is None:
        return []
    value = evaluate_statement(_reading_statement(), {"get-content": text})
    return [str(v) for v in value] if isinstance(value, list) else [] if value is None else [str(value)]


def write_record(state: dict[str, Any], names: list[str]) -> None:
    """``ConvertTo-Json -InputObject @($names) | Set-Content``: a JSON array, or no file when empty."""
    if names:
        state[RECORD_KEY] = json.dumps(names, indent=4)
    else:
        state.pop(RECORD_KEY, None)


def recorded_names(state: dict[str, Any]) -> list[str]:
    """What the record file holds (for assertions): the JSON array the module wrote."""
    text = state.get(RECORD_KEY)
    return json.loads(text) if text is not None else []


def _stopped_within(service: dict[str, Any], timeout_s: float, lab: dict[str, Any]) -> bool:
    """``ServiceController.WaitForStatus('Stopped', timeout)`` without sleeping: would it return?"""
    if winhost.service_status(service) != "StopPending":
        return True
    if service["stop_pending_until"] - time.time() <= timeout_s * winhost.scale(lab):
        service["stop_pending_until"] = 0
        return True
    return False


def _stop_pending_msg(name: str, timeout: int) -> str:
    return (f"The antivirus service '{name}' is still StopPending after {timeout} seconds. It is recorded as "
            "paused, so state=started restarts it once it has stopped; raise stop_timeout or stop it in the "
            "antivirus console")


def _stop(call: HostCall, table: dict[str, Any], paused: list[str], result: dict[str, Any]) -> dict[str, Any] | None:
    timeout = call.args.get("stop_timeout", 60)
    for name in call.args.get("services") or []:
        service = table.get(name.lower())
        entry = {"name": name, "present": service is not None, "running_before": False, "running": False,
                 "dependents": []}
        result["services"].append(entry)
        if service is None or not service["running"]:
            continue
        dependents = [d for d in winhost.dependent_services(table, service["name"]) if d["running"]]
        entry.update(running_before=True, running=True, dependents=[d["name"] for d in dependents])
        targets = [service, *dependents]
        result["changed"] = True
        result["stopped"] += [t["name"] for t in targets]
        if call.check_mode:
            continue
        for target in targets:
            if target["name"] not in paused:
                paused.append(target["name"])
        write_record(call.state, paused)
        winhost.request_stop(table, service, call.lab)
        for target in targets:
            if not _stopped_within(target, timeout, call.lab):
                return {"failed": True, "msg": _stop_pending_msg(target["name"], timeout), **result}
            winhost.log(call.state, "service_stopped", service=target["name"])
        entry["running"] = False
    return None


def _start(call: HostCall, table: dict[str, Any], paused: list[str], result: dict[str, Any]) -> dict[str, Any] | None:
    timeout = call.args.get("stop_timeout", 60)
    wanted = {name.lower() for name in call.args.get("services") or []}
    for name in list(wanted):  # a listed service brings back the dependents stopped with it
        if name in table:
            wanted |= {d["name"].lower() for d in winhost.dependent_services(table, name)}
    for name in [n for n in list(paused) if not wanted or n.lower() in wanted]:
        service = table.get(name.lower())
        entry = {"name": name, "present": service is not None, "running_before": False, "running": False,
                 "dependents": []}
        result["services"].append(entry)
        if service is not None:
            entry.update(running_before=service["running"], running=service["running"])
            if not service["running"]:
                result["started"].append(service["name"])
                result["changed"] = True
                if not call.check_mode:
                    if not _stopped_within(service, timeout, call.lab):
                        return {"failed": True, "msg": _stop_pending_msg(service["name"], timeout), **result}
                    service["running"] = True
                    entry["running"] = True
                    winhost.log(call.state, "service_started", service=service["name"])
        if not call.check_mode:
            paused.remove(name)
            write_record(call.state, paused)
    return None


def run(call: HostCall) -> dict[str, Any]:
    state = call.state if not call.check_mode else json.loads(json.dumps(call.state))
    table = winhost.services(state)
    paused = read_record(call.state)
    result: dict[str, Any] = {"changed": False, "services": [], "stopped": [], "started": []}
    step = _stop if call.args["state"] == "stopped" else _start
    failure = step(call, table, paused, result)
    if failure is not None:
        return failure
    if not call.check_mode:
        write_record(call.state, paused)
    result["paused"] = list(paused)  # the record as the module reads it back, after this call
    return result
