#!powershell

# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ..module_utils._FileHash
#AnsibleRequires -PowerShell ..module_utils._DetachedWorker
#AnsibleRequires -PowerShell ..module_utils._CloudAssistant

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
#   record   write the record of an install that ran without this module (source=cloud_assistant_api:
#            the ECS API's Cloud Assistant ran it), in the same run.json / result.json a worker leaves,
#            so that poll reports it like any other run

$spec = @{
    options = @{
        _operation = @{ type = 'str'; required = $true; choices = @('poll', 'prepare', 'start', 'record') }
        _run_id = @{ type = 'str' }
        _source = @{ type = 'str'; choices = @('script', 'package', 'cloud_assistant', 'cloud_assistant_api') }
        _payload = @{ type = 'str' }
        _checksum = @{ type = 'str' }
        _url = @{ type = 'str'; no_log = $true }
        _driver_dir = @{ type = 'str' }
        _log_lines = @{ type = 'int'; default = 20 }
        _rollout_id = @{ type = 'str' }
        _version_before = @{ type = 'str' }
        _build_before = @{ type = 'int' }
        _exit_code = @{ type = 'int' }
        _invoke_id = @{ type = 'str' }
    }
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)

$stateRoot = Join-Path -Path $env:ProgramData -ChildPath 'winfleet\virtio_install'
$taskPrefix = 'winfleet-virtio-install-'

# The detached worker (plugins/module_utils/_DetachedWorker.psm1 runs it as SYSTEM in the run's
# folder, with $WorkerDirectory and Write-WorkerResult defined). Everything it logs goes through
# one writer in UTF-8: in Windows PowerShell 5.1, '*>>' appends UTF-16 text, which put NULs into a
# log that Add-Content had started in the ANSI code page.
# https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/about_redirection
$installWorker = @'
$ErrorActionPreference = 'Continue'
$config = Get-Content -LiteralPath (Join-Path -Path $WorkerDirectory -ChildPath 'run.json') -Raw -Encoding UTF8 | ConvertFrom-Json
$log = Join-Path -Path $WorkerDirectory -ChildPath 'install.log'
$utf8 = New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $false

function Write-InstallLog {
    param ([AllowEmptyString()] [string] $Line)
    [System.IO.File]::AppendAllText($log, "$(Get-Date -Format o) $Line`r`n", $utf8)
}

function Invoke-Logged {
    # The program's output and errors, as text, through the one writer; returns its exit code.
    param ([string] $FilePath, [string[]] $ArgumentList)
    Write-InstallLog -Line "running $([System.IO.Path]::GetFileName($FilePath)) $($ArgumentList -join ' ')"
    & $FilePath @ArgumentList 2>&1 | ForEach-Object { Write-InstallLog -Line ([string]$_) }
    $LASTEXITCODE
}

$exitCode = 1
$infs = $null
try {
    Write-InstallLog -Line "starting the $($config.source) install (run $($config.run_id))"
    if ($config.source -eq 'script') {
        $powershell = Join-Path -Path $env:SystemRoot -ChildPath 'System32\WindowsPowerShell\v1.0\powershell.exe'
        $exitCode = Invoke-Logged -FilePath $powershell -ArgumentList @('-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-File', $config.script)
    }
    elseif ($config.source -eq 'package') {
        # One INF at a time, each judged by pnputil's documented return values (0, 3010, and 259 =
        # no matching device or an equal or better driver installed: not a failure).
        # https://learn.microsoft.com/windows-hardware/drivers/devtest/pnputil-return-values
        # /add-driver ... /install exists from Windows 10 1607 / Server 2016 (build 14393):
        # https://learn.microsoft.com/windows-hardware/drivers/devtest/pnputil-command-syntax
        $pnputil = Join-Path -Path $env:SystemRoot -ChildPath 'System32\pnputil.exe'
        $modern = [System.Environment]::OSVersion.Version.Build -ge 14393
        $infs = @()
        foreach ($inf in @(Get-ChildItem -LiteralPath $config.inf_dir -Filter '*.inf' | Sort-Object -Property Name)) {
            $arguments = @('-i', '-a', $inf.FullName)
            if ($modern) {
                $arguments = @('/add-driver', $inf.FullName, '/install')
            }
            $code = Invoke-Logged -FilePath $pnputil -ArgumentList $arguments
            $infs += @{ inf = $inf.FullName; exit_code = [int]$code; command = "pnputil.exe $($arguments -join ' ')" }
        }
        $failures = @($infs | Where-Object { $_.exit_code -notin @(0, 3010, 259) })
        $exitCode = 0
        if ($failures.Count -gt 0) {
            $exitCode = $failures[0].exit_code
        }
        elseif (@($infs | Where-Object { $_.exit_code -eq 3010 }).Count -gt 0) {
            $exitCode = 3010
        }
    }
    else {
        $exitCode = Invoke-Logged -FilePath $config.agent -ArgumentList @('--exec', '--plugin=UpdateVirtIo')
    }
}
catch {
    Write-InstallLog -Line ($_ | Out-String)
    $exitCode = 1
}
$os = Get-CimInstance -ClassName Win32_OperatingSystem -Property @('LastBootUpTime')
Write-InstallLog -Line "the installer exited with code $exitCode"
Write-WorkerResult -Name 'result.json' -Result @{
    run_id = $config.run_id
    exit_code = $exitCode
    infs = $infs
    finished = (Get-Date).ToUniversalTime().ToString('o')
    boot_time = $os.LastBootUpTime.ToFileTime()
}
'@

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
    $config = Get-Content -LiteralPath $configPath -Raw -Encoding UTF8 | ConvertFrom-Json
    $log = Join-Path -Path $runDir -ChildPath 'install.log'
    $run = @{
        run_id = $RunId
        source = $config.source
        state = 'running'
        exit_code = $null
        boot_time = $null
        log_path = $log
        log_excerpt = ''
        infs = $null
        # what the run was for, recorded when it was started: a later run reports the update from it
        rollout_id = $config.rollout_id
        version_before = $config.version_before
        build_before = $config.build_before
        finished = $null
    }
    $resultPath = Join-Path -Path $runDir -ChildPath 'result.json'
    $note = ''
    if (Test-Path -LiteralPath $resultPath -PathType Leaf) {
        $result = Get-Content -LiteralPath $resultPath -Raw -Encoding UTF8 | ConvertFrom-Json
        $run.state = 'finished'
        $run.exit_code = [int]$result.exit_code
        $run.boot_time = [long]$result.boot_time
        $run.finished = [string]$result.finished
        if ($null -ne $result.infs) {
            # grouped: on 5.1 an array property is one object until enumerated
            $run.infs = @(@($result.infs) | ForEach-Object { @{ inf = [string]$_.inf; exit_code = [int]$_.exit_code; command = [string]$_.command } })
        }
    }
    else {
        $worker = Get-DetachedWorkerState -TaskName "$taskPrefix$RunId" -WorkingDirectory $runDir
        if ($worker.state -eq 'not_started') {
            $run.state = 'not_started'
            $note = "the scheduled task $taskPrefix$RunId never started the install worker (last result $($worker.last_result)); see docs/windows_requirements.md"
        }
        elseif ($worker.state -ne 'running') {
            # it ran and ended without a result: it crashed, or the host restarted under it
            $run.state = 'lost'
        }
    }
    if (Test-Path -LiteralPath $log -PathType Leaf) {
        $run.log_excerpt = ((Get-Content -LiteralPath $log -Tail $LogLines -Encoding UTF8) -join "`n")
    }
    if ($note) {
        $run.log_excerpt = (@($run.log_excerpt, $note) | Where-Object { $_ }) -join "`n"
    }
    $run
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
        # .NET Framework 4.5 or later is part of every Windows PowerShell 5.1 host.
        try {
            Add-Type -AssemblyName System.IO.Compression.FileSystem -ErrorAction Stop
            [System.IO.Compression.ZipFile]::ExtractToDirectory($Archive, $Destination)
        }
        catch {
            $module.FailJson("cannot unpack the package ${Archive}: $($_.Exception.Message)", $_)
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

$operation = $module.Params._operation
$runId = $module.Params._run_id
# \A and \z: in .NET, '$' also matches before a final newline, so 'abc`n' would pass '^...$'.
# https://learn.microsoft.com/dotnet/standard/base-types/anchors-in-regular-expressions
if ($runId -and $runId -notmatch '\A[0-9A-Za-z-]{1,64}\z') {
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

function Initialize-RunDirectory {
    <#
    .SYNOPSIS
    The run's folder under %ProgramData%\winfleet, owned by Administrators, SYSTEM and
    Administrators only; a junction or a folder another account created is refused.
    #>
    [CmdletBinding()]
    [OutputType([bool])]
    param ()

    $created = -not (Test-Path -LiteralPath $runDir -PathType Container)
    try {
        New-SecureDirectory -Path $runDir
    }
    catch {
        $module.FailJson("the state folder is not safe to run an install from as SYSTEM: $($_.Exception.Message)", $_)
    }
    $created
}

function Get-UrlForMessage {
    <#
    .SYNOPSIS
    The script URL without its path and query: a signed URL carries its token there.
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param ([Parameter(Mandatory)] [string] $Url)

    $uri = $null
    if ([System.Uri]::TryCreate($Url, [System.UriKind]::Absolute, [ref]$uri)) {
        return "$($uri.Scheme)://$($uri.Authority)/..."
    }
    'the script URL'
}

function Assert-AlibabaSignature {
    <#
    .SYNOPSIS
    Refuse to run the Cloud Assistant agent as SYSTEM unless its Authenticode signature is valid
    and Alibaba's: https://learn.microsoft.com/powershell/module/microsoft.powershell.security/get-authenticodesignature
    #>
    [CmdletBinding()]
    param ([Parameter(Mandatory)] [string] $Path)

    $signature = Get-AuthenticodeSignature -FilePath $Path
    if ($signature.Status -ne 'Valid') {
        $module.FailJson("the Cloud Assistant agent $Path has no valid Authenticode signature (status $($signature.Status)); it is not run as SYSTEM. Reinstall the agent from Alibaba Cloud, or use source=script or source=package")
    }
    $subject = [string]$signature.SignerCertificate.Subject
    if ($subject -notmatch '(^|,\s*)(O|CN)="?Alibaba') {
        $module.FailJson("the Cloud Assistant agent $Path is signed by '$subject', not by Alibaba; it is not run as SYSTEM. Reinstall the agent from Alibaba Cloud, or use source=script or source=package")
    }
}

function Write-RunFile {
    <#
    .SYNOPSIS
    Write one of the run's JSON files (run.json, result.json) in UTF-8, through a temporary file
    and a move, so that a poll never reads half a file.
    #>
    [CmdletBinding()]
    param (
        [Parameter(Mandatory)]
        [string]
        $Name,

        [Parameter(Mandatory)]
        [hashtable]
        $Content
    )

    $target = Join-Path -Path $runDir -ChildPath $Name
    $utf8 = New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $false
    [System.IO.File]::WriteAllText("$target.tmp", (ConvertTo-Json -InputObject $Content -Depth 5), $utf8)
    Move-Item -LiteralPath "$target.tmp" -Destination $target -Force
}

function Get-StartedRunConfig {
    <#
    .SYNOPSIS
    The run.json of a run: what it is for (the rollout, the driver version before it), which a
    later run reads to report the update even if the controller that started it died.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param ()

    @{
        run_id = $runId
        source = $module.Params._source
        requested = (Get-Date).ToUniversalTime().ToString('o')
        rollout_id = $module.Params._rollout_id
        version_before = $module.Params._version_before
        build_before = $module.Params._build_before
    }
}

function Set-LastRun {
    <#
    .SYNOPSIS
    Point last_run.txt at this run: poll without a run id reports it.
    #>
    [CmdletBinding(SupportsShouldProcess)]
    param ()

    if ($PSCmdlet.ShouldProcess($stateRoot, "record $runId as the last install run")) {
        $utf8 = New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $false
        [System.IO.File]::WriteAllText((Join-Path -Path $stateRoot -ChildPath 'last_run.txt'), $runId, $utf8)
    }
}

if ($operation -eq 'prepare') {
    $module.Result.changed = Initialize-RunDirectory
    $module.Result.run_dir = $runDir
    $module.ExitJson()
}

$source = $module.Params._source
# This module starts no install for cloud_assistant_api (the ECS API does) and records nothing else.
$recordable = ($source -eq 'cloud_assistant_api') -and ($null -ne $module.Params._exit_code)
if (($operation -eq 'record') -ne $recordable) {
    $module.FailJson("_operation=record is for _source=cloud_assistant_api with _exit_code, and only for it; got _operation=$operation, _source=$source")
}

# start and record: idempotent for one run id, so that the controller can retry after a lost answer.
$existing = Get-InstallRun -RunId $runId -LogLines $module.Params._log_lines
if ($null -ne $existing) {
    $module.Result.run = $existing
    $module.ExitJson()
}
$null = Initialize-RunDirectory
$config = Get-StartedRunConfig

if ($operation -eq 'record') {
    # The install ran elsewhere (Cloud Assistant, started through the ECS API) and has ended: its
    # record is a finished run, with this boot's time, exactly what a worker leaves when it ends.
    $config.invoke_id = $module.Params._invoke_id
    Write-RunFile -Name 'run.json' -Content $config
    Write-RunFile -Name 'result.json' -Content @{
        run_id = $runId
        exit_code = $module.Params._exit_code
        infs = $null
        finished = (Get-Date).ToUniversalTime().ToString('o')
        boot_time = Get-BootTime
    }
    Set-LastRun
    $module.Result.changed = $true
    $module.Result.run = Get-InstallRun -RunId $runId -LogLines $module.Params._log_lines
    $module.ExitJson()
}

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
            # the exception text of WebClient can repeat the URL: only its type is reported
            $shown = Get-UrlForMessage -Url $module.Params._url
            $msg = "cannot download the script from ${shown} ($($_.Exception.GetType().Name)). A host without internet "
            $msg += "access needs source=package (or source=cloud_assistant, which downloads over the VPC)"
            $module.FailJson($msg)
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
    Assert-AlibabaSignature -Path $agent
    $config.agent = $agent
}

Write-RunFile -Name 'run.json' -Content $config
try {
    $workerArguments = @{
        TaskName = "$taskPrefix$runId"
        WorkingDirectory = $runDir
        Worker = $installWorker
        Description = 'virtio driver install started by Ansible (winfleet.updates.virtio_install); it removes itself when done'
    }
    Start-DetachedWorker @workerArguments
}
catch {
    Remove-Item -LiteralPath (Join-Path -Path $runDir -ChildPath 'run.json') -Force -ErrorAction SilentlyContinue
    $module.FailJson("cannot start the install as a scheduled task: $($_.Exception.Message)", $_)
}
Set-LastRun
$module.Result.changed = $true
$module.Result.run = Get-InstallRun -RunId $runId -LogLines $module.Params._log_lines
$module.ExitJson()
