#!powershell

# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ..module_utils._DetachedWorker

# Host half of winfleet.updates.antivirus_services: stop or restart third-party antivirus
# services, and remember in %ProgramData%\winfleet\antivirus_paused.json which ones this
# collection stopped, so that the restart (even by a later run, after an interruption) starts
# exactly those and never a service an administrator had stopped on purpose. The action plugin
# has already refused Microsoft Defender's services.

$spec = @{
    options = @{
        services = @{ type = 'list'; elements = 'str'; default = @() }
        state = @{ type = 'str'; required = $true; choices = @('stopped', 'started') }
        stop_timeout = @{ type = 'int'; default = 60 }
    }
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)

$markerPath = Join-Path -Path $env:ProgramData -ChildPath 'winfleet\antivirus_paused.json'
$stopTimeout = [TimeSpan]::FromSeconds($module.Params.stop_timeout)

function Get-PausedService {
    <#
    .SYNOPSIS
    Names of the services this collection stopped and has not restarted yet.

    .DESCRIPTION
    The record is a JSON array. Windows PowerShell 5.1's ConvertFrom-Json writes an array to the
    pipeline as ONE object (PowerShell 6 changed that), so the conversion is grouped in parentheses
    and the resulting array is enumerated, which gives one name per element on 5.1 and 7 alike.
    https://learn.microsoft.com/powershell/module/microsoft.powershell.utility/convertfrom-json
    #>
    [CmdletBinding()]
    [OutputType([string[]])]
    param ()

    if (-not (Test-Path -LiteralPath $markerPath -PathType Leaf)) {
        return , @()
    }
    , @((Get-Content -LiteralPath $markerPath -Raw | ConvertFrom-Json) | ForEach-Object { [string]$_ })
}

function Set-PausedService {
    <#
    .SYNOPSIS
    Record the services still paused; remove the record when there are none.
    #>
    [CmdletBinding()]
    param (
        [Parameter(Mandatory)]
        [AllowEmptyCollection()]
        [System.Collections.Generic.List[string]]
        $Name
    )

    if ($Name.Count -eq 0) {
        Remove-Item -LiteralPath $markerPath -Force -ErrorAction SilentlyContinue
        return
    }
    # %ProgramData%\winfleet: owned by Administrators, SYSTEM and Administrators only; a junction or
    # a folder another account created is refused (New-SecureDirectory throws, naming it).
    New-SecureDirectory -Path (Split-Path -Path $markerPath -Parent)
    ConvertTo-Json -InputObject @($Name) | Set-Content -LiteralPath $markerPath -Encoding UTF8
}

function Wait-ServiceStopped {
    <#
    .SYNOPSIS
    Wait, at most stop_timeout, for a service to leave StopPending; $false when it did not.

    .DESCRIPTION
    Stop-Service waits without a bound for a service that hangs in StopPending, so the stop is
    requested with -NoWait and the wait is ServiceController.WaitForStatus with a timeout.
    https://learn.microsoft.com/dotnet/api/system.serviceprocess.servicecontroller.waitforstatus
    #>
    [CmdletBinding()]
    [OutputType([bool])]
    param (
        [Parameter(Mandatory)]
        [System.ServiceProcess.ServiceController]
        $Service
    )

    try {
        $Service.WaitForStatus([System.ServiceProcess.ServiceControllerStatus]::Stopped, $stopTimeout)
        return $true
    }
    catch [System.ServiceProcess.TimeoutException] {
        return $false
    }
}

function Get-StopPendingMessage {
    [CmdletBinding()]
    [OutputType([string])]
    param ([Parameter(Mandatory)] [string] $Name)

    $msg = "The antivirus service '$Name' is still StopPending after $($module.Params.stop_timeout) seconds. It is "
    $msg += "recorded as paused, so state=started restarts it once it has stopped; raise stop_timeout or stop it "
    $msg + "in the antivirus console"
}

$paused = New-Object -TypeName 'System.Collections.Generic.List[string]'
foreach ($name in (Get-PausedService)) {
    $paused.Add($name)
}
$module.Result.services = @()
$module.Result.stopped = @()
$module.Result.started = @()

if ($module.Params.state -eq 'stopped') {
    foreach ($name in $module.Params.services) {
        # The controller refuses wildcard characters, so -Name matches this one service only.
        $service = Get-Service -Name $name -ErrorAction SilentlyContinue
        $entry = @{ name = $name; present = $null -ne $service; running_before = $false; running = $false; dependents = @() }
        $module.Result.services += $entry
        if ($null -eq $service -or $service.Status -ne 'Running') {
            continue
        }
        # Stop-Service -Force stops the running services that depend on this one as well: they are
        # recorded too, so that the resume starts them again.
        # https://learn.microsoft.com/powershell/module/microsoft.powershell.management/stop-service
        $dependents = @($service.DependentServices | Where-Object { $_.Status -eq 'Running' })
        $targets = @($service) + $dependents
        $entry.running_before = $true
        $entry.running = $true
        $entry.dependents = @($dependents | ForEach-Object { $_.Name })
        $module.Result.stopped += @($targets | ForEach-Object { $_.Name })
        $module.Result.changed = $true
        if ($module.CheckMode) {
            continue
        }
        foreach ($target in $targets) {
            if (-not $paused.Contains($target.Name)) {
                $paused.Add($target.Name)
            }
        }
        # Recorded before the stop: whatever happens next, state=started restarts them.
        Set-PausedService -Name $paused
        try {
            Stop-Service -InputObject $service -Force -NoWait -ErrorAction Stop
        }
        catch {
            $msg = "Cannot stop the antivirus service '$name': $($_.Exception.Message). Tamper protection may "
            $msg += "forbid it: pause it in the antivirus console or remove it from the list"
            $module.FailJson($msg, $_)
        }
        foreach ($target in $targets) {
            if (-not (Wait-ServiceStopped -Service $target)) {
                $module.FailJson((Get-StopPendingMessage -Name $target.Name))
            }
        }
        $entry.running = $false
    }
}
else {
    $targets = @($paused)
    if ($module.Params.services.Count -gt 0) {
        # A listed service brings back the dependents that were stopped (and recorded) with it.
        $wanted = @($module.Params.services) + @(
            $module.Params.services |
                ForEach-Object { Get-Service -Name $_ -ErrorAction SilentlyContinue } |
                ForEach-Object { $_.DependentServices } |
                ForEach-Object { $_.Name }
        )
        $targets = @($paused | Where-Object { $wanted -contains $_ })
    }
    foreach ($name in $targets) {
        $service = Get-Service -Name $name -ErrorAction SilentlyContinue
        $entry = @{ name = $name; present = $null -ne $service; running_before = $false; running = $false; dependents = @() }
        $module.Result.services += $entry
        if ($null -ne $service) {
            $entry.running_before = $service.Status -eq 'Running'
            $entry.running = $entry.running_before
            if (-not $entry.running_before) {
                $module.Result.started += $service.Name
                $module.Result.changed = $true
                if (-not $module.CheckMode) {
                    if (-not (Wait-ServiceStopped -Service $service)) {
                        $module.FailJson((Get-StopPendingMessage -Name $service.Name))
                    }
                    try {
                        Start-Service -InputObject $service -ErrorAction Stop
                    }
                    catch {
                        $msg = "Cannot restart the antivirus service '$name': $($_.Exception.Message). It is still "
                        $msg += "stopped: start it by hand"
                        $module.FailJson($msg, $_)
                    }
                    $entry.running = $true
                }
            }
        }
        if (-not $module.CheckMode) {
            $null = $paused.Remove($name)
            Set-PausedService -Name $paused
        }
    }
}

if (-not $module.CheckMode) {
    Set-PausedService -Name $paused
}
# What the host's record says is still paused: a report built from this survives the controller
# that paused them (a killed run's variables are gone, the record is not).
$module.Result.paused = @($paused)
$module.ExitJson()
