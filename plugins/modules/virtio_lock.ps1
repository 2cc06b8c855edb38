#!powershell

# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic

# Host half of winfleet.updates.virtio_lock: one rollout at a time per host for the virtio work.
# The lock is %ProgramData%\winfleet\virtio_lock.json (run id, rollout id, controller, start and
# expiry on the host's own clock). Reading and replacing it happens under a named mutex in the
# Global namespace, so two sessions (two controllers) cannot both take it:
# https://learn.microsoft.com/en-us/dotnet/api/system.threading.mutex

$spec = @{
    options = @{
        # Every option is set by the action plugin (the run id is the controller's process).
        _state = @{ type = 'str'; required = $true; choices = @('present', 'absent') }
        _run_id = @{ type = 'str'; required = $true }
        _rollout_id = @{ type = 'str'; default = '' }
        _controller = @{ type = 'str'; default = '' }
        _ttl_s = @{ type = 'int'; default = 7200 }
        _takeover = @{ type = 'str'; default = '' }
    }
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)

$lockPath = Join-Path -Path $env:ProgramData -ChildPath 'winfleet\virtio_lock.json'
$runId = $module.Params._run_id
$rolloutId = $module.Params._rollout_id
if ($runId -notmatch '\A[0-9A-Za-z._:-]{1,128}\z') {
    $module.FailJson("run_id must be 1 to 128 letters, digits or . _ : -, got '$runId'")
}
if ($rolloutId -and $rolloutId -match '[\x00-\x1f\x7f]') {
    $module.FailJson("rollout_id must not contain control characters")
}
if ($module.Params._ttl_s -le 0) {
    $module.FailJson("ttl_s must be a number of seconds greater than 0, got $($module.Params._ttl_s)")
}

function Get-VirtioLock {
    <#
    .SYNOPSIS
    The current lock record, or $null when there is none or it cannot be read.
    #>
    [CmdletBinding()]
    [OutputType([object])]
    param ()

    if (-not (Test-Path -LiteralPath $lockPath -PathType Leaf)) {
        return $null
    }
    try {
        Get-Content -LiteralPath $lockPath -Raw -ErrorAction Stop | ConvertFrom-Json -ErrorAction Stop
    }
    catch {
        $null
    }
}

function Set-VirtioLock {
    <#
    .SYNOPSIS
    Write the lock record (a new file replaces the old one in one move).
    #>
    [CmdletBinding(SupportsShouldProcess)]
    param (
        [Parameter(Mandatory)]
        [hashtable]
        $Record
    )

    $directory = Split-Path -Path $lockPath -Parent
    if (-not (Test-Path -LiteralPath $directory)) {
        $null = New-Item -Path $directory -ItemType Directory -Force
    }
    $temporary = "$lockPath.$PID.tmp"
    if ($PSCmdlet.ShouldProcess($lockPath, 'write the virtio lock')) {
        ConvertTo-Json -InputObject $Record | Set-Content -LiteralPath $temporary -Encoding UTF8
        Move-Item -LiteralPath $temporary -Destination $lockPath -Force
    }
}

$now = [DateTimeOffset]::UtcNow.ToUnixTimeSeconds()
$module.Result.acquired = $false
$module.Result.attached = $false
$module.Result.busy = $false
$module.Result.released = $false
$module.Result.holder = $null

$mutex = New-Object -TypeName System.Threading.Mutex -ArgumentList @($false, 'Global\winfleet-virtio-lock')
try {
    try {
        $null = $mutex.WaitOne([TimeSpan]::FromSeconds(30))
    }
    catch [System.Threading.AbandonedMutexException] {
        # the session that held it ended without releasing: the mutex is now ours
        $null = $_
    }
    $current = Get-VirtioLock
    $live = $null -ne $current -and [int64]$current.expires -gt $now
    if ($live) {
        $module.Result.holder = @{
            run_id = [string]$current.run_id
            rollout_id = [string]$current.rollout_id
            controller = [string]$current.controller
            started = [int64]$current.started
            expires = [int64]$current.expires
        }
    }

    $mine = $live -and [string]$current.run_id -eq $runId
    $sameRollout = $live -and $rolloutId -and [string]$current.rollout_id -eq $rolloutId
    # The controller found the holder's process gone: its lock is stale and may be replaced now.
    $stale = $live -and $module.Params._takeover -and [string]$current.run_id -eq $module.Params._takeover
    if ($module.Params._state -eq 'absent') {
        if ($null -ne $current -and [string]$current.run_id -eq $runId) {
            if (-not $module.CheckMode) {
                Remove-Item -LiteralPath $lockPath -Force
            }
            $module.Result.released = $true
            $module.Result.changed = $true
            $module.Result.holder = $null
        }
    }
    elseif ($live -and -not $mine -and -not $sameRollout -and -not $stale) {
        $module.Result.busy = $true
        $module.Result.msg = "busy: run $($current.run_id) (rollout $($current.rollout_id), controller " +
        "$($current.controller)) holds this host's virtio lock since $($current.started) until $($current.expires)"
    }
    else {
        $started = if ($mine) { [int64]$current.started } else { $now }
        $record = @{
            run_id = $runId
            rollout_id = $rolloutId
            controller = $module.Params._controller
            started = $started
            expires = $now + $module.Params._ttl_s
        }
        Set-VirtioLock -Record $record -WhatIf:$module.CheckMode
        $module.Result.acquired = $true
        $module.Result.attached = [bool](($sameRollout -or $stale) -and -not $mine)
        $module.Result.changed = -not $mine
        $module.Result.holder = $record
    }
}
finally {
    try {
        $mutex.ReleaseMutex()
    }
    catch [System.ApplicationException] {
        # not owned (the wait timed out): nothing to release
        $null = $_
    }
    $mutex.Dispose()
}

$module.ExitJson()
