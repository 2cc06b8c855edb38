"""Simulated ``winfleet.updates.virtio_probe``: what the PowerShell module would read.

Returns Win32_OperatingSystem's Version, Caption and ProductType, and for each file asked for
the FileVersionInfo strings and numeric parts. A driver described in the fleet by a string has
no numeric parts (0.0.0.0, as a file without a fixed version resource), so the product must parse
the string; one described with ``file_version_parts`` reports them.
"""

from __future__ import annotations

from typing import Any

from tests.simlab import winhost
from tests.simlab.dispatch import HostCall

SUPPORTS_CHECK_MODE = True
_NO_PARTS = [0, 0, 0, 0]


def run(call: HostCall) -> dict[str, Any]:
    state = call.state
    drivers = []
    for name in call.args["driver_files"]:
        path = f"C:\\Windows\\System32\\drivers\\{name}"
        entry: dict[str, Any] = {"name": name, "path": path, "present": False}
        file = state["drivers"].get(name.lower())
        if file is not None and file.get("unreadable"):
            entry.update(present=True, error=f"cannot read the version of {path}: Access to the path '{path}' is denied.")
        elif file is not None:
            entry.update(
                present=True,
                file_version=file.get("file_version"),
                product_version=file.get("product_version"),
                file_version_parts=file.get("file_version_parts", _NO_PARTS),
                product_version_parts=file.get("product_version_parts", _NO_PARTS),
            )
        drivers.append(entry)
    return {
        "changed": False,
        "os": {"version": state["os_version"], "caption": state["os_caption"], "product_type": state["product_type"]},
        "drivers": drivers,
        # the agent's acs-plugin-manager.exe where Alibaba's installer puts it (winhost.AGENT_PATH)
        "cloud_assistant_agent": winhost.AGENT_PATH if state.get("cloud_assistant", True) else None,
    }
