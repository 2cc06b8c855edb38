# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pausing and resuming third-party antivirus as a Cloud Assistant script (for internal collection use only).

The WinRM rollout pauses the antivirus with ``winfleet.updates.antivirus_services`` (PowerShell
5.1). Through the ECS API the same step is a small script that Cloud Assistant runs with the
instance's own ``powershell.exe``: Windows PowerShell 2.0 on Windows Server 2008 R2
(https://learn.microsoft.com/en-us/powershell/scripting/windows-powershell/install/windows-powershell-system-requirements),
so it uses ``Get-Service`` / ``Stop-Service -Force`` / ``Start-Service``, all in 2.0
(https://learn.microsoft.com/powershell/module/microsoft.powershell.management/stop-service), and
writes its small JSON by hand (``ConvertTo-Json`` arrived in 3.0). ``Stop-Service -Force`` stops
the running services that depend on the one named; the script lists them among those it stopped
(``ServiceController.DependentServices``), so the resume restarts exactly what the pause stopped.

The names are validated by ``_antivirus.validate_antivirus_services`` (Microsoft Defender is
refused) before they are put in the script, and quoted for PowerShell's single-quoted strings.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from ansible_collections.winfleet.updates.plugins.module_utils._antivirus import validate_antivirus_services
from ansible_collections.winfleet.updates.plugins.module_utils._ecs_probe_script import read_result_line
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError

#: The output line carrying the result starts with this.
MARKER = "WINFLEET-ANTIVIRUS "
ACTIONS = ("stop", "start")

_TEMPLATE = r"""# winfleet.updates antivirus pause/resume: PowerShell 2.0 language and cmdlets only, JSON written by hand
$ErrorActionPreference = 'Stop'
$action = '__ACTION__'
$services = @(__NAMES__)
$timeout = New-Object System.TimeSpan 0, 0, __WAIT__
$done = @()
$missing = @()
function Format-JsonList($Items) {
    $quoted = @()
    foreach ($item in $Items) { $quoted += ('"' + ([string]$item).Replace('\', '\\').Replace('"', '\"') + '"') }
    '[' + [string]::Join(',', [string[]]$quoted) + ']'
}
foreach ($name in $services) {
    $service = Get-Service -Name $name -ErrorAction SilentlyContinue
    if ($null -eq $service) { $missing += $name; continue }
    if ($action -eq 'stop') {
        if ($service.Status -ne 'Running') { continue }
        $dependents = @($service.DependentServices | Where-Object { $_.Status -eq 'Running' })
        Stop-Service -Name $service.Name -Force
        foreach ($target in @($dependents + $service)) {
            $target.WaitForStatus('Stopped', $timeout)
            $done += $target.Name
        }
    }
    elseif ($service.Status -ne 'Running') {
        Start-Service -Name $service.Name
        $done += $service.Name
    }
}
Write-Output ('__MARKER__{"action":"' + $action + '","done":' + (Format-JsonList $done) + ',"missing":' + (Format-JsonList $missing) + '}')
"""


def antivirus_script(services: Sequence[Any], action: str, wait_seconds: int = 60) -> str:
    """The script that stops (``stop``) or restarts (``start``) these services."""
    if action not in ACTIONS:
        raise InputError("action", f"expected one of {', '.join(ACTIONS)}, got {action!r}")
    names = validate_antivirus_services(services, field="antivirus_services")
    if not names:
        raise InputError("antivirus_services", "expected at least one service name")
    quoted = ", ".join("'" + name.replace("'", "''") + "'" for name in names)
    return (_TEMPLATE.replace("__ACTION__", action).replace("__NAMES__", quoted)
            .replace("__WAIT__", str(int(wait_seconds))).replace("__MARKER__", MARKER))


def parse_antivirus_output(output: str) -> dict[str, list[str]]:
    """``{"done": [...], "missing": [...]}`` from the script's result line."""
    raw = read_result_line(output, MARKER, "antivirus_output", "the antivirus script")
    if not isinstance(raw, dict) or not isinstance(raw.get("done"), list) or not isinstance(raw.get("missing"), list):
        raise InputError("antivirus_output", f"the antivirus script's output lacks done or missing: {json.dumps(raw)[:200]!r}")
    return {"done": [str(n) for n in raw["done"]], "missing": [str(n) for n in raw["missing"]]}
