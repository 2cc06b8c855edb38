# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# For internal collection use only: SHA-256 helpers shared by the collection's host-side modules,
# which verify every file the controller pushed against the checksum it computed.

Function Get-FileSha256 {
    <#
    .SYNOPSIS
    Lower-case hex SHA-256 of a file, read as a stream (update packages can be large), with .NET so
    that it works where Get-FileHash does not exist.
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param (
        [Parameter(Mandatory)]
        [string]
        $Path
    )

    $stream = [System.IO.File]::OpenRead($Path)
    try {
        $sha = [System.Security.Cryptography.SHA256]::Create()
        try {
            ([System.BitConverter]::ToString($sha.ComputeHash($stream)) -replace '-', '').ToLowerInvariant()
        }
        finally {
            $sha.Dispose()
        }
    }
    finally {
        $stream.Dispose()
    }
}

Function Get-BytesSha256 {
    <#
    .SYNOPSIS
    Lower-case hex SHA-256 of bytes received from the controller, to verify them before use.
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param (
        [Parameter(Mandatory)]
        [byte[]]
        $Bytes
    )

    $sha = [System.Security.Cryptography.SHA256]::Create()
    try {
        ([System.BitConverter]::ToString($sha.ComputeHash($Bytes)) -replace '-', '').ToLowerInvariant()
    }
    finally {
        $sha.Dispose()
    }
}

Export-ModuleMember -Function @('Get-FileSha256', 'Get-BytesSha256')
