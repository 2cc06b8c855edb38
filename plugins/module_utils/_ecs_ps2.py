# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PowerShell 2.0 functions shared by the Cloud Assistant scripts that write on the host (internal use only).

Cloud Assistant runs its scripts as SYSTEM with the instance's own ``powershell.exe``, 2.0 on
Windows Server 2008 R2
(https://learn.microsoft.com/en-us/powershell/scripting/windows-powershell/install/windows-powershell-system-requirements).
A script that writes a file as SYSTEM into ``%ProgramData%\\winfleet`` must refuse a folder that
another account made first (any user may create folders in ``%ProgramData%``), as the WinRM
modules' ``New-SecureDirectory`` does: a junction there would redirect SYSTEM's writes, a folder a
user owns would let the user swap what SYSTEM reads next. These functions do the same checks with
.NET 2.0 calls only: ``FileAttributes.ReparsePoint``
(https://learn.microsoft.com/dotnet/api/system.io.fileattributes), the owner from
``Directory.GetAccessControl`` (https://learn.microsoft.com/dotnet/api/system.io.directory.getaccesscontrol),
and a new folder created with a protected ACL in the same call
(https://learn.microsoft.com/dotnet/api/system.io.directory.createdirectory, the
``DirectorySecurity`` overload), so it is never open, not even for a moment.
"""

from __future__ import annotations

import re
from typing import Mapping


def fill_template(template: str, values: Mapping[str, str]) -> str:
    """``template`` with each ``__NAME__`` placeholder of ``values`` replaced, in one pass.

    One pass, so a value (a URL, a rollout id) that spells another placeholder stays as it was
    given instead of being replaced too, inside its quoted string, by PowerShell code.
    """
    return re.sub("|".join(map(re.escape, values)), lambda match: values[match.group(0)], template)


#: ``Format-JsonString``: a JSON string literal written by hand (``ConvertTo-Json`` arrived in 3.0).
JSON_STRING_FUNCTION = r"""function Format-JsonString($Text) {
    if ($null -eq $Text) { return 'null' }
    $builder = New-Object System.Text.StringBuilder
    [void]$builder.Append('"')
    foreach ($char in ([string]$Text).ToCharArray()) {
        $code = [int]$char
        if ($char -eq [char]34) { [void]$builder.Append('\"') }
        elseif ($char -eq [char]92) { [void]$builder.Append('\\') }
        elseif ($code -lt 32) { [void]$builder.Append(('\u{0:x4}' -f $code)) }
        else { [void]$builder.Append($char) }
    }
    [void]$builder.Append('"')
    $builder.ToString()
}
"""

#: ``Initialize-TrustedFolder -Path``: create (protected) or check each folder from %ProgramData%\winfleet down.
TRUSTED_FOLDER_FUNCTIONS = r"""function New-ProtectedSecurity {
    $security = New-Object System.Security.AccessControl.DirectorySecurity
    $security.SetAccessRuleProtection($true, $false)
    foreach ($sid in @('S-1-5-18', 'S-1-5-32-544')) {
        $identity = New-Object System.Security.Principal.SecurityIdentifier $sid
        $rule = New-Object System.Security.AccessControl.FileSystemAccessRule $identity, 'FullControl', 'ContainerInherit, ObjectInherit', 'None', 'Allow'
        $security.AddAccessRule($rule)
    }
    $security
}
function Initialize-TrustedFolder([string]$Path) {
    $root = Join-Path -Path $env:ProgramData -ChildPath 'winfleet'
    $current = $root
    $parts = @('') + @($Path.Substring($root.Length).Split('\') | Where-Object { $_ })
    foreach ($part in $parts) {
        if ($part) { $current = Join-Path -Path $current -ChildPath $part }
        if (-not [System.IO.Directory]::Exists($current)) {
            [void][System.IO.Directory]::CreateDirectory($current, (New-ProtectedSecurity))
            continue
        }
        $info = New-Object System.IO.DirectoryInfo $current
        if ($info.Attributes -band [System.IO.FileAttributes]::ReparsePoint) {
            throw ('the folder ' + $current + ' is a reparse point (junction or symbolic link); remove it and run again, the collection creates it itself')
        }
        $owner = [System.IO.Directory]::GetAccessControl($current).GetOwner([System.Security.Principal.SecurityIdentifier]).Value
        if (@('S-1-5-18', 'S-1-5-32-544') -notcontains $owner) {
            throw ('the folder ' + $current + ' is owned by ' + $owner +
                ', not by SYSTEM or Administrators; another account may have created it: remove it and run again')
        }
        # as New-SecureDirectory does: SYSTEM and Administrators only, nothing inherited
        [System.IO.Directory]::SetAccessControl($current, (New-ProtectedSecurity))
    }
}
"""
