#!powershell

# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic

# Host half of winfleet.updates.antivirus_services: stop or restart third-party antivirus
# services, and remember in %ProgramData%\winfleet\antivirus_paused.json which ones this
# collection stopped, so that the restart (even by a later run, after an interruption) starts
# exactly those and never a service an administrator had stopped on purpose. The action plugin
# has already refused Microsoft Defender's services.

$spec = @{
    options = @{
        services = @{ type = 'list'; elements = 'str'; default = @() }
        state = @{ type = 'str'; required = $true; choices = @('stopped', 'started') }
    }
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)

$markerPath = Join-Path -Path $env:ProgramData -ChildPath 'winfleet\antivirus_paused.json'

function Get-PausedService {
    <#
    .SYNOPSIS
    Names of the services this collection stopped and has not restarted yet.
    #>
    [CmdletBinding()]
    [OutputType([string[]])]
    param ()

    if (-not (Test-Path -LiteralPath $markerPath -PathType Leaf)) {
        return , @()
    }
    # Parenthesised: in Windows PowerShell 5.1 ConvertFrom-Json writes a JSON array as one object.
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
    $directory = Split-Path -Path $markerPath -Parent
    if (-not (Test-Path -LiteralPath $directory)) {
        $null = New-Item -Path $directory -ItemType Directory -Force
    }
    ConvertTo-Json -InputObject @($Name) | Set-Content -LiteralPath $markerPath -Encoding UTF8
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
        $service = Get-Service -Name $name -ErrorAction SilentlyContinue
        $entry = @{ name = $name; present = $null -ne $service; running_before = $false; running = $false }
        if ($null -ne $service -and $service.Status -eq 'Running') {
            $entry.running_before = $true
            $entry.running = $true
            if (-not $module.CheckMode) {
                try {
                    Stop-Service -InputObject $service -Force -ErrorAction Stop
                }
                catch {
                    Set-PausedService -Name $paused
                    $module.Result.services += $entry
                    $msg = "Cannot stop the antivirus service '$name': $($_.Exception.Message). Tamper protection may "
                    $msg += "forbid it: pause it in the antivirus console or remove it from the list"
                    $module.FailJson($msg, $_)
                }
                $entry.running = $false
                if (-not $paused.Contains($service.Name)) {
                    $paused.Add($service.Name)
                }
            }
            $module.Result.stopped += $service.Name
            $module.Result.changed = $true
        }
        $module.Result.services += $entry
    }
}
else {
    $targets = @($paused)
    if ($module.Params.services.Count -gt 0) {
        $targets = @($paused | Where-Object { $module.Params.services -contains $_ })
    }
    foreach ($name in $targets) {
        $service = Get-Service -Name $name -ErrorAction SilentlyContinue
        $entry = @{ name = $name; present = $null -ne $service; running_before = $false; running = $false }
        if ($null -ne $service) {
            $entry.running_before = $service.Status -eq 'Running'
            $entry.running = $entry.running_before
            if (-not $entry.running_before) {
                if (-not $module.CheckMode) {
                    try {
                        Start-Service -InputObject $service -ErrorAction Stop
                    }
                    catch {
                        Set-PausedService -Name $paused
                        $module.Result.services += $entry
                        $msg = "Cannot restart the antivirus service '$name': $($_.Exception.Message). It is still "
                        $msg += "stopped: start it by hand"
                        $module.FailJson($msg, $_)
                    }
                    $entry.running = $true
                }
                $module.Result.started += $service.Name
                $module.Result.changed = $true
            }
        }
        if (-not $module.CheckMode) {
            $null = $paused.Remove($name)
        }
        $module.Result.services += $entry
    }
}

if (-not $module.CheckMode) {
    Set-PausedService -Name $paused
}
$module.ExitJson()
