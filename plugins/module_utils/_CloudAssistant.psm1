# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# For internal collection use only: where the Cloud Assistant agent is, for the host-side modules
# that report it (virtio_probe) or run its plug-in manager (virtio_install).

Function Find-CloudAssistantAgent {
    <#
    .SYNOPSIS
    Path of acs-plugin-manager.exe in the newest C:\ProgramData\aliyun\assist\<version>, or $null.
    .DESCRIPTION
    Where the Cloud Assistant agent installs itself on Windows
    (https://www.alibabacloud.com/help/en/ecs/user-guide/install-the-cloud-assistant-agent); the
    rollout's cloud_assistant sources need it, so the audit says whether it is there.
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

Export-ModuleMember -Function Find-CloudAssistantAgent
