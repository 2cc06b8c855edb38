#!powershell

# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic

# Host half of winfleet.updates.cau_run. The action plugin decides every cmdlet parameter on the
# controller; this module checks them against an allow-list, converts them to the types the CAU
# cmdlets bind, and splats them. Nothing received is ever evaluated as PowerShell.
#
# Operations (internal, chosen by the action plugin):
#   scan          Invoke-CauScan, one round trip
#   start         start Invoke-CauRun in a detached process (it must outlive this WinRM/PSRP
#                 session, which a restarting node or a NIC reset can end) and return at once
#   poll          report the run: Get-CauRun while it runs, Get-CauReport -Last -Detailed after
#   cluster_role  Add-/Set-/Remove-CauClusterRole, idempotent, honours check mode

$spec = @{
    options = @{
        _operation = @{ type = 'str'; required = $true; choices = @('scan', 'start', 'poll', 'cluster_role') }
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
    cluster_role = @($pluginParameters + $settingParameters + @('StartDate', 'DaysOfWeek', 'WeeksOfMonth', 'IntervalWeeks'))
}
$runRoot = Join-Path -Path $env:ProgramData -ChildPath 'winfleet.updates\cau'

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

function ConvertTo-NodeResult {
    <#
    .SYNOPSIS
    Per-node outcome of a CAU report: status, updates with their result, restarts, error.
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
                foreach ($update in @(Get-PropertyValue -InputObject $nodeResult -Name @('UpdateResults', 'InstallResults'))) {
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

function ConvertTo-Comparable {
    <#
    .SYNOPSIS
    One string per setting value, so the role's current and wanted settings compare as text.
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param (
        [Parameter(Mandatory)]
        [AllowNull()]
        [object]
        $Value
    )

    if ($null -eq $Value) {
        return ''
    }
    if ($Value -is [System.Collections.IDictionary]) {
        return (@($Value.Keys | Sort-Object | ForEach-Object { "$_=$($Value[$_])" }) -join ';')
    }
    if ($Value -is [datetime]) {
        return $Value.ToString('s')
    }
    if ($Value -is [System.Collections.IEnumerable] -and $Value -isnot [string]) {
        return (@($Value | ForEach-Object { ConvertTo-Comparable -Value $_ }) -join ',')
    }
    ([string]$Value) -replace '\s*,\s*', ','
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
    if ($runId -notmatch '^[0-9a-fA-F-]{36}$') {
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
    try {
        $current = Get-CauRun -ClusterName $clusterName -ErrorAction Stop
    }
    catch {
        $module.FailJson("Get-CauRun -ClusterName $clusterName failed; nothing was started: $($_.Exception.Message)", $_)
    }
    if (Test-CauRunInProgress -Run $current) {
        $module.FailJson("An updating run is already in progress on cluster $clusterName (run $(Get-PropertyValue -InputObject $current -Name @('RunId'))); nothing was started. Wait for it, or use force_recovery if it is a stale run.")
    }
    $runDirectory = Join-Path -Path $runRoot -ChildPath $runId
    try {
        $null = New-Item -Path $runDirectory -ItemType Directory -Force -ErrorAction Stop
        $parameters | Export-Clixml -LiteralPath (Join-Path -Path $runDirectory -ChildPath 'parameters.xml') -ErrorAction Stop
        if ($options.recover_parameters) {
            $recover = ConvertTo-CauParameter -Parameters $options.recover_parameters -Allowed $allowedParameters.recover
            $recover | Export-Clixml -LiteralPath (Join-Path -Path $runDirectory -ChildPath 'recover.xml') -ErrorAction Stop
        }
        # The run report CAU keeps last, before this run: a poll knows ours by its different RunId
        # (clocks of coordinator and nodes need not agree).
        $previous = $null
        try {
            $previous = Get-PropertyValue -InputObject (Get-CauReport -ClusterName $clusterName -Last -ErrorAction Stop) -Name @('RunId')
        }
        catch {
            $previous = $null
        }
        @{ state = 'starting'; previous_run_id = [string]$previous } |
            ConvertTo-Json | Set-Content -LiteralPath (Join-Path -Path $runDirectory -ChildPath 'status.json') -Encoding UTF8 -ErrorAction Stop
        # ps-lint: script
        $worker = @'
param ([Parameter(Mandatory)][string]$RunDirectory)
$ErrorActionPreference = 'Stop'
$statusPath = Join-Path -Path $RunDirectory -ChildPath 'status.json'
$status = Get-Content -LiteralPath $statusPath -Raw | ConvertFrom-Json
$record = @{ state = 'running'; previous_run_id = $status.previous_run_id; pid = $PID; error = $null }
$record | ConvertTo-Json | Set-Content -LiteralPath $statusPath -Encoding UTF8
try {
    Import-Module -Name ClusterAwareUpdating
    $recoverPath = Join-Path -Path $RunDirectory -ChildPath 'recover.xml'
    if (Test-Path -LiteralPath $recoverPath) {
        $recover = Import-Clixml -LiteralPath $recoverPath
        $null = Invoke-CauRun @recover
    }
    $parameters = Import-Clixml -LiteralPath (Join-Path -Path $RunDirectory -ChildPath 'parameters.xml')
    $null = Invoke-CauRun @parameters
    $record.state = 'finished'
}
catch {
    $record.state = 'failed'
    $record.error = $_.Exception.Message
}
$record | ConvertTo-Json | Set-Content -LiteralPath $statusPath -Encoding UTF8
'@
        $workerPath = Join-Path -Path $runDirectory -ChildPath 'worker.ps1'
        Set-Content -LiteralPath $workerPath -Value $worker -Encoding UTF8 -ErrorAction Stop
        # A process created through WMI is not part of this session's job object: it keeps
        # running when the WinRM/PSRP session ends or the connection drops.
        $commandLine = "powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File `"$workerPath`" -RunDirectory `"$runDirectory`""
        $created = Invoke-CimMethod -ClassName Win32_Process -MethodName Create -Arguments @{ CommandLine = $commandLine } -ErrorAction Stop
    }
    catch {
        $module.FailJson("Could not start the CAU run worker on ${env:COMPUTERNAME}; nothing was started: $($_.Exception.Message)", $_)
    }
    if ($created.ReturnValue -ne 0) {
        $module.FailJson("Win32_Process.Create returned $($created.ReturnValue) for the CAU run worker; nothing was started")
    }
    $module.Result.changed = $true
    $module.Result.run_id = $runId
    $module.ExitJson()
}

if ($operation -eq 'poll') {
    $runId = [string]$options.run_id
    $runDirectory = Join-Path -Path $runRoot -ChildPath $runId
    $statusPath = Join-Path -Path $runDirectory -ChildPath 'status.json'
    $run = @{ run_id = $runId; state = 'running'; status = $null; error = $null; progress = $null; nodes = @() }
    if ($runId -notmatch '^[0-9a-fA-F-]{36}$' -or -not (Test-Path -LiteralPath $statusPath)) {
        $run.state = 'failed'
        $run.error = "no CAU run $runId was started on $env:COMPUTERNAME (the start request did not arrive)"
        $module.Result.run = $run
        $module.ExitJson()
    }
    $worker = Get-Content -LiteralPath $statusPath -Raw | ConvertFrom-Json
    try {
        $current = Get-CauRun -ClusterName $clusterName -ErrorAction Stop
    }
    catch {
        $module.FailJson("Get-CauRun -ClusterName $clusterName failed: $($_.Exception.Message)", $_)
    }
    if (Test-CauRunInProgress -Run $current) {
        $last = @(Get-PropertyValue -InputObject $current -Name @('NodeStatusNotifications')) | Select-Object -Last 1
        $run.status = 'InProgress'
        $run.progress = @{
            node = [string](Get-PropertyValue -InputObject $last -Name @('Node', 'NodeName'))
            phase = [string](Get-PropertyValue -InputObject $last -Name @('Status'))
        }
        $module.Result.run = $run
        $module.ExitJson()
    }
    # A run report other than the one CAU had before the start is this run's, and it wins also
    # when Invoke-CauRun then threw (MaxFailedNodes exceeded): the per-node outcome is what the
    # report needs.
    $report = $null
    try {
        $report = Get-CauReport -ClusterName $clusterName -Last -Detailed -ErrorAction Stop
    }
    catch {
        $report = $null
    }
    $reportRunId = [string](Get-PropertyValue -InputObject $report -Name @('RunId'))
    if ($reportRunId -and $reportRunId -ne [string]$worker.previous_run_id) {
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
    # 'starting': the worker has not written its first status yet.
    if ($worker.state -eq 'starting' -or ($worker.pid -and (Get-Process -Id ([int]$worker.pid) -ErrorAction SilentlyContinue))) {
        $run.status = 'Starting'
        $module.Result.run = $run
        $module.ExitJson()
    }
    $run.state = 'failed'
    $run.error = "the CAU run worker on $env:COMPUTERNAME ended without a run report for cluster $clusterName; see Get-CauReport -ClusterName $clusterName -Last -Detailed"
    $module.Result.run = $run
    $module.ExitJson()
}

# cluster_role: compare the settings this module manages, then add, update or remove the role.
$state = [string]$options.state
$config = [ordered]@{}
$exists = $false
try {
    $role = @(Get-CauClusterRole -ClusterName $clusterName -ErrorAction Stop)
    foreach ($item in $role) {
        $config[[string]$item.Name] = $item.Value
    }
    $exists = $config.Count -gt 0
}
catch {
    $exists = $false
}
$wanted = [ordered]@{}
foreach ($key in $parameters.Keys) {
    if ($key -notin @('ClusterName', 'Force')) {
        $wanted[$key] = ConvertTo-Comparable -Value $parameters[$key]
    }
}
$before = [ordered]@{}
if ($exists) {
    foreach ($key in $config.Keys) {
        $before[$key] = ConvertTo-Comparable -Value $config[$key]
    }
}
$module.Result.before = $before
$module.Result.after = $before
$module.Result.action = 'none'
if ($state -eq 'absent') {
    if ($exists) {
        if (-not $module.CheckMode) {
            try {
                Remove-CauClusterRole -ClusterName $clusterName -Force -ErrorAction Stop
            }
            catch {
                $module.FailJson("Remove-CauClusterRole -ClusterName $clusterName failed; the role is still there: $($_.Exception.Message)", $_)
            }
        }
        $module.Result.changed = $true
        $module.Result.action = 'removed'
        $module.Result.after = @{}
    }
    $module.ExitJson()
}
$differs = -not $exists
foreach ($key in $wanted.Keys) {
    if (-not $before.Contains($key) -or $before[$key] -ne $wanted[$key]) {
        $differs = $true
    }
}
if (-not $differs) {
    $module.ExitJson()
}
$action = 'updated'
if (-not $exists) {
    $action = 'added'
}
if (-not $module.CheckMode) {
    try {
        if ($exists) {
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
$module.Result.action = $action
$after = [ordered]@{}
foreach ($key in $before.Keys) {
    $after[$key] = $before[$key]
}
foreach ($key in $wanted.Keys) {
    $after[$key] = $wanted[$key]
}
$module.Result.after = $after
$module.ExitJson()
