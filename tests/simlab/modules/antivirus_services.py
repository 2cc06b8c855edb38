"""Simulated ``winfleet.updates.antivirus_services``: stop and restart services, remember which.

Services come from the fleet's ``antivirus`` key (plus Defender on NT 6.2+, which the action
plugin refuses before it could get here); the marker file of the real module is the state key
``antivirus_paused``. Same results as the real module.
"""

from __future__ import annotations

from typing import Any

from tests.simlab import winhost
from tests.simlab.dispatch import HostCall

SUPPORTS_CHECK_MODE = True


def run(call: HostCall) -> dict[str, Any]:
    table = winhost.services(dict(call.state) if call.check_mode else call.state)
    paused: list[str] = list(call.state.get("antivirus_paused", []))
    result: dict[str, Any] = {"changed": False, "services": [], "stopped": [], "started": []}
    if call.args["state"] == "stopped":
        for name in call.args["services"]:
            service = table.get(name.lower())
            entry = {"name": name, "present": service is not None, "running_before": False, "running": False}
            if service is not None and service["running"]:
                entry.update(running_before=True, running=True)
                if not call.check_mode:
                    service["running"] = False
                    entry["running"] = False
                    if service["name"] not in paused:
                        paused.append(service["name"])
                    winhost.log(call.state, "service_stopped", service=service["name"])
                result["stopped"].append(service["name"])
                result["changed"] = True
            result["services"].append(entry)
    else:
        wanted = {name.lower() for name in call.args["services"]}
        for name in [n for n in paused if not wanted or n.lower() in wanted]:
            service = table.get(name.lower())
            entry = {"name": name, "present": service is not None, "running_before": False, "running": False}
            if service is not None:
                entry.update(running_before=service["running"], running=service["running"])
                if not service["running"]:
                    if not call.check_mode:
                        service["running"] = True
                        entry["running"] = True
                        winhost.log(call.state, "service_started", service=service["name"])
                    result["started"].append(service["name"])
                    result["changed"] = True
            if not call.check_mode:
                paused.remove(name)
            result["services"].append(entry)
    if not call.check_mode:
        if paused:
            call.state["antivirus_paused"] = paused
        else:
            call.state.pop("antivirus_paused", None)
    return result
