"""Simulated ``ansible.windows.win_powershell``, for the one script the lab knows (test code only).

The lab cannot run PowerShell. It answers the script the naive benchmark audit sends
(``benchmarks/naive_audit.yml``): read one file's ``VersionInfo``, the way an administrator reads a
driver version when ``win_file_version`` refuses ``.sys`` files. Any other script fails, naming
itself, so nothing can depend on a behaviour the lab does not model.
"""

from __future__ import annotations

from typing import Any

from tests.simlab.dispatch import HostCall
from tests.simlab.windows import driver_at, version_parts

SUPPORTS_CHECK_MODE = True

# The script, as benchmarks/naive_audit.yml sends it (compared with whitespace collapsed).
VERSION_INFO_SCRIPT = """
[CmdletBinding()]
param ([string]$Path)
if (Test-Path -LiteralPath $Path -PathType Leaf) {
    $info = (Get-Item -LiteralPath $Path).VersionInfo
    [PSCustomObject]@{
        FileVersion = $info.FileVersion
        ProductVersion = $info.ProductVersion
        FileMajorPart = $info.FileMajorPart
        FileMinorPart = $info.FileMinorPart
        FileBuildPart = $info.FileBuildPart
        FilePrivatePart = $info.FilePrivatePart
    }
}
$Ansible.Changed = $false
"""


def _normalised(script: str) -> str:
    return " ".join(script.split())


def _streams(**values: Any) -> dict[str, Any]:
    base = {"changed": False, "result": {}, "host_out": "", "host_err": "", "output": [], "error": [],
            "warning": [], "verbose": [], "debug": [], "information": []}
    return {**base, **values}


# The competent baseline's one script (benchmarks/competent_audit.yml): Win32_OperatingSystem and
# every listed driver's VersionInfo in one call, one PSCustomObject out
# (https://learn.microsoft.com/en-us/windows/win32/cimwin32prov/win32-operatingsystem,
# https://learn.microsoft.com/en-us/dotnet/api/system.diagnostics.fileversioninfo).
OS_AND_DRIVERS_SCRIPT = """
[CmdletBinding()]
param ([string[]]$Names)
$os = Get-CimInstance -ClassName Win32_OperatingSystem
$drivers = foreach ($name in $Names) {
    $path = Join-Path -Path $env:SystemRoot -ChildPath "System32\\drivers\\$name"
    if (Test-Path -LiteralPath $path -PathType Leaf) {
        $info = (Get-Item -LiteralPath $path).VersionInfo
        [PSCustomObject]@{
            Name = $name
            FileVersion = $info.FileVersion
            FilePrivatePart = $info.FilePrivatePart
        }
    }
}
[PSCustomObject]@{
    OsVersion = $os.Version
    ProductType = $os.ProductType
    Drivers = @($drivers)
}
$Ansible.Changed = $false
"""


def _os_and_drivers(call: HostCall) -> dict[str, Any]:
    drivers = []
    for name in (call.args.get("parameters") or {}).get("Names") or []:
        driver = driver_at(call.state, f"C:\\Windows\\System32\\drivers\\{name}")
        if driver is not None:
            drivers.append({"Name": name, "FileVersion": driver.get("file_version"), "FilePrivatePart": version_parts(driver)[3]})
    return _streams(output=[{"OsVersion": call.state["os_version"], "ProductType": call.state["product_type"],
                             "Drivers": drivers}])


def run(call: HostCall) -> dict[str, Any]:
    script = call.args.get("script") or ""
    if _normalised(script) == _normalised(OS_AND_DRIVERS_SCRIPT):
        return _os_and_drivers(call)
    if _normalised(script) != _normalised(VERSION_INFO_SCRIPT):
        return {"failed": True, "msg": f"simlab: win_powershell script not simulated: {script.strip()[:120]!r}"}
    if call.check_mode:
        return _streams(changed=True, msg="skipped, running in check mode")
    path = (call.args.get("parameters") or {}).get("Path", "")
    driver = driver_at(call.state, path)
    if driver is None:
        return _streams()
    parts = version_parts(driver)
    return _streams(output=[{
        "FileVersion": driver.get("file_version"), "ProductVersion": driver.get("product_version"),
        "FileMajorPart": parts[0], "FileMinorPart": parts[1], "FileBuildPart": parts[2], "FilePrivatePart": parts[3],
    }])
