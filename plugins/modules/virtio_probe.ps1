#!powershell

# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ..module_utils._CloudAssistant

# Host half of winfleet.updates.virtio_probe: collect raw facts in one round trip and decide
# nothing. The action plugin parses the versions and applies the capability gates.

$spec = @{
    options = @{
        driver_files = @{ type = 'list'; elements = 'str'; required = $true }
    }
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)

function Get-VersionPart {
    <#
    .SYNOPSIS
    Numeric version parts of a FileVersionInfo, immune to the odd string forms drivers print.
    #>
    [CmdletBinding()]
    [OutputType([int[]])]
    param (
        [Parameter(Mandatory)]
        [System.Diagnostics.FileVersionInfo]
        $Info,

        [Parameter(Mandatory)]
        [ValidateSet('File', 'Product')]
        [string]
        $Kind
    )

    , @(
        [int]$Info."$($Kind)MajorPart"
        [int]$Info."$($Kind)MinorPart"
        [int]$Info."$($Kind)BuildPart"
        [int]$Info."$($Kind)PrivatePart"
    )
}

try {
    $os = Get-CimInstance -ClassName Win32_OperatingSystem -Property @('Version', 'Caption', 'ProductType') -ErrorAction Stop
}
catch {
    $module.FailJson("Failed to read Win32_OperatingSystem: $($_.Exception.Message)", $_)
}
$module.Result.os = @{
    version = [string]$os.Version
    caption = [string]$os.Caption
    product_type = [int]$os.ProductType
}

# A 32-bit PowerShell (a 32-bit endpoint such as Microsoft.PowerShell32) on 64-bit Windows has
# System32 redirected to SysWOW64, which holds no kernel drivers; Sysnative reaches the real
# System32: https://learn.microsoft.com/windows/win32/winprog64/file-system-redirector
$driverDir = Join-Path -Path $env:SystemRoot -ChildPath 'System32\drivers'
$readDir = $driverDir
if ([Environment]::Is64BitOperatingSystem -and -not [Environment]::Is64BitProcess) {
    $readDir = Join-Path -Path $env:SystemRoot -ChildPath 'Sysnative\drivers'
}
$module.Result.drivers = @(
    foreach ($name in $module.Params.driver_files) {
        $path = Join-Path -Path $driverDir -ChildPath $name
        $readPath = Join-Path -Path $readDir -ChildPath $name
        $entry = @{ name = $name; path = $path; present = $false }
        if (Test-Path -LiteralPath $readPath -PathType Leaf) {
            $entry.present = $true
            try {
                $info = [System.Diagnostics.FileVersionInfo]::GetVersionInfo($readPath)
                $entry.file_version = $info.FileVersion
                $entry.product_version = $info.ProductVersion
                $entry.file_version_parts = Get-VersionPart -Info $info -Kind File
                $entry.product_version_parts = Get-VersionPart -Info $info -Kind Product
            }
            catch {
                # reported for this file only; the controller decides whether it matters
                $entry.error = "cannot read the version of ${path}: $($_.Exception.Message)"
            }
        }
        $entry
    }
)

$module.Result.cloud_assistant_agent = Find-CloudAssistantAgent

$module.ExitJson()
