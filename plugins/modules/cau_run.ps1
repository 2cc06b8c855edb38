#!powershell

# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ..module_utils._DetachedWorker

# Host half of winfleet.updates.cau_run. The action plugin decides every cmdlet parameter on the
# controller; this module checks them against an allow-list, converts them to the types the CAU
# cmdlets bind, and splats them. Nothing received is ever evaluated as PowerShell.
#
# Operations (internal, chosen by the action plugin):
#   preflight     one cheap remote call to a node: is the second hop allowed (delegation)?
#   scan          Invoke-CauScan, one round trip
#   start         start Invoke-CauRun in a detached process (it must outlive this WinRM/PSRP
#                 session, which a restarting node or a NIC reset can end) and return at once
#   poll          report the run: Get-CauRun while it runs, its Get-CauReport -Detailed after
#   cluster_role_read  Get-CauClusterRole as it answers (the controller compares)
#   cluster_role  Add-/Set-/Remove-CauClusterRole as the controller decided, honours check mode

$spec = @{
    options = @{
        _operation = @{ type = 'str'; required = $true; choices = @('preflight', 'scan', 'start', 'poll', 'cluster_role_read', 'cluster_role') }
        _parameters = @{ type = 'dict'; default = @{} }
        _operation_options = @{ type = 'dict'; default = @{} }
    }
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
$operation = $module.Params._operation
$options = $module.Params._operation_options

$pluginParameters = @('ClusterName', 'CauPluginName', 'CauPluginArguments', 'RunPluginsSerially', 'StopOnPluginFailure')
$settingParameters = @(
    'SeparateReboots', 'MaxFailedNodes', 'MaxRetriesPerNode', 'RequireAllNodesOnline', 'RebootTimeoutMinutes',
    'PreUpdateScript', 'PostUpdateScript', 'EnableFirewallRules', 'Force'
)
$allowedParameters = @{
    scan = $pluginParameters
    start = @($pluginParameters + $settingParameters + @('ForceSelfUpdate'))
    recover = @('ClusterName', 'ForceRecovery', 'Force')
    poll = @('ClusterName')
    preflight = @('ClusterName')
    cluster_role_read = @('ClusterName')
    cluster_role = @($pluginParameters + $settingParameters + @('StartDate', 'DaysOfWeek', 'WeeksOfMonth', 'IntervalWeeks'))
}
# Run folders under %ProgramData%\winfleet, secured by _DetachedWorker.psm1 (SYSTEM and Administrators only).
$runRoot = Join-Path -Path $env:ProgramData -ChildPath 'winfleet\cau_run'
$taskPrefix = 'winfleet-cau-run-'

function ConvertTo-CauParameter {
    <#
    .SYNOPSIS
    Turn the parameters decided on the controller into a splattable hashtable of CAU types.
    .DESCRIPTION
    Refuses any name outside the allow-list for the operation, so the module can only ever call
    the CAU cmdlets with parameters it knows.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory)]
        [AllowEmptyCollection()]
        [System.Collections.IDictionary]
        $Parameters,

        [Parameter(Mandatory)]
        [string[]]
        $Allowed
    )

    $splat = @{}
    foreach ($key in $Parameters.Keys) {
        if ($Allowed -notcontains $key) {
            throw "parameter '$key' is not allowed here; allowed: $($Allowed -join ', ')"
        }
        $value = $Parameters[$key]
        if ($key -eq 'CauPluginName') {
            $splat[$key] = [string[]]@($value | ForEach-Object { [string]$_ })
        }
        elseif ($key -eq 'CauPluginArguments') {
            $tables = foreach ($item in $value) {
                $table = @{}
                foreach ($argumentName in $item.Keys) {
                    $table[[string]$argumentName] = [string]$item[$argumentName]
                }
                $table
            }
            $splat[$key] = [hashtable[]]@($tables)
        }
        elseif ($key -eq 'StartDate') {
            $splat[$key] = [datetime]::Parse([string]$value, [System.Globalization.CultureInfo]::InvariantCulture, [System.Globalization.DateTimeStyles]::RoundtripKind)
        }
        elseif ($key -eq 'WeeksOfMonth') {
            $splat[$key] = [int[]]@($value | ForEach-Object { [int]$_ })
        }
        elseif ($value -is [bool]) {
            $splat[$key] = [bool]$value
        }
        elseif ($value -is [int] -or $value -is [long]) {
            $splat[$key] = [int]$value
        }
        else {
            $splat[$key] = [string]$value
        }
    }
    $splat
}

function Get-PropertyValue {
    <#
    .SYNOPSIS
    The first of several property names an object has (CAU output differs between versions).
    #>
    [CmdletBinding()]
    [OutputType([object])]
    param (
        [Parameter(Mandatory)]
        [AllowNull()]
        [object]
        $InputObject,

        [Parameter(Mandatory)]
        [string[]]
        $Name
    )

    if ($null -eq $InputObject) {
        return $null
    }
    foreach ($candidate in $Name) {
        $property = $InputObject.PSObject.Properties[$candidate]
        if ($null -ne $property -and $null -ne $property.Value) {
            return $property.Value
        }
    }
    $null
}

function Test-CauRunInProgress {
    <#
    .SYNOPSIS
    Whether Get-CauRun describes a run in progress (it returns RunNotInProgress otherwise).
    #>
    [CmdletBinding()]
    [OutputType([bool])]
    param (
        [Parameter(Mandatory)]
        [AllowNull()]
        [object]
        $Run
    )

    $null -ne $Run -and "$Run" -notmatch 'NotInProgress' -and $null -ne (Get-PropertyValue -InputObject $Run -Name @('RunId'))
}

function Find-OwnRunInProgress {
    <#
    .SYNOPSIS
    The id of a run this module started on this machine for the cluster whose worker still runs, or $null.
    .DESCRIPTION
    A controller killed while it followed a run (SIGKILL, a lost AWX node) leaves the run going:
    its worker (a scheduled task winfleet-cau-run-<id> running Invoke-CauRun, with its folder under
    %ProgramData%\winfleet\cau_run) outlives the controller. CAU runs one updating run per cluster
    (https://learn.microsoft.com/powershell/module/clusterawareupdating/invoke-caurun), so while
    that worker runs, the run Get-CauRun shows for the cluster is the one it started: the next
    start attaches to it instead of refusing. A run started by anyone else has no such worker and
    is still refused.
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param (
        [Parameter(Mandatory)]
        [string]
        $ClusterName
    )

    $folders = @(Get-ChildItem -LiteralPath $runRoot -Directory -ErrorAction SilentlyContinue |
            Where-Object { $_.Name -match '\A[0-9a-fA-F-]{36}\z' } | Sort-Object -Property CreationTimeUtc -Descending)
    foreach ($folder in $folders) {
        $parametersPath = Join-Path -Path $folder.FullName -ChildPath 'parameters.xml'
        if (-not (Test-Path -LiteralPath $parametersPath -PathType Leaf)) {
            continue
        }
        try {
            $started = Import-Clixml -LiteralPath $parametersPath
        }
        catch {
            continue
        }
        if ([string]$started.ClusterName -ne $ClusterName) {
            continue
        }
        $worker = Get-DetachedWorkerState -TaskName "$taskPrefix$($folder.Name)" -WorkingDirectory $folder.FullName
        if ($worker.state -eq 'running') {
            return $folder.Name
        }
    }
    $null
}

function ConvertTo-NodeResult {
    <#
    .SYNOPSIS
    Per-node outcome of a CAU report: status, updates with their result, restarts, error.
    .DESCRIPTION
    Property names and where they are documented:
    - NodeResults, NodeStatusNotifications, and per node Node, Status, ErrorRecordData,
      InstallResults: Get-CauRun, example 1
      (https://learn.microsoft.com/powershell/module/clusterawareupdating/get-caurun).
    - UpdateInstallResult (the InstallResults items): the CAU plug-in reference
      (https://learn.microsoft.com/previous-versions/windows/desktop/mscs/cluster-aware-update-plug-in-interfaces-and-classes);
      its ResultCode is WUA's OperationResultCode
      (https://learn.microsoft.com/windows/win32/api/wuapi/ne-wuapi-operationresultcode).
    - UpdateResults / NodeName / Result / UpdateTitle / Id / Title / Error: older or other
      renderings of the same objects, read only when the documented name is absent.
    A value that is missing or not understood is passed on as is: the controller reports it as
    'unknown' with the raw value rather than guessing.
    #>
    [CmdletBinding()]
    [OutputType([hashtable[]])]
    param (
        [Parameter(Mandatory)]
        [object]
        $Report
    )

    $notifications = @(Get-PropertyValue -InputObject $Report -Name @('NodeStatusNotifications'))
    , @(
        foreach ($nodeResult in @(Get-PropertyValue -InputObject $Report -Name @('NodeResults'))) {
            if ($null -eq $nodeResult) {
                continue
            }
            $node = [string](Get-PropertyValue -InputObject $nodeResult -Name @('Node', 'NodeName'))
            $updates = @(
                foreach ($update in @(Get-PropertyValue -InputObject $nodeResult -Name @('InstallResults', 'UpdateResults'))) {
                    if ($null -eq $update) {
                        continue
                    }
                    @{
                        id = [string](Get-PropertyValue -InputObject $update -Name @('UpdateId', 'Id'))
                        title = [string](Get-PropertyValue -InputObject $update -Name @('UpdateTitle', 'Title'))
                        result = [string](Get-PropertyValue -InputObject $update -Name @('ResultCode', 'Status'))
                        reboot_required = [bool](Get-PropertyValue -InputObject $update -Name @('RebootRequired'))
                        error = [string](Get-PropertyValue -InputObject $update -Name @('ErrorRecordData', 'Error'))
                    }
                }
            )
            $restarts = @($notifications | Where-Object {
                    [string](Get-PropertyValue -InputObject $_ -Name @('Node', 'NodeName')) -eq $node -and
                    [string](Get-PropertyValue -InputObject $_ -Name @('Status')) -match 'Restart'
                }).Count
            if ($restarts -eq 0 -and @($updates | Where-Object { $_.reboot_required }).Count -gt 0) {
                $restarts = 1
            }
            @{
                node = $node
                status = [string](Get-PropertyValue -InputObject $nodeResult -Name @('Status', 'Result'))
                updates = $updates
                reboots = $restarts
                error = [string](Get-PropertyValue -InputObject $nodeResult -Name @('ErrorRecordData', 'Error'))
            }
        }
    )
}

function Get-ReportSince {
    <#
    .SYNOPSIS
    The run reports of a cluster from runs that started at or after a time, oldest first.
    .DESCRIPTION
    Get-CauReport -StartDate is documented ("Retrieves only the reports from Runs on or after
    this time", https://learn.microsoft.com/powershell/module/clusterawareupdating/get-caureport);
    a report's own properties are not, so this run's report is recognised by counting: a report
    beyond those that already existed when the run was started is this run's.
    #>
    [CmdletBinding()]
    [OutputType([object])]
    param (
        [Parameter(Mandatory)]
        [string]
        $ClusterName,

        [Parameter(Mandatory)]
        [datetime]
        $Since,

        [switch]
        $Detailed
    )

    Get-CauReport -ClusterName $ClusterName -StartDate $Since -Detailed:$Detailed -ErrorAction Stop
}

try {
    Import-Module -Name ClusterAwareUpdating -ErrorAction Stop
}
catch {
    $module.FailJson("The ClusterAwareUpdating PowerShell module is not available on $env:COMPUTERNAME (install the Failover Clustering tools): $($_.Exception.Message)", $_)
}

try {
    $allowedHere = $allowedParameters[$operation]
    $parameters = ConvertTo-CauParameter -Parameters $module.Params._parameters -Allowed $allowedHere
}
catch {
    $module.FailJson("Invalid CAU parameters for operation ${operation}: $($_.Exception.Message)", $_)
}
$clusterName = $parameters.ClusterName

if ($operation -eq 'preflight') {
    # The CAU cmdlets act on every node from here with this connection's credentials. Without
    # Kerberos delegation or CredSSP those cannot reach a third computer and Windows answers
    # Access is denied (https://learn.microsoft.com/powershell/scripting/security/remoting/ps-remoting-second-hop).
    $here = ($env:COMPUTERNAME).ToLowerInvariant()
    $node = @($options.nodes | Where-Object { ([string]$_).Split('.')[0].ToLowerInvariant() -ne $here }) | Select-Object -First 1
    $module.Result.node = $node
    $module.Result.second_hop = 'skipped'
    $module.Result.error = $null
    if ($node) {
        try {
            $null = Get-CimInstance -ClassName Win32_OperatingSystem -ComputerName $node -OperationTimeoutSec 60 -ErrorAction Stop
            $module.Result.second_hop = 'ok'
        }
        catch {
            $module.Result.error = $_.Exception.Message
            $denied = $_.Exception.HResult -eq -2147024891 -or $_.Exception.Message -match 'Access is denied|0x80070005'
            $module.Result.second_hop = if ($denied) { 'denied' } else { 'error' }
        }
    }
    $module.ExitJson()
}

if ($operation -eq 'scan') {
    try {
        $found = @(Invoke-CauScan @parameters -ErrorAction Stop)
    }
    catch {
        $module.FailJson("Invoke-CauScan on cluster $clusterName failed: $($_.Exception.Message)", $_)
    }
    $byNode = [ordered]@{}
    foreach ($update in $found) {
        $node = [string](Get-PropertyValue -InputObject $update -Name @('NodeName', 'Node'))
        if (-not $byNode.Contains($node)) {
            $byNode[$node] = [System.Collections.Generic.List[object]]@()
        }
        $byNode[$node].Add(@{
                id = [string](Get-PropertyValue -InputObject $update -Name @('UpdateId', 'Id'))
                title = [string](Get-PropertyValue -InputObject $update -Name @('UpdateTitle', 'Title'))
                plugin = [string](Get-PropertyValue -InputObject $update -Name @('PluginName', 'Plugin'))
            })
    }
    $module.Result.nodes = @(foreach ($node in $byNode.Keys) { @{ node = $node; updates = @($byNode[$node]) } })
    $module.ExitJson()
}

if ($operation -eq 'start') {
    if ($module.CheckMode) {
        # Starting a run is the change itself; in check mode the action plugin scans instead.
        $module.FailJson("_operation=$operation changes the host; the action plugin never sends it in check mode")
    }
    $runId = [string]$options.run_id
    if ($runId -notmatch '\A[0-9a-fA-F-]{36}\z') {
        $module.FailJson("_operation_options.run_id must be a GUID, got '$runId'")
    }
    try {
        $registered = @(Get-CauPlugin -ErrorAction Stop | ForEach-Object { [string]$_.Name })
    }
    catch {
        $module.FailJson("Cannot list the CAU plug-ins registered on ${env:COMPUTERNAME}: $($_.Exception.Message)", $_)
    }
    $missing = @($parameters.CauPluginName | Where-Object { $registered -notcontains $_ })
    if ($missing.Count -gt 0) {
        $module.FailJson("CAU plug-in(s) $($missing -join ', ') are not registered on $env:COMPUTERNAME (registered: $($registered -join ', ')); register them with winfleet.updates.cau_plugin (playbook cau_prepare). Nothing was started.")
    }
    # -ForceSelfUpdate came with Windows Server 2016: 2012 R2's Invoke-CauRun has no such parameter
    # (https://learn.microsoft.com/powershell/module/clusterawareupdating/invoke-caurun?view=windowsserver2012r2-ps).
    if ($parameters.ContainsKey('ForceSelfUpdate') -and -not (Get-Command -Name Invoke-CauRun).Parameters.ContainsKey('ForceSelfUpdate')) {
        $module.FailJson("Invoke-CauRun on $env:COMPUTERNAME has no -ForceSelfUpdate (Windows Server 2012 R2 and earlier), so a self-updating run cannot be started on demand from here; nothing was started. Let the CAU clustered role run on its schedule, or update cluster $clusterName in remote_updating mode from a coordinator.")
    }
    # A run this module started for the cluster and whose worker still runs (a controller killed
    # while following it): attach to it, before any recovery, which would break that live run.
    $ownRun = Find-OwnRunInProgress -ClusterName $clusterName
    if ($null -ne $ownRun) {
        $module.Result.changed = $false
        $module.Result.run_id = $ownRun
        $module.Result.attached = $true
        $module.ExitJson()
    }
    # Recover first, then start: a stuck run shows in Get-CauRun as a run in progress until
    # Invoke-CauRun -ForceRecovery clears it
    # (https://learn.microsoft.com/powershell/module/clusterawareupdating/invoke-caurun, -ForceRecovery).
    $recovered = $false
    if ($options.recover_parameters) {
        try {
            $recover = ConvertTo-CauParameter -Parameters $options.recover_parameters -Allowed $allowedParameters.recover
            $null = Invoke-CauRun @recover -ErrorAction Stop
            $recovered = $true
        }
        catch {
            $module.FailJson("Invoke-CauRun -ForceRecovery on cluster $clusterName failed; nothing was started: $($_.Exception.Message)", $_)
        }
    }
    try {
        $current = Get-CauRun -ClusterName $clusterName -ErrorAction Stop
    }
    catch {
        $module.FailJson("Get-CauRun -ClusterName $clusterName failed; nothing was started: $($_.Exception.Message)", $_)
    }
    if (Test-CauRunInProgress -Run $current) {
        $runInProgress = Get-PropertyValue -InputObject $current -Name @('RunId')
        if ($recovered) {
            $module.FailJson("An updating run is still in progress on cluster $clusterName (run $runInProgress) after Invoke-CauRun -ForceRecovery; nothing was started. It is a live run: wait for it (Get-CauRun -ClusterName $clusterName).")
        }
        $module.FailJson("An updating run is already in progress on cluster $clusterName (run $runInProgress); nothing was started. Wait for it, or set force_recovery: true if it is a stale run left by a coordinator that stopped.")
    }
    $runDirectory = Join-Path -Path $runRoot -ChildPath $runId
    try {
        New-SecureDirectory -Path $runDirectory
    }
    catch {
        $module.FailJson("The CAU run folder is not safe to run a worker from as SYSTEM; nothing was started: $($_.Exception.Message)", $_)
    }
    try {
        $parameters | Export-Clixml -LiteralPath (Join-Path -Path $runDirectory -ChildPath 'parameters.xml') -ErrorAction Stop
        # How many reports exist from runs that started in the last hour: one more is this run's
        # (clocks of coordinator and nodes need not agree to the second).
        $reportsSince = (Get-Date).ToUniversalTime().AddHours(-1)
        $reportsBefore = 0
        try {
            $reportsBefore = @(Get-ReportSince -ClusterName $clusterName -Since $reportsSince).Count
        }
        catch {
            $reportsBefore = 0
        }
        @{ since = $reportsSince.ToString('o'); count = $reportsBefore } |
            ConvertTo-Json | Set-Content -LiteralPath (Join-Path -Path $runDirectory -ChildPath 'reports_before.json') -Encoding UTF8 -ErrorAction Stop
        @{ state = 'starting' } |
            ConvertTo-Json | Set-Content -LiteralPath (Join-Path -Path $runDirectory -ChildPath 'status.json') -Encoding UTF8 -ErrorAction Stop
        # Runs dot-sourced by the bootstrap of _DetachedWorker.psm1, as SYSTEM, in $WorkerDirectory.
        $worker = @'
$ErrorActionPreference = 'Stop'
$statusPath = Join-Path -Path $WorkerDirectory -ChildPath 'status.json'
$status = Get-Content -LiteralPath $statusPath -Raw | ConvertFrom-Json
$record = @{ state = 'running'; previous_run_id = $status.previous_run_id; pid = $PID; error = $null }
Write-WorkerResult -Name 'status.json' -Result $record
try {
    Import-Module -Name ClusterAwareUpdating
    $recoverPath = Join-Path -Path $WorkerDirectory -ChildPath 'recover.xml'
    if (Test-Path -LiteralPath $recoverPath) {
        $recover = Import-Clixml -LiteralPath $recoverPath
        $null = Invoke-CauRun @recover
    }
    $parameters = Import-Clixml -LiteralPath (Join-Path -Path $WorkerDirectory -ChildPath 'parameters.xml')
    $null = Invoke-CauRun @parameters
    $record.state = 'finished'
}
catch {
    $record.state = 'failed'
    $record.error = $_.Exception.Message
}
Write-WorkerResult -Name 'status.json' -Result $record
'@
        # A scheduled task outlives this WinRM/PSRP session, which a restarting node or a NIC reset
        # can end (plugins/module_utils/_DetachedWorker.psm1).
        $workerArguments = @{
            TaskName = "$taskPrefix$runId"
            WorkingDirectory = $runDirectory
            Worker = $worker
            Description = 'Cluster-Aware Updating run started by Ansible (winfleet.updates.cau_run); it removes itself when done'
            ExecutionTimeLimit = 'P3D'
        }
        Start-DetachedWorker @workerArguments
    }
    catch {
        $module.FailJson("Could not start the CAU run worker on ${env:COMPUTERNAME}; nothing was started: $($_.Exception.Message)", $_)
    }
    $module.Result.changed = $true
    $module.Result.run_id = $runId
    $module.Result.attached = $false
    $module.ExitJson()
}

if ($operation -eq 'poll') {
    $runId = [string]$options.run_id
    $runDirectory = Join-Path -Path $runRoot -ChildPath $runId
    $statusPath = Join-Path -Path $runDirectory -ChildPath 'status.json'
    $run = @{ run_id = $runId; state = 'running'; status = $null; error = $null; progress = $null; nodes = @(); transient_error = $null }
    if ($runId -notmatch '\A[0-9a-fA-F-]{36}\z' -or -not (Test-Path -LiteralPath $statusPath)) {
        $run.state = 'failed'
        $run.error = "no CAU run $runId was started on $env:COMPUTERNAME (the start request did not arrive)"
        $module.Result.run = $run
        $module.ExitJson()
    }
    $worker = Get-Content -LiteralPath $statusPath -Raw | ConvertFrom-Json
    # While a node restarts (the cluster service not up yet, the CAU role failing over) the CAU
    # cmdlets throw; that is not the run's failure. Such a poll answers transient_error and the
    # controller keeps polling, as after a lost connection, until the run's timeout.
    try {
        $current = Get-CauRun -ClusterName $clusterName -ErrorAction Stop
    }
    catch {
        $run.transient_error = "Get-CauRun -ClusterName $clusterName failed: $($_.Exception.Message)"
        $module.Result.run = $run
        $module.ExitJson()
    }
    if (Test-CauRunInProgress -Run $current) {
        $last = @(Get-PropertyValue -InputObject $current -Name @('NodeStatusNotifications')) | Select-Object -Last 1
        $run.status = 'InProgress'
        # Per node so far: NodeResults' NumberOfSucceededUpdates / NumberOfFailedUpdates, as
        # Get-CauRun example 1 shows them during a run
        # (https://learn.microsoft.com/powershell/module/clusterawareupdating/get-caurun).
        $nodesSoFar = @(
            foreach ($nodeResult in @(Get-PropertyValue -InputObject $current -Name @('NodeResults'))) {
                if ($null -ne $nodeResult) {
                    @{
                        node = [string](Get-PropertyValue -InputObject $nodeResult -Name @('Node', 'NodeName'))
                        status = [string](Get-PropertyValue -InputObject $nodeResult -Name @('Status'))
                        succeeded = [int](Get-PropertyValue -InputObject $nodeResult -Name @('NumberOfSucceededUpdates'))
                        failed = [int](Get-PropertyValue -InputObject $nodeResult -Name @('NumberOfFailedUpdates'))
                    }
                }
            }
        )
        $run.progress = @{
            node = [string](Get-PropertyValue -InputObject $last -Name @('Node', 'NodeName'))
            phase = [string](Get-PropertyValue -InputObject $last -Name @('Status'))
            nodes = $nodesSoFar
        }
        $module.Result.run = $run
        $module.ExitJson()
    }
    # A report beyond those that existed at the start is this run's (Get-ReportSince), and it wins
    # also when Invoke-CauRun then threw (MaxFailedNodes exceeded): the per-node outcome is what
    # the report needs.
    $report = $null
    try {
        $before = Get-Content -LiteralPath (Join-Path -Path $runDirectory -ChildPath 'reports_before.json') -Raw | ConvertFrom-Json
        $since = [datetime]::Parse([string]$before.since, [System.Globalization.CultureInfo]::InvariantCulture, [System.Globalization.DateTimeStyles]::RoundtripKind)
        $reports = @(Get-ReportSince -ClusterName $clusterName -Since $since -Detailed)
        if ($reports.Count -gt [int]$before.count) {
            $report = $reports[-1]
        }
    }
    catch {
        $run.transient_error = "Get-CauReport -ClusterName $clusterName failed: $($_.Exception.Message)"
        $module.Result.run = $run
        $module.ExitJson()
    }
    if ($null -ne $report) {
        $run.state = 'finished'
        $run.status = [string](Get-PropertyValue -InputObject $report -Name @('ClusterResult', 'Status'))
        $run.nodes = ConvertTo-NodeResult -Report $report
        if ($worker.state -eq 'failed') {
            $run.error = [string]$worker.error
        }
        $module.Result.run = $run
        $module.ExitJson()
    }
    if ($worker.state -eq 'failed') {
        $run.state = 'failed'
        $run.error = [string]$worker.error
        $module.Result.run = $run
        $module.ExitJson()
    }
    $task = Get-DetachedWorkerState -TaskName "$taskPrefix$runId" -WorkingDirectory $runDirectory
    if ($task.state -eq 'running') {
        $run.status = 'Starting'
        $module.Result.run = $run
        $module.ExitJson()
    }
    $run.state = 'failed'
    if ($task.state -eq 'not_started') {
        $run.error = "the CAU run worker on $env:COMPUTERNAME never started (scheduled task $taskPrefix$runId, last result $($task.last_result)); nothing was run"
    }
    else {
        $run.error = "the CAU run worker on $env:COMPUTERNAME ended without a run report for cluster $clusterName; see Get-CauReport -ClusterName $clusterName -Last -Detailed"
    }
    $module.Result.run = $run
    $module.ExitJson()
}

if ($operation -eq 'cluster_role_read') {
    # Get-CauClusterRole answers Name/Value pairs (Microsoft.ClusterAwareUpdating.CauParameter) in
    # its own names, e.g. WeeksInterval for -IntervalWeeks and StartDate as text
    # (https://learn.microsoft.com/powershell/module/clusterawareupdating/get-cauclusterrole).
    # They are returned as read; the controller maps and compares them.
    $properties = [System.Collections.Generic.List[object]]@()
    try {
        foreach ($item in @(Get-CauClusterRole -ClusterName $clusterName -ErrorAction Stop)) {
            $value = $item.Value
            if ($value -is [datetime]) {
                $value = $value.ToString('s')
            }
            elseif ($value -is [System.Collections.IDictionary]) {
                $value = @{} + $value
            }
            elseif ($value -is [System.Collections.IEnumerable] -and $value -isnot [string]) {
                $value = @($value | ForEach-Object { if ($_ -is [System.Collections.IDictionary]) { @{} + $_ } else { [string]$_ } })
            }
            elseif ($null -ne $value -and $value -isnot [bool] -and $value -isnot [int]) {
                $value = [string]$value
            }
            $properties.Add(@{ name = [string]$item.Name; value = $value })
        }
    }
    catch {
        # No clustered role: Get-CauClusterRole fails rather than returning nothing.
        $properties.Clear()
    }
    $module.Result.exists = $properties.Count -gt 0
    $module.Result.properties = @($properties)
    $module.ExitJson()
}

# cluster_role: the controller compared Get-CauClusterRole with the wanted settings and says
# what to do (add, updated, removed); this only calls the cmdlet, honouring check mode.
$action = [string]$options.action
if ($action -notin @('added', 'updated', 'removed')) {
    $module.FailJson("_operation_options.action must be added, updated or removed, got '$action'")
}
if (-not $module.CheckMode) {
    try {
        if ($action -eq 'removed') {
            Remove-CauClusterRole -ClusterName $clusterName -Force -ErrorAction Stop
        }
        elseif ($action -eq 'updated') {
            Set-CauClusterRole @parameters -ErrorAction Stop
        }
        else {
            Add-CauClusterRole @parameters -ErrorAction Stop
        }
    }
    catch {
        $module.FailJson("Configuring the CAU clustered role on $clusterName failed ($action); check Get-CauClusterRole -ClusterName ${clusterName}: $($_.Exception.Message)", $_)
    }
}
$module.Result.changed = $true
$module.ExitJson()
