# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host's virtio lock as a Cloud Assistant script, and reading its answer (for internal collection use only).

Over WinRM, ``winfleet.updates.virtio_lock`` keeps one rollout at a time per host:
``%ProgramData%\\winfleet\\virtio_lock.json`` (run id, rollout id, controller, start, expiry on the
host's clock), read and replaced under the named mutex ``Global\\winfleet-virtio-lock``
(https://learn.microsoft.com/en-us/dotnet/api/system.threading.mutex). With
``virtio_transport: ecs_api`` the same file and the same mutex are taken through RunCommand, so a
WinRM rollout and an API rollout on the same host exclude each other, with the same decisions:

* a live lock of another run refuses the host (``busy``, the holder named);
* an expired lock is replaced;
* a lock of the same rollout id, or of a run whose controller process is gone (``takeover``, the
  controller's check in ``_virtio_lock.owner_gone``), is taken over;
* ``absent`` removes the lock only when this run holds it.

Cloud Assistant runs the instance's own ``powershell.exe``: Windows PowerShell 2.0 on Windows
Server 2008 R2 on .NET 2.0/3.5
(https://learn.microsoft.com/en-us/powershell/scripting/windows-powershell/install/windows-powershell-system-requirements),
so the script reads the lock file's fields with a regular expression and writes its JSON by hand
(``ConvertFrom-Json`` / ``ConvertTo-Json`` arrived in 3.0), waits with ``WaitHandle.WaitOne(Int32,
Boolean)`` and frees the handle with ``Close()`` (``Dispose()`` is public from .NET 4.0,
https://learn.microsoft.com/en-us/dotnet/api/system.threading.waithandle.close), and computes Unix
time from ``DateTime.UtcNow`` (``DateTimeOffset.ToUnixTimeSeconds`` is .NET 4.6).
"""

from __future__ import annotations

import json
import re
from typing import Any, Mapping

from ansible_collections.winfleet.updates.plugins.module_utils._ecs_probe_script import read_result_line
from ansible_collections.winfleet.updates.plugins.module_utils._ecs_ps2 import JSON_STRING_FUNCTION, fill_template
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError

#: The output line carrying the answer starts with this.
MARKER = "WINFLEET-VIRTIO-LOCK "
STATES = ("present", "absent")
_RUN_ID = re.compile(r"[0-9A-Za-z._:-]{1,128}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

_TEMPLATE = r"""# winfleet.updates virtio lock: PowerShell 2.0 language and cmdlets only, JSON read and written by hand
$ErrorActionPreference = 'Stop'
$state = '__STATE__'
$runId = '__RUN_ID__'
$rolloutId = '__ROLLOUT_ID__'
$controller = '__CONTROLLER__'
$ttl = __TTL__
$takeover = '__TAKEOVER__'
$check = $__CHECK__
$lockPath = Join-Path -Path $env:ProgramData -ChildPath 'winfleet\virtio_lock.json'
__JSON__
function Format-JsonBool($Value) { if ($Value) { 'true' } else { 'false' } }
function Read-JsonField([string]$Json, [string]$Name) {
    $match = [regex]::Match($Json, '"' + $Name + '"\s*:\s*(?:"((?:[^"\\]|\\.)*)"|(-?[0-9]+))')
    if (-not $match.Success) { return $null }
    if ($match.Groups[1].Success) { return [regex]::Unescape($match.Groups[1].Value) }
    return $match.Groups[2].Value
}
function Format-Lock($Lock) {
    '{"run_id":' + (Format-JsonString $Lock.run_id) + ',"rollout_id":' + (Format-JsonString $Lock.rollout_id) +
    ',"controller":' + (Format-JsonString $Lock.controller) + ',"started":' + [int64]$Lock.started +
    ',"expires":' + [int64]$Lock.expires + '}'
}
$now = [int64][Math]::Floor(([DateTime]::UtcNow - (New-Object DateTime 1970, 1, 1)).TotalSeconds)
$acquired = $false; $attached = $false; $busy = $false; $released = $false; $changed = $false
$holder = 'null'; $message = ''
$mutex = New-Object System.Threading.Mutex($false, 'Global\winfleet-virtio-lock')
$owned = $false
try {
    try { $owned = $mutex.WaitOne(30000, $false) }
    catch [System.Threading.AbandonedMutexException] { $owned = $true }
    if (-not $owned) { throw 'another session held the virtio lock mutex for more than 30 s' }
    $current = $null
    if (Test-Path -LiteralPath $lockPath -PathType Leaf) {
        $text = [System.IO.File]::ReadAllText($lockPath)
        $holderRun = Read-JsonField $text 'run_id'
        if ($null -ne $holderRun) {
            $current = @{ run_id = $holderRun; rollout_id = [string](Read-JsonField $text 'rollout_id')
                controller = [string](Read-JsonField $text 'controller')
                started = [int64](Read-JsonField $text 'started'); expires = [int64](Read-JsonField $text 'expires') }
        }
    }
    $live = ($null -ne $current) -and ($current.expires -gt $now)
    if ($live) { $holder = Format-Lock $current }
    $mine = $live -and ($current.run_id -eq $runId)
    $sameRollout = $live -and ($rolloutId -ne '') -and ($current.rollout_id -eq $rolloutId)
    $stale = $live -and ($takeover -ne '') -and ($current.run_id -eq $takeover)
    if ($state -eq 'absent') {
        if (($null -ne $current) -and ($current.run_id -eq $runId)) {
            if (-not $check) { Remove-Item -LiteralPath $lockPath -Force }
            $released = $true; $changed = $true; $holder = 'null'
        }
    }
    elseif ($live -and -not $mine -and -not $sameRollout -and -not $stale) {
        $busy = $true
        $message = 'busy: run ' + $current.run_id + ' (rollout ' + $current.rollout_id + ', controller ' +
            $current.controller + ") holds this host's virtio lock since " + $current.started + ' until ' + $current.expires
    }
    else {
        $started = $now
        if ($mine) { $started = $current.started }
        $record = @{ run_id = $runId; rollout_id = $rolloutId; controller = $controller; started = $started; expires = $now + $ttl }
        if (-not $check) {
            $directory = Split-Path -Path $lockPath -Parent
            if (-not (Test-Path -LiteralPath $directory)) { [void](New-Item -Path $directory -ItemType Directory -Force) }
            $temporary = $lockPath + '.' + $PID + '.tmp'
            [System.IO.File]::WriteAllText($temporary, (Format-Lock $record))
            Move-Item -LiteralPath $temporary -Destination $lockPath -Force
        }
        $acquired = $true; $attached = ($sameRollout -or $stale) -and -not $mine; $changed = -not $mine
        $holder = Format-Lock $record
    }
}
finally {
    if ($owned) { $mutex.ReleaseMutex() }
    $mutex.Close()
}
Write-Output ('__MARKER__{"acquired":' + (Format-JsonBool $acquired) + ',"attached":' + (Format-JsonBool $attached) +
    ',"busy":' + (Format-JsonBool $busy) + ',"released":' + (Format-JsonBool $released) + ',"changed":' +
    (Format-JsonBool $changed) + ',"holder":' + $holder + ',"msg":' + (Format-JsonString $message) + '}')
exit 0
"""


def _quoted(value: str) -> str:
    """``value`` inside a PowerShell single-quoted string."""
    return value.replace("'", "''")


def lock_script(
    state: str,
    run_id: str,
    *,
    rollout_id: str = "",
    controller: str = "",
    ttl_s: int = 7200,
    takeover: str = "",
    check_mode: bool = False,
) -> str:
    """The script that takes (``present``) or releases (``absent``) the host's virtio lock for this run."""
    if state not in STATES:
        raise InputError("state", f"expected one of {', '.join(STATES)}, got {state!r}")
    for name, value in (("run_id", run_id), ("controller", controller or run_id), ("takeover", takeover or run_id)):
        if not _RUN_ID.fullmatch(str(value)):
            raise InputError(name, f"must be 1 to 128 letters, digits or . _ : -, got {value!r}")
    if _CONTROL.search(rollout_id) or len(rollout_id) > 128:
        raise InputError("virtio_rollout_id", "must be at most 128 characters without control characters "
                                              f"to be kept in the host's virtio lock, got {rollout_id[:40]!r}")
    if int(ttl_s) <= 0:
        raise InputError("ttl_s", f"expected a number of seconds greater than 0, got {ttl_s!r}")
    values = {
        "__JSON__": JSON_STRING_FUNCTION.rstrip(),
        "__STATE__": state,
        "__RUN_ID__": run_id,
        "__ROLLOUT_ID__": _quoted(rollout_id),
        "__CONTROLLER__": controller,
        "__TTL__": str(int(ttl_s)),
        "__TAKEOVER__": takeover,
        "__CHECK__": "true" if check_mode else "false",
        "__MARKER__": MARKER,
    }
    return fill_template(_TEMPLATE, values)


def parse_lock_output(output: str) -> dict[str, Any]:
    """The lock script's answer: acquired, attached, busy, released, changed, holder, msg."""
    raw = read_result_line(output, MARKER, "lock_output", "the virtio lock script")
    if not isinstance(raw, dict) or any(not isinstance(raw.get(k), bool) for k in ("acquired", "busy", "released")):
        raise InputError("lock_output", f"the virtio lock script's answer lacks acquired, busy or released: "
                                        f"{json.dumps(raw)[:200]!r}")
    holder = raw.get("holder")
    return {
        "acquired": raw["acquired"],
        "attached": bool(raw.get("attached")),
        "busy": raw["busy"],
        "released": raw["released"],
        "changed": bool(raw.get("changed")),
        "holder": dict(holder) if isinstance(holder, Mapping) else None,
        "msg": str(raw.get("msg") or ""),
    }
