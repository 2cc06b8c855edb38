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

**The host keeps the record.** Like ``antivirus_services.ps1`` on the WinRM path, the script keeps
the names it paused in ``%ProgramData%\\winfleet\\antivirus_paused.json`` (a JSON array of service
names, written before each stop), so a controller killed between the pause and the resume loses
nothing: the next run's resume (``start``) restarts exactly what the record names among the
services it is given (and their dependents stopped with them), removes them from the record, and
deletes it when empty. It is the same file in the same shape as the WinRM module's, so either
transport restores what the other paused. The file is read with ``File.ReadAllText`` and parsed by
hand (``ConvertFrom-Json`` arrived in 3.0); the folder is checked as the WinRM modules check it
(``_ecs_ps2.TRUSTED_FOLDER_FUNCTIONS``). The result line's ``paused`` is the record after the
call, so the report names services an interrupted run paused.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from ansible_collections.winfleet.updates.plugins.module_utils._antivirus import validate_antivirus_services
from ansible_collections.winfleet.updates.plugins.module_utils._ecs_ps2 import JSON_STRING_FUNCTION, TRUSTED_FOLDER_FUNCTIONS, fill_template
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
$recordPath = Join-Path -Path $env:ProgramData -ChildPath 'winfleet\antivirus_paused.json'
__JSON__
__FOLDER_FUNCTIONS__
function Format-JsonList($Items) {
    $quoted = @()
    foreach ($item in $Items) { $quoted += (Format-JsonString ([string]$item)) }
    '[' + [string]::Join(',', [string[]]$quoted) + ']'
}
function Read-PausedRecord {
    # the JSON array of names the WinRM module (ConvertTo-Json) or this script wrote, parsed by hand
    $names = New-Object System.Collections.ArrayList
    if (-not [System.IO.File]::Exists($recordPath)) { return ,$names }
    $text = [System.IO.File]::ReadAllText($recordPath)
    foreach ($match in [regex]::Matches($text, '"((?:[^"\\]|\\.)*)"')) {
        $builder = New-Object System.Text.StringBuilder
        foreach ($piece in [regex]::Matches($match.Groups[1].Value, '\\u([0-9a-fA-F]{4})|\\(.)|([^\\]+)')) {
            if ($piece.Groups[1].Success) { [void]$builder.Append([char][Convert]::ToInt32($piece.Groups[1].Value, 16)) }
            elseif ($piece.Groups[2].Success) { [void]$builder.Append($piece.Groups[2].Value) }
            else { [void]$builder.Append($piece.Groups[3].Value) }
        }
        $name = $builder.ToString()
        if ($name -and -not ($names -contains $name)) { [void]$names.Add($name) }
    }
    ,$names
}
function Write-PausedRecord($Names) {
    if ($Names.Count -eq 0) {
        if ([System.IO.File]::Exists($recordPath)) { [System.IO.File]::Delete($recordPath) }
        return
    }
    Initialize-TrustedFolder (Split-Path -Path $recordPath -Parent)
    [System.IO.File]::WriteAllText($recordPath, (Format-JsonList $Names))
}
$paused = Read-PausedRecord
if ($action -eq 'stop') {
    foreach ($name in $services) {
        $service = Get-Service -Name $name -ErrorAction SilentlyContinue
        if ($null -eq $service) { $missing += $name; continue }
        if ($service.Status -ne 'Running') { continue }
        $dependents = @($service.DependentServices | Where-Object { $_.Status -eq 'Running' })
        $targets = @($dependents + $service)
        # recorded before the stop: whatever happens next, a later resume restarts them
        foreach ($target in $targets) { if (-not ($paused -contains $target.Name)) { [void]$paused.Add($target.Name) } }
        Write-PausedRecord $paused
        Stop-Service -Name $service.Name -Force
        foreach ($target in $targets) {
            $target.WaitForStatus('Stopped', $timeout)
            $done += $target.Name
        }
    }
}
else {
    # what the record names among the services given, and the dependents stopped with them
    $wanted = @()
    foreach ($name in $services) {
        $service = Get-Service -Name $name -ErrorAction SilentlyContinue
        if ($null -eq $service) { $missing += $name; continue }
        $wanted += $service.Name
        foreach ($dependent in @($service.DependentServices)) { $wanted += $dependent.Name }
    }
    foreach ($name in @($paused)) {
        if (-not ($wanted -contains $name)) { continue }
        $service = Get-Service -Name $name -ErrorAction SilentlyContinue
        if ($null -ne $service -and $service.Status -ne 'Running') {
            if ($service.Status -eq 'StopPending') { $service.WaitForStatus('Stopped', $timeout) }
            Start-Service -Name $service.Name
            $done += $service.Name
        }
        [void]$paused.Remove($name)
        Write-PausedRecord $paused
    }
}
Write-Output ('__MARKER__{"action":"' + $action + '","done":' + (Format-JsonList $done) +
    ',"missing":' + (Format-JsonList $missing) + ',"paused":' + (Format-JsonList $paused) + '}')
"""


def antivirus_script(services: Sequence[Any], action: str, wait_seconds: int = 60) -> str:
    """The script that stops (``stop``) or restarts (``start``) these services."""
    if action not in ACTIONS:
        raise InputError("action", f"expected one of {', '.join(ACTIONS)}, got {action!r}")
    names = validate_antivirus_services(services, field="antivirus_services")
    if not names:
        raise InputError("antivirus_services", "expected at least one service name")
    quoted = ", ".join("'" + name.replace("'", "''") + "'" for name in names)
    return fill_template(_TEMPLATE, {
        "__ACTION__": action, "__NAMES__": quoted, "__WAIT__": str(int(wait_seconds)),
        "__JSON__": JSON_STRING_FUNCTION.rstrip(), "__FOLDER_FUNCTIONS__": TRUSTED_FOLDER_FUNCTIONS.rstrip(),
        "__MARKER__": MARKER})


def parse_antivirus_output(output: str) -> dict[str, list[str]]:
    """``{"done": [...], "missing": [...], "paused": [...]}`` from the script's result line.

    ``paused`` is the host's record after the call (what is still paused, by this run or an earlier one).
    """
    raw = read_result_line(output, MARKER, "antivirus_output", "the antivirus script")
    if not isinstance(raw, dict) or not isinstance(raw.get("done"), list) or not isinstance(raw.get("missing"), list):
        raise InputError("antivirus_output", f"the antivirus script's output lacks done or missing: {json.dumps(raw)[:200]!r}")
    paused = raw.get("paused") if isinstance(raw.get("paused"), list) else []
    return {"done": [str(n) for n in raw["done"]], "missing": [str(n) for n in raw["missing"]],
            "paused": [str(n) for n in paused]}
