#!powershell

# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ..module_utils._FileHash

# Host half of winfleet.updates.virtio_install. The action plugin decides and drives; this module
# only does what must run on the host, one operation per call (the ansible.windows win_updates
# pattern, options prefixed with '_' because only the action plugin sends them):
#   poll     read-only: the boot time, the state of the last (or a given) install run, the path of
#            the Cloud Assistant agent if it is installed
#   prepare  create the run's directory (SYSTEM and Administrators only), where the controller
#            pushes the script or the package
#   start    check the pushed file's SHA-256 (or download the script), unpack a package, then run
#            the installer detached: a scheduled task running as SYSTEM, with the highest run level,
#            logs the installer's output and writes result.json when it ends. The task survives the
#            WinRM session dropping while the NIC driver is replaced, and removes itself when done.

$spec = @{
    options = @{
        _operation = @{ type = 'str'; required = $true; choices = @('poll', 'prepare', 'start') }
        _run_id = @{ type = 'str' }
        _source = @{ type = 'str'; choices = @('script', 'package', 'cloud_assistant') }
        _payload = @{ type = 'str' }
        _checksum = @{ type = 'str' }
        _url = @{ type = 'str' }
        _driver_dir = @{ type = 'str' }
        _log_lines = @{ type = 'int'; default = 20 }
    }
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)

$stateRoot = Join-Path -Path $env:ProgramData -ChildPath 'winfleet\virtio_install'
$taskPrefix = 'winfleet-virtio-install-'

function Invoke-InstallWorker {
    <#
    .SYNOPSIS
    The detached worker. Its body is written to worker.ps1 in the run directory and run by the
    scheduled task, so it must not use anything defined outside it.
    #>
    $ErrorActionPreference = 'Continue'
    $runDir = Split-Path -Parent $MyInvocation.MyCommand.Path
    $config = Get-Content -LiteralPath (Join-Path -Path $runDir -ChildPath 'run.json') -Raw | ConvertFrom-Json
    $log = Join-Path -Path $runDir -ChildPath 'install.log'
    $exitCode = 1
    try {
        # -Encoding Unicode everywhere: *>> below writes UTF-16LE in Windows PowerShell 5.1 and the log
        # must have one encoding (https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.core/about/about_character_encoding?view=powershell-5.1)
        "$(Get-Date -Format o) starting the $($config.source) install (run $($config.run_id))" | Add-Content -LiteralPath $log -Encoding Unicode
        if ($config.source -eq 'script') {
            $powershell = Join-Path -Path $env:SystemRoot -ChildPath 'System32\WindowsPowerShell\v1.0\powershell.exe'
            $arguments = @('-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-File', $config.script)
            & $powershell @arguments *>> $log
        }
        elseif ($config.source -eq 'package') {
            $pnputil = Join-Path -Path $env:SystemRoot -ChildPath 'System32\pnputil.exe'
            $arguments = @('-i', '-a', (Join-Path -Path $config.inf_dir -ChildPath '*.inf'))
            & $pnputil @arguments *>> $log
        }
        else {
            $arguments = @('--exec', '--plugin=UpdateVirtIo')
            & $config.agent @arguments *>> $log
        }
        $exitCode = $LASTEXITCODE
    }
    catch {
        ($_ | Out-String) | Add-Content -LiteralPath $log -Encoding Unicode
        $exitCode = 1
    }
    $os = Get-CimInstance -ClassName Win32_OperatingSystem -Property @('LastBootUpTime')
    $result = @{
        run_id = $config.run_id
        exit_code = $exitCode
        finished = (Get-Date).ToUniversalTime().ToString('o')
        boot_time = $os.LastBootUpTime.ToFileTime()
    }
    $temporary = Join-Path -Path $runDir -ChildPath 'result.json.tmp'
    ConvertTo-Json -InputObject $result | Set-Content -LiteralPath $temporary -Encoding UTF8
    Move-Item -LiteralPath $temporary -Destination (Join-Path -Path $runDir -ChildPath 'result.json') -Force
    "$(Get-Date -Format o) the installer exited with code $exitCode" | Add-Content -LiteralPath $log -Encoding Unicode
    try {
        $scheduler = New-Object -ComObject Schedule.Service
        $scheduler.Connect()
        $scheduler.GetFolder('\').DeleteTask("winfleet-virtio-install-$($config.run_id)", 0)
    }
    catch {
        "could not remove the scheduled task: $($_.Exception.Message)" | Add-Content -LiteralPath $log -Encoding Unicode
    }
}

function Get-BootTime {
    <#
    .SYNOPSIS
    LastBootUpTime as a FileTime: it changes at every boot, which is how a finished install whose
    reboot is still pending is told apart from one that already took effect.
    #>
    [CmdletBinding()]
    [OutputType([long])]
    param ()

    $os = Get-CimInstance -ClassName Win32_OperatingSystem -Property @('LastBootUpTime') -ErrorAction Stop
    $os.LastBootUpTime.ToFileTime()
}

function Get-WorkerTask {
    <#
    .SYNOPSIS
    The worker's scheduled task, or $null when it does not exist (any more).
    #>
    [CmdletBinding()]
    param (
        [Parameter(Mandatory)]
        [string]
        $RunId
    )

    $scheduler = New-Object -ComObject Schedule.Service
    $scheduler.Connect()
    try {
        $scheduler.GetFolder('\').GetTask("$taskPrefix$RunId")
    }
    catch {
        $null
    }
}

function Get-InstallRun {
    <#
    .SYNOPSIS
    The state of install run $RunId (or of the last run when empty), or $null if there is none.
    #>
    [CmdletBinding()]
    param (
        [AllowEmptyString()]
        [string]
        $RunId,

        [int]
        $LogLines
    )

    if (-not $RunId) {
        $pointer = Join-Path -Path $stateRoot -ChildPath 'last_run.txt'
        if (-not (Test-Path -LiteralPath $pointer -PathType Leaf)) {
            return $null
        }
        $RunId = (Get-Content -LiteralPath $pointer -TotalCount 1).Trim()
    }
    $runDir = Join-Path -Path $stateRoot -ChildPath $RunId
    $configPath = Join-Path -Path $runDir -ChildPath 'run.json'
    if (-not (Test-Path -LiteralPath $configPath -PathType Leaf)) {
        return $null
    }
    $config = Get-Content -LiteralPath $configPath -Raw | ConvertFrom-Json
    $log = Join-Path -Path $runDir -ChildPath 'install.log'
    $run = @{
        run_id = $RunId
        source = $config.source
        state = 'running'
        exit_code = $null
        boot_time = $null
        log_path = $log
        log_excerpt = ''
    }
    $resultPath = Join-Path -Path $runDir -ChildPath 'result.json'
    if (Test-Path -LiteralPath $resultPath -PathType Leaf) {
        $result = Get-Content -LiteralPath $resultPath -Raw | ConvertFrom-Json
        $run.state = 'finished'
        $run.exit_code = [int]$result.exit_code
        $run.boot_time = [long]$result.boot_time
    }
    else {
        # No result: running, or the worker ended without one (it crashed, or the host restarted
        # under it). A task that never ran yet reports a LastRunTime before 2000.
        $task = Get-WorkerTask -RunId $RunId
        if ($null -eq $task) {
            $run.state = 'lost'
        }
        elseif ($task.State -ne 4 -and $task.LastRunTime.Year -ge 2000) {
            $run.state = 'lost'
            $run.log_excerpt = "the scheduled task ended with result $($task.LastTaskResult) without writing result.json"
        }
    }
    if (Test-Path -LiteralPath $log -PathType Leaf) {
        $run.log_excerpt = ((Get-Content -LiteralPath $log -Tail $LogLines) -join "`n")
    }
    $run
}

function Find-CloudAssistantAgent {
    <#
    .SYNOPSIS
    Path of acs-plugin-manager.exe in the newest C:\ProgramData\aliyun\assist\<version>, or $null.
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param ()

    $root = Join-Path -Path $env:ProgramData -ChildPath 'aliyun\assist'
    if (-not (Test-Path -LiteralPath $root -PathType Container)) {
        return $null
    }
    $versions = Get-ChildItem -LiteralPath $root -Directory |
        Where-Object { Test-Path -LiteralPath (Join-Path -Path $_.FullName -ChildPath 'acs-plugin-manager.exe') } |
        Sort-Object -Descending -Property @{ Expression = { $version = $null; if ([version]::TryParse($_.Name, [ref]$version)) { $version } else { [version]'0.0' } } }
    foreach ($version in $versions) {
        return (Join-Path -Path $version.FullName -ChildPath 'acs-plugin-manager.exe')
    }
    $null
}

function New-StateDirectory {
    <#
    .SYNOPSIS
    Create the state root readable and writable by SYSTEM and Administrators only: the worker runs
    what is staged here as SYSTEM, so no other account may replace a file between check and run.
    #>
    [CmdletBinding(SupportsShouldProcess)]
    param ()

    if (-not (Test-Path -LiteralPath $stateRoot -PathType Container)) {
        $null = New-Item -Path $stateRoot -ItemType Directory -Force
    }
    $acl = New-Object -TypeName System.Security.AccessControl.DirectorySecurity
    $acl.SetAccessRuleProtection($true, $false)
    foreach ($sid in @('S-1-5-18', 'S-1-5-32-544')) {
        $identity = New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList $sid
        $ruleArguments = @($identity, 'FullControl', 'ContainerInherit, ObjectInherit', 'None', 'Allow')
        $acl.AddAccessRule((New-Object -TypeName System.Security.AccessControl.FileSystemAccessRule -ArgumentList $ruleArguments))
    }
    Set-Acl -LiteralPath $stateRoot -AclObject $acl
}

function Assert-Checksum {
    <#
    .SYNOPSIS
    Fail the module unless the file exists and has the SHA-256 the controller computed.
    #>
    [CmdletBinding()]
    param (
        [Parameter(Mandatory)]
        [string]
        $Path,

        [Parameter(Mandatory)]
        [string]
        $Expected
    )

    if (-not (Test-Path -LiteralPath $Path -PathType Leaf)) {
        $module.FailJson("the pushed file $Path is missing on the host")
    }
    $actual = Get-FileSha256 -Path $Path
    if ($actual -ne $Expected.ToLowerInvariant()) {
        $module.FailJson("checksum mismatch for ${Path}: SHA-256 $actual, expected $Expected; the file was changed or truncated on the way")
    }
}

function Expand-Package {
    <#
    .SYNOPSIS
    Unpack the pushed package and return the folder that holds the .inf files for this host.
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param (
        [Parameter(Mandatory)]
        [string]
        $Archive,

        [Parameter(Mandatory)]
        [string]
        $Destination,

        [AllowEmptyString()]
        [string]
        $DriverDir
    )

    if (-not (Test-Path -LiteralPath $Destination)) {
        try {
            Add-Type -AssemblyName System.IO.Compression.FileSystem -ErrorAction Stop
            [System.IO.Compression.ZipFile]::ExtractToDirectory($Archive, $Destination)
        }
        catch {
            # .NET 4.5 is missing on some Server 2008 hosts: the shell can unpack too.
            $null = New-Item -Path $Destination -ItemType Directory -Force
            $shell = New-Object -ComObject Shell.Application
            $shell.NameSpace($Destination).CopyHere($shell.NameSpace($Archive).Items(), 16)
        }
    }
    $base = $Destination
    if ($DriverDir) {
        $base = Join-Path -Path $Destination -ChildPath $DriverDir
    }
    $architecture = 'x86'
    if ([Environment]::Is64BitOperatingSystem) {
        $architecture = 'amd64'
    }
    foreach ($candidate in @((Join-Path -Path $base -ChildPath $architecture), $base)) {
        if ((Test-Path -LiteralPath $candidate -PathType Container) -and (Get-ChildItem -LiteralPath $candidate -Filter '*.inf')) {
            return $candidate
        }
    }
    $module.FailJson("the package has no .inf files in $base\$architecture nor in $base; it does not match this host's Windows version or architecture ($architecture)")
}

function Start-InstallWorker {
    <#
    .SYNOPSIS
    Register the worker as a scheduled task running as SYSTEM (elevated) and start it now.
    #>
    [CmdletBinding(SupportsShouldProcess)]
    param (
        [Parameter(Mandatory)]
        [string]
        $RunId,

        [Parameter(Mandatory)]
        [string]
        $WorkerPath
    )

    $scheduler = New-Object -ComObject Schedule.Service
    $scheduler.Connect()
    $definition = $scheduler.NewTask(0)
    $definition.RegistrationInfo.Description = 'virtio driver install started by Ansible (winfleet.updates.virtio_install); it removes itself when done'
    $definition.Settings.AllowDemandStart = $true
    $definition.Settings.DisallowStartIfOnBatteries = $false
    $definition.Settings.StopIfGoingOnBatteries = $false
    $definition.Settings.ExecutionTimeLimit = 'PT4H'
    $definition.Settings.MultipleInstances = 2
    $definition.Principal.RunLevel = 1
    $action = $definition.Actions.Create(0)
    $action.Path = Join-Path -Path $env:SystemRoot -ChildPath 'System32\WindowsPowerShell\v1.0\powershell.exe'
    $action.Arguments = "-NoProfile -NonInteractive -ExecutionPolicy Bypass -File `"$WorkerPath`""
    # 6: create or update; 5: service account logon (SYSTEM needs no password)
    $task = $scheduler.GetFolder('\').RegisterTaskDefinition("$taskPrefix$RunId", $definition, 6, 'SYSTEM', $null, 5)
    $null = $task.Run($null)
}

$operation = $module.Params._operation
$runId = $module.Params._run_id
if ($runId -and $runId -notmatch '^[0-9A-Za-z-]{1,64}$') {
    $module.FailJson("_run_id must be letters, digits and '-' (at most 64), got '$runId'")
}
if ($operation -ne 'poll' -and -not $runId) {
    $module.FailJson("_run_id is required for _operation=$operation")
}

if ($operation -eq 'poll') {
    try {
        $module.Result.boot_time = Get-BootTime
    }
    catch {
        $module.FailJson("Failed to read Win32_OperatingSystem.LastBootUpTime: $($_.Exception.Message)", $_)
    }
    $module.Result.run = Get-InstallRun -RunId $runId -LogLines $module.Params._log_lines
    $module.Result.cloud_assistant_agent = Find-CloudAssistantAgent
    $module.ExitJson()
}

if ($module.CheckMode) {
    $module.FailJson("_operation=$operation changes the host; the action plugin never sends it in check mode")
}
$runDir = Join-Path -Path $stateRoot -ChildPath $runId

if ($operation -eq 'prepare') {
    New-StateDirectory
    if (-not (Test-Path -LiteralPath $runDir -PathType Container)) {
        $null = New-Item -Path $runDir -ItemType Directory -Force
        $module.Result.changed = $true
    }
    $module.Result.run_dir = $runDir
    $module.ExitJson()
}

# start: idempotent for one run id, so that the controller can retry after a lost answer.
$existing = Get-InstallRun -RunId $runId -LogLines $module.Params._log_lines
if ($null -ne $existing) {
    $module.Result.run = $existing
    $module.ExitJson()
}
New-StateDirectory
if (-not (Test-Path -LiteralPath $runDir -PathType Container)) {
    $null = New-Item -Path $runDir -ItemType Directory -Force
}
$source = $module.Params._source
$config = @{ run_id = $runId; source = $source; requested = (Get-Date).ToUniversalTime().ToString('o') }
if ($source -eq 'script') {
    $script = $module.Params._payload
    if ($module.Params._url) {
        $script = Join-Path -Path $runDir -ChildPath 'InstallVirtIo.ps1'
        try {
            [Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12
            $client = New-Object -TypeName System.Net.WebClient
            $client.DownloadFile($module.Params._url, $script)
        }
        catch {
            $msg = "cannot download $($module.Params._url): $($_.Exception.Message). A host without internet access "
            $msg += "needs source=package (or source=cloud_assistant, which downloads over the VPC)"
            $module.FailJson($msg, $_)
        }
    }
    if ($module.Params._checksum) {
        Assert-Checksum -Path $script -Expected $module.Params._checksum
    }
    $config.script = $script
}
elseif ($source -eq 'package') {
    Assert-Checksum -Path $module.Params._payload -Expected $module.Params._checksum
    $extractTo = Join-Path -Path $runDir -ChildPath 'package'
    $config.inf_dir = Expand-Package -Archive $module.Params._payload -Destination $extractTo -DriverDir $module.Params._driver_dir
}
else {
    $agent = Find-CloudAssistantAgent
    if (-not $agent) {
        $module.FailJson('the Cloud Assistant agent is not installed (no acs-plugin-manager.exe under C:\ProgramData\aliyun\assist\<version>\)')
    }
    $config.agent = $agent
}

$workerPath = Join-Path -Path $runDir -ChildPath 'worker.ps1'
Set-Content -LiteralPath $workerPath -Value ${function:Invoke-InstallWorker}.ToString() -Encoding UTF8
ConvertTo-Json -InputObject $config | Set-Content -LiteralPath (Join-Path -Path $runDir -ChildPath 'run.json') -Encoding UTF8
try {
    Start-InstallWorker -RunId $runId -WorkerPath $workerPath
}
catch {
    Remove-Item -LiteralPath (Join-Path -Path $runDir -ChildPath 'run.json') -Force -ErrorAction SilentlyContinue
    $module.FailJson("cannot start the install as a scheduled task: $($_.Exception.Message)", $_)
}
Set-Content -LiteralPath (Join-Path -Path $stateRoot -ChildPath 'last_run.txt') -Value $runId -Encoding ASCII
$module.Result.changed = $true
$module.Result.run = Get-InstallRun -RunId $runId -LogLines $module.Params._log_lines
$module.ExitJson()
