"""Simulated ``community.windows.win_file_version`` (3.1), faithful to its checks.

The real module refuses any file that is not a ``.exe`` or ``.dll``, so it cannot read a driver
(``.sys``) version; the lab refuses it too, with the module's message. For a file it accepts it
returns ``win_file_version`` with every field as a string, as the real module does.
"""

from __future__ import annotations

from typing import Any

from tests.simlab.dispatch import HostCall
from tests.simlab.windows import driver_at, version_parts

SUPPORTS_CHECK_MODE = True


def run(call: HostCall) -> dict[str, Any]:
    path = call.args.get("path")
    result: dict[str, Any] = {"changed": False, "win_file_version": {}}
    if not path:
        return {**result, "failed": True, "msg": "Get-AnsibleParam: Missing required argument: path"}
    driver = driver_at(call.state, path)
    if driver is None:
        return {**result, "failed": True, "msg": f"Specified path {path} does not exist or is not a file."}
    if not path.lower().endswith((".exe", ".dll")):
        return {**result, "failed": True, "msg": f"Specified path {path} is not a valid file type; must be DLL or EXE."}
    parts = version_parts(driver)
    result["win_file_version"] = {
        "path": path, "file_version": driver.get("file_version") or "", "product_version": driver.get("product_version") or "",
        "file_major_part": str(parts[0]), "file_minor_part": str(parts[1]), "file_build_part": str(parts[2]),
        "file_private_part": str(parts[3]), "file_version_raw": ".".join(map(str, parts)),
    }
    return result
