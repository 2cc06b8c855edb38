#!powershell

# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic

# Host half of winfleet.updates.cau_plugin: register or unregister one Cluster-Aware Updating
# plug-in on this computer, idempotently. The action plugin has already refused what cannot be
# done (unregistering a built-in) and validated the name and the binary path.

$spec = @{
    options = @{
        name = @{ type = 'str'; required = $true }
        path = @{ type = 'str' }
        state = @{ type = 'str'; choices = @('present', 'absent'); default = 'present' }
        allow_unc_path = @{ type = 'bool'; default = $false }
    }
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
$name = $module.Params.name
$path = $module.Params.path
$state = $module.Params.state
$builtIn = @('Microsoft.WindowsUpdatePlugin', 'Microsoft.HotfixPlugin')

function Get-RegisteredPluginName {
    <#
    .SYNOPSIS
    Names of the CAU plug-ins registered on this computer, sorted, built-ins included.
    #>
    [CmdletBinding()]
    [OutputType([string[]])]
    param ()

    , @(Get-CauPlugin -ErrorAction Stop | ForEach-Object { [string]$_.Name } | Sort-Object)
}

try {
    Import-Module -Name ClusterAwareUpdating -ErrorAction Stop
    $before = Get-RegisteredPluginName
}
catch {
    $module.FailJson("Cannot read the registered CAU plug-ins (are the Failover Clustering tools with Cluster-Aware Updating installed?): $($_.Exception.Message)", $_)
}
$module.Result.before = $before
$module.Result.after = $before
$isRegistered = $before -contains $name

if ($state -eq 'absent') {
    if ($builtIn -contains $name) {
        $module.FailJson("$name is built into CAU and cannot be unregistered")
    }
    if ($isRegistered) {
        if (-not $module.CheckMode) {
            try {
                Unregister-CauPlugin -Name $name -Confirm:$false -ErrorAction Stop
            }
            catch {
                $module.FailJson("Unregister-CauPlugin -Name $name failed; nothing was changed: $($_.Exception.Message)", $_)
            }
        }
        $module.Result.changed = $true
        $module.Result.after = @($before | Where-Object { $_ -ne $name })
    }
    $module.ExitJson()
}

if ($isRegistered) {
    $module.ExitJson()
}
if (-not $path) {
    $module.FailJson("The CAU plug-in $name is not registered on $env:COMPUTERNAME and no path was given; set path to the plug-in binary (installed per the publisher's instructions)")
}
# The action plugin refuses a UNC path unless allowed; checked here too, for direct callers.
if ($path.StartsWith('\\') -and -not $module.Params.allow_unc_path) {
    $module.FailJson("path '$path' is a UNC path: CAU would load the plug-in's code from a share on every host that runs it. Install the plug-in on each of those hosts (its publisher's installer) and give its local path, or set allow_unc_path: true to register it from the share anyway")
}
if (-not (Test-Path -LiteralPath $path -PathType Leaf)) {
    $module.FailJson("The plug-in binary $path does not exist on $env:COMPUTERNAME; install the plug-in there first (its publisher's installer), then register it")
}
if ($module.CheckMode) {
    $module.Result.changed = $true
    $module.Result.after = @(@($before) + $name | Sort-Object)
    $module.ExitJson()
}
try {
    Register-CauPlugin -Path $path -Confirm:$false -ErrorAction Stop
}
catch {
    $module.FailJson("Register-CauPlugin -Path $path failed; nothing was registered: $($_.Exception.Message)", $_)
}
$after = Get-RegisteredPluginName
$module.Result.after = $after
$module.Result.changed = (@(Compare-Object -ReferenceObject $before -DifferenceObject $after).Count -gt 0)
if ($after -notcontains $name) {
    $module.FailJson("Register-CauPlugin loaded $path, but no plug-in named $name is registered now. This computer WAS changed: the registered plug-ins went from [$($before -join ', ')] to [$($after -join ', ')]. The binary registers a different name; fix name or path (and unregister what it added).")
}
$module.ExitJson()
