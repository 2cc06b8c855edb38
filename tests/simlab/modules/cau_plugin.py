"""Simulated ``winfleet.updates.cau_plugin``: Get-/Register-/Unregister-CauPlugin on one machine.

Registering needs the plug-in's binary installed on the host (``cau_plugin_binaries`` in the
fleet); the binary decides the registered name, as Register-CauPlugin does by reflection.
"""

from __future__ import annotations

from typing import Any

from tests.simlab.cau import BUILTIN_PLUGINS, is_registered, registered_plugins
from tests.simlab.dispatch import HostCall

SUPPORTS_CHECK_MODE = True


def run(call: HostCall) -> dict[str, Any]:
    state = call.state
    name, path, wanted = call.args["name"], call.args.get("path"), call.args.get("state", "present")
    before = registered_plugins(state)
    result: dict[str, Any] = {"changed": False, "before": before, "after": before}
    if wanted == "absent":
        if name.lower() in {b.lower() for b in BUILTIN_PLUGINS}:
            return {**result, "failed": True, "msg": f"{name} is built into CAU and cannot be unregistered"}
        if is_registered(state, name):
            after = [p for p in before if p.lower() != name.lower()]
            if not call.check_mode:
                state["cau_plugins"] = [p for p in state["cau_plugins"] if p.lower() != name.lower()]
                call.log("cau_unregister_plugin", name=name)
            return {**result, "changed": True, "after": after}
        return result
    if is_registered(state, name):
        return result
    if not path:
        return {**result, "failed": True, "msg": f"The CAU plug-in {name} is not registered on {state['name']} and no path was given"}
    registers = state["cau_plugin_binaries"].get(path.lower())
    if registers is None:
        return {**result, "failed": True,
                "msg": f"The plug-in binary {path} does not exist on {state['name']}; install the plug-in there first"}
    if call.check_mode:
        return {**result, "changed": True, "after": sorted([*before, name], key=str.lower)}
    state["cau_plugins"] = [*state["cau_plugins"], registers]
    call.log("cau_register_plugin", name=registers, path=path)
    after = registered_plugins(state)
    if registers.lower() != name.lower():
        return {**result, "changed": True, "after": after, "failed": True,
                "msg": f"Register-CauPlugin loaded {path}, but no plug-in named {name} is registered now. This computer WAS "
                       f"changed: the registered plug-ins went from [{', '.join(before)}] to [{', '.join(after)}]."}
    return {**result, "changed": True, "after": after}
