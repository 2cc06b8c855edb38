# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The virtio probe as a Cloud Assistant script, and reading its output (for internal collection use only).

Cloud Assistant runs scripts with the instance's own ``powershell.exe``, and Windows Server
2008 R2 ships Windows PowerShell 2.0 (2012: 3.0), below Ansible's 5.1 floor
(https://learn.microsoft.com/en-us/powershell/scripting/windows-powershell/install/windows-powershell-system-requirements).
So the script uses the PowerShell 2.0 language and cmdlets only: ``Get-WmiObject`` rather than
``Get-CimInstance`` (3.0), and the small JSON it prints is written by hand, because
``ConvertTo-Json`` arrived in 3.0. It reads exactly what the WinRM probe (``virtio_probe.ps1``)
reads, in the same shape, so one assessment (``_virtio.assess_probe``) judges both.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from ansible_collections.winfleet.updates.plugins.module_utils import _virtio
from ansible_collections.winfleet.updates.plugins.module_utils._ecs_ps2 import JSON_STRING_FUNCTION, fill_template
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError

#: The output line carrying the facts starts with this, so agent or profile noise is ignored.
MARKER = "WINFLEET-VIRTIO-PROBE "

#: Cmdlets and syntax newer than PowerShell 2.0 that the script must never use (checked by tests).
NOT_IN_POWERSHELL_2 = ("ConvertTo-Json", "ConvertFrom-Json", "Get-CimInstance", "[ordered]", "[pscustomobject]",
                       "::new(", " -in ", " -notin ", "$PSItem", "Invoke-RestMethod")

_TEMPLATE = r"""# winfleet.updates virtio probe: PowerShell 2.0 language and cmdlets only, JSON written by hand
$ErrorActionPreference = 'Stop'
$names = @(__NAMES__)
__JSON__
function Format-Parts($Info, [string]$Kind) {
    $parts = @(
        [int]$Info.($Kind + 'MajorPart'),
        [int]$Info.($Kind + 'MinorPart'),
        [int]$Info.($Kind + 'BuildPart'),
        [int]$Info.($Kind + 'PrivatePart')
    )
    '[' + [string]::Join(',', [string[]]$parts) + ']'
}
$os = Get-WmiObject -Class Win32_OperatingSystem
# LastBootUpTime is a CIM datetime string; ManagementDateTimeConverter (.NET 2.0) reads it, printed in UTC
$boot = $null
try { $boot = [System.Management.ManagementDateTimeConverter]::ToDateTime([string]$os.LastBootUpTime) }
catch { $boot = $null }
if ($null -ne $boot) { $boot = $boot.ToUniversalTime().ToString('s') + 'Z' }
$osJson = '{"version":' + (Format-JsonString ([string]$os.Version)) +
    ',"caption":' + (Format-JsonString ([string]$os.Caption)) + ',"product_type":' + [int]$os.ProductType +
    ',"last_boot_up_time":' + (Format-JsonString $boot) + '}'
$driverDir = Join-Path -Path $env:SystemRoot -ChildPath 'System32\drivers'
$entries = @()
foreach ($name in $names) {
    $path = Join-Path -Path $driverDir -ChildPath $name
    $entry = '{"name":' + (Format-JsonString $name) + ',"path":' + (Format-JsonString $path)
    if (Test-Path -LiteralPath $path -PathType Leaf) {
        $info = [System.Diagnostics.FileVersionInfo]::GetVersionInfo($path)
        $entry += ',"present":true,"file_version":' + (Format-JsonString $info.FileVersion)
        $entry += ',"product_version":' + (Format-JsonString $info.ProductVersion)
        $entry += ',"file_version_parts":' + (Format-Parts $info 'File')
        $entry += ',"product_version_parts":' + (Format-Parts $info 'Product')
    }
    else {
        $entry += ',"present":false'
    }
    $entries += ($entry + '}')
}
Write-Output ('__MARKER__{"os":' + $osJson + ',"drivers":[' + [string]::Join(',', [string[]]$entries) + ']}')
exit 0
"""


def probe_script(driver_files: Sequence[str]) -> str:
    """The script for these driver files (validated bare ``.sys`` names, so quoting is safe)."""
    names = _virtio.validate_driver_files(driver_files)
    quoted = ", ".join(f"'{name}'" for name in names)
    return fill_template(_TEMPLATE, {"__JSON__": JSON_STRING_FUNCTION.rstrip(), "__NAMES__": quoted, "__MARKER__": MARKER})


def read_result_line(output: str, marker: str, field: str, what: str) -> Any:
    """The JSON after the last output line that starts with ``marker`` (agent or profile noise is ignored)."""
    for line in reversed((output or "").splitlines()):
        line = line.strip().lstrip("\ufeff")
        if line.startswith(marker.strip()):
            text = line[len(marker.strip()):].strip()
            try:
                return json.loads(text)
            except ValueError as err:
                raise InputError(field, f"{what}'s output is not valid JSON ({err}): {text[:200]!r}") from None
    raise InputError(field, f"{what} printed no result line; its output was: {(output or '')[-300:]!r}")


def parse_probe_output(output: str) -> dict[str, Any]:
    """The raw facts the script printed (the shape ``virtio_probe.ps1`` returns)."""
    raw = read_result_line(output, MARKER, "probe_output", "the probe")
    if not isinstance(raw, dict) or not isinstance(raw.get("os"), dict) or not isinstance(raw.get("drivers"), list):
        raise InputError("probe_output", f"the probe's output lacks os or drivers: {json.dumps(raw)[:200]!r}")
    return raw
