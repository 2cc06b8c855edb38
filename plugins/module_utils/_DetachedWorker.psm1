# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# For internal collection use only: the one way the collection's host-side modules run work that
# must outlive the WinRM/PSRP session (a driver install that resets the NIC, a CAU run that takes
# hours): a scheduled task running as SYSTEM, whose state lives in a folder under
# %ProgramData%\winfleet that only SYSTEM and Administrators can change.
#
# - The task's principal is the SID S-1-5-18 (LocalSystem), which does not depend on the display
#   language: https://learn.microsoft.com/windows/win32/taskschd/taskschedulerschema-userid-principaltype-element
# - The task runs powershell.exe with -EncodedCommand, never -File: a Group Policy execution
#   policy (MachinePolicy/UserPolicy AllSigned or RemoteSigned) overrides -ExecutionPolicy Bypass
#   and would refuse an unsigned worker.ps1, while a command is not a script file:
#   https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/about_execution_policies
#   (ansible.windows win_updates starts its worker the same way).
# - The bootstrap writes worker.started first, so a worker that never ran is told apart from one
#   that ended without a result; results are written to a temporary file and then moved, so a
#   reader never sees half a file.

$script:SystemSid = 'S-1-5-18'
$script:AdministratorsSid = 'S-1-5-32-544'

Function Assert-TrustedDirectory {
    <#
    .SYNOPSIS
    Refuse a folder that is a reparse point (junction, symbolic link) or that SYSTEM or
    Administrators do not own: someone else could swap what the SYSTEM worker runs.
    #>
    [CmdletBinding()]
    param (
        [Parameter(Mandatory)]
        [string]
        $Path
    )

    $item = Get-Item -LiteralPath $Path -Force -ErrorAction Stop
    if ($item.Attributes -band [System.IO.FileAttributes]::ReparsePoint) {
        throw "the folder $Path is a reparse point (junction or symbolic link); remove it and run again, the collection creates it itself"
    }
    $owner = (Get-Acl -LiteralPath $Path -ErrorAction Stop).GetOwner([System.Security.Principal.SecurityIdentifier]).Value
    if ($owner -notin @($script:SystemSid, $script:AdministratorsSid)) {
        throw "the folder $Path is owned by $owner, not by SYSTEM or Administrators; another account may have created it: remove it and run again"
    }
}

Function Set-ProtectedAcl {
    <#
    .SYNOPSIS
    Owner Administrators; SYSTEM and Administrators full control; nothing inherited.
    #>
    [CmdletBinding(SupportsShouldProcess)]
    param (
        [Parameter(Mandatory)]
        [string]
        $Path
    )

    $acl = New-Object -TypeName System.Security.AccessControl.DirectorySecurity
    $acl.SetOwner((New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList $script:AdministratorsSid))
    $acl.SetAccessRuleProtection($true, $false)
    foreach ($sid in @($script:SystemSid, $script:AdministratorsSid)) {
        $identity = New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList $sid
        $ruleArguments = @($identity, 'FullControl', 'ContainerInherit, ObjectInherit', 'None', 'Allow')
        $acl.AddAccessRule((New-Object -TypeName System.Security.AccessControl.FileSystemAccessRule -ArgumentList $ruleArguments))
    }
    if ($PSCmdlet.ShouldProcess($Path, 'protect')) {
        Set-Acl -LiteralPath $Path -AclObject $acl -ErrorAction Stop
    }
}

Function New-SecureDirectory {
    <#
    .SYNOPSIS
    Create %ProgramData%\winfleet and each folder below it down to $Path, owned by Administrators
    with a protected ACL; refuse a folder on the way that is a junction or has another owner.
    #>
    [CmdletBinding(SupportsShouldProcess)]
    param (
        [Parameter(Mandatory)]
        [string]
        $Path
    )

    $root = Join-Path -Path $env:ProgramData -ChildPath 'winfleet'
    if (-not $Path.StartsWith($root, [System.StringComparison]::OrdinalIgnoreCase)) {
        throw "the state folder $Path is not under $root"
    }
    $relative = $Path.Substring($root.Length).Trim('\')
    $current = $root
    $parts = @('') + @($relative.Split('\') | Where-Object { $_ })
    foreach ($part in $parts) {
        if ($part) {
            $current = Join-Path -Path $current -ChildPath $part
        }
        if (Test-Path -LiteralPath $current) {
            Assert-TrustedDirectory -Path $current
        }
        elseif ($PSCmdlet.ShouldProcess($current, 'create')) {
            $null = New-Item -Path $current -ItemType Directory -ErrorAction Stop
        }
        Set-ProtectedAcl -Path $current
    }
}

Function Get-WorkerBootstrap {
    <#
    .SYNOPSIS
    The command the scheduled task runs: mark the start, run worker.ps1's text, remove the task.
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param (
        [Parameter(Mandatory)]
        [string]
        $TaskName,

        [Parameter(Mandatory)]
        [string]
        $WorkingDirectory
    )

    $directory = $WorkingDirectory.Replace("'", "''")
    $name = $TaskName.Replace("'", "''")
    @"
`$ErrorActionPreference = 'Stop'
`$WorkerDirectory = '$directory'
Set-Location -LiteralPath `$WorkerDirectory
[System.IO.File]::WriteAllText((Join-Path -Path `$WorkerDirectory -ChildPath 'worker.started'), [DateTime]::UtcNow.ToString('o'))
function Write-WorkerResult {
    param ([Parameter(Mandatory)] [string] `$Name, [Parameter(Mandatory)] [hashtable] `$Result)
    `$target = Join-Path -Path `$WorkerDirectory -ChildPath `$Name
    `$temporary = "`$target.tmp"
    [System.IO.File]::WriteAllText(`$temporary, (ConvertTo-Json -InputObject `$Result -Depth 5), (New-Object -TypeName System.Text.UTF8Encoding -ArgumentList `$false))
    Move-Item -LiteralPath `$temporary -Destination `$target -Force
}
try {
    `$worker = [ScriptBlock]::Create([System.IO.File]::ReadAllText((Join-Path -Path `$WorkerDirectory -ChildPath 'worker.ps1')))
    . `$worker
}
finally {
    try {
        `$scheduler = New-Object -ComObject Schedule.Service
        `$scheduler.Connect()
        `$scheduler.GetFolder('\').DeleteTask('$name', 0)
    }
    catch {
        [System.IO.File]::AppendAllText((Join-Path -Path `$WorkerDirectory -ChildPath 'worker.errors'), "could not remove the scheduled task: `$(`$_.Exception.Message)`r`n")
    }
}
"@
}

Function Start-DetachedWorker {
    <#
    .SYNOPSIS
    Write the worker into its (secured) folder and run it now as a scheduled task as SYSTEM.

    .DESCRIPTION
    The worker is PowerShell text that runs dot-sourced in the bootstrap, with $WorkerDirectory
    (its folder, also the working directory) and Write-WorkerResult (temp file, then move) defined.
    #>
    [CmdletBinding(SupportsShouldProcess)]
    param (
        [Parameter(Mandatory)]
        [string]
        $TaskName,

        [Parameter(Mandatory)]
        [string]
        $WorkingDirectory,

        [Parameter(Mandatory)]
        [string]
        $Worker,

        [Parameter(Mandatory)]
        [string]
        $Description,

        [string]
        $ExecutionTimeLimit = 'PT4H'
    )

    New-SecureDirectory -Path $WorkingDirectory
    $utf8 = New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $false
    [System.IO.File]::WriteAllText((Join-Path -Path $WorkingDirectory -ChildPath 'worker.ps1'), $Worker, $utf8)
    $bootstrap = Get-WorkerBootstrap -TaskName $TaskName -WorkingDirectory $WorkingDirectory
    $encoded = [System.Convert]::ToBase64String([System.Text.Encoding]::Unicode.GetBytes($bootstrap))

    $scheduler = New-Object -ComObject Schedule.Service
    $scheduler.Connect()
    $definition = $scheduler.NewTask(0)
    $definition.RegistrationInfo.Description = $Description
    $definition.Settings.AllowDemandStart = $true
    $definition.Settings.DisallowStartIfOnBatteries = $false
    $definition.Settings.StopIfGoingOnBatteries = $false
    $definition.Settings.ExecutionTimeLimit = $ExecutionTimeLimit
    $definition.Settings.MultipleInstances = 2  # TASK_INSTANCES_IGNORE_NEW: never two workers at once
    $definition.Principal.UserId = $script:SystemSid
    $definition.Principal.LogonType = 5  # TASK_LOGON_SERVICE_ACCOUNT
    $definition.Principal.RunLevel = 1  # TASK_RUNLEVEL_HIGHEST
    $action = $definition.Actions.Create(0)
    $action.Path = Join-Path -Path $env:SystemRoot -ChildPath 'System32\WindowsPowerShell\v1.0\powershell.exe'
    $action.Arguments = "-NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand $encoded"
    $action.WorkingDirectory = $WorkingDirectory
    if ($PSCmdlet.ShouldProcess($TaskName, 'register and run')) {
        # 6: TASK_CREATE_OR_UPDATE; 5: TASK_LOGON_SERVICE_ACCOUNT (no password)
        $task = $scheduler.GetFolder('\').RegisterTaskDefinition($TaskName, $definition, 6, $script:SystemSid, $null, 5)
        $null = $task.Run($null)
    }
}

Function Get-DetachedWorkerState {
    <#
    .SYNOPSIS
    running, ended (it ran; read its result file), not_started (the task never ran the worker,
    with the task's last result) or missing (no task and no sign of a start).
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory)]
        [string]
        $TaskName,

        [Parameter(Mandatory)]
        [string]
        $WorkingDirectory
    )

    $task = $null
    $scheduler = New-Object -ComObject Schedule.Service
    $scheduler.Connect()
    try {
        $task = $scheduler.GetFolder('\').GetTask($TaskName)
    }
    catch {
        $task = $null
    }
    $started = Test-Path -LiteralPath (Join-Path -Path $WorkingDirectory -ChildPath 'worker.started') -PathType Leaf
    # TASK_STATE_RUNNING = 4. A task that has not run yet reports a LastRunTime before 2000: it is
    # given two minutes from registration (worker.ps1's write time) before it counts as never started.
    $workerFile = Get-Item -LiteralPath (Join-Path -Path $WorkingDirectory -ChildPath 'worker.ps1') -ErrorAction SilentlyContinue
    $queuedRecently = $null -ne $workerFile -and $workerFile.LastWriteTimeUtc -gt [DateTime]::UtcNow.AddMinutes(-2)
    if ($null -ne $task -and ($task.State -eq 4 -or ($task.LastRunTime.Year -lt 2000 -and $queuedRecently))) {
        return @{ state = 'running'; last_result = $null }
    }
    if ($started) {
        return @{ state = 'ended'; last_result = $null }
    }
    if ($null -ne $task) {
        return @{ state = 'not_started'; last_result = ('0x{0:X8}' -f $task.LastTaskResult) }
    }
    @{ state = 'missing'; last_result = $null }
}

Export-ModuleMember -Function @('New-SecureDirectory', 'Start-DetachedWorker', 'Get-DetachedWorkerState')
