#!powershell

# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ..module_utils._FileHash

# Host half of winfleet.updates.cau_hotfix_root and cau_hotfix_root_info. It decides nothing:
#   read    - the state of a hotfix root in one round trip: files (sha256), ACLs, the
#             configuration, the manifest, the share, SMB flags, the firewall rule, the update
#             account's token groups, and the CAU tools' DefaultHotfixConfig.xml and schema;
#   apply   - a change set in a fixed order, reporting each finished step;
#   cleanup - removes files a failed transfer left in the temporary folder.
# All options are internal (leading underscore): only the action plugins call this script.

$spec = @{
    options = @{
        _operation = @{ type = 'str'; required = $true; choices = @('read', 'apply', 'cleanup') }
        _root = @{ type = 'str' }
        _share_name = @{ type = 'str' }
        _share_subpath = @{ type = 'list'; elements = 'str'; default = @() }
        _config_name = @{ type = 'str'; default = 'DefaultHotfixConfig.xml' }
        _manifest_name = @{ type = 'str'; default = '.winfleet_hotfix_stage.json' }
        _firewall_rule = @{ type = 'str' }
        _account = @{ type = 'str' }
        _create_root = @{ type = 'bool'; default = $false }
        _folders = @{ type = 'list'; elements = 'str'; default = @() }
        _acl = @{ type = 'list'; elements = 'dict'; default = @() }
        _files = @{ type = 'list'; elements = 'dict'; default = @() }
        _config = @{ type = 'dict' }
        _remove = @{ type = 'list'; elements = 'dict'; default = @() }
        _remove_folders = @{ type = 'list'; elements = 'str'; default = @() }
        _manifest = @{ type = 'dict' }
        _share = @{ type = 'dict' }
        _require_signing = @{ type = 'bool'; default = $false }
        _enable_firewall_rule = @{ type = 'str' }
        _incoming = @{ type = 'list'; elements = 'str'; default = @() }
    }
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)

# Where the CAU tools keep Microsoft's DefaultHotfixConfig.xml and HotfixConfigSchema.xsd
# (https://learn.microsoft.com/en-us/windows-server/failover-clustering/cluster-aware-updating-plug-ins).
$toolsDir = "$env:SystemRoot\System32\WindowsPowerShell\v1.0\Modules\ClusterAwareUpdating"
$maxConfigBytes = 1048576

# The DACL of one path by SID; rights as the FileSystemRights integer (.NET's own enum).
function Get-PathAcl {
    [CmdletBinding()]
    param ([Parameter(Mandatory)] [string] $Path)

    $acl = Get-Acl -LiteralPath $Path
    $sidType = [System.Security.Principal.SecurityIdentifier]
    $aces = foreach ($rule in $acl.GetAccessRules($true, $true, $sidType)) {
        @{
            identity = $rule.IdentityReference.Value
            rights = [int]$rule.FileSystemRights
            type = $rule.AccessControlType.ToString()
            inherited = $rule.IsInherited
            inheritance = $rule.InheritanceFlags.ToString()
            propagation = $rule.PropagationFlags.ToString()
        }
    }
    @{ protected = $acl.AreAccessRulesProtected; aces = @($aces) }
}

# Give a path exactly the explicit entries decided on the controller; inherited entries are never copied, so a
# permissive parent cannot leak in.
function Set-PathAcl {
    [CmdletBinding()]
    param ([Parameter(Mandatory)] [string] $Path, [Parameter(Mandatory)] [object] $Change)

    $acl = Get-Acl -LiteralPath $Path
    $acl.SetAccessRuleProtection([bool]$Change.protect, $false)
    foreach ($rule in @($acl.GetAccessRules($true, $false, [System.Security.Principal.SecurityIdentifier]))) {
        $acl.RemoveAccessRuleSpecific($rule)
    }
    foreach ($entry in @($Change.entries)) {
        $acl.AddAccessRule([System.Security.AccessControl.FileSystemAccessRule]::new(
                [System.Security.Principal.SecurityIdentifier]::new([string]$entry.identity),
                [System.Security.AccessControl.FileSystemRights][int]$entry.rights,
                [System.Security.AccessControl.InheritanceFlags]$entry.inheritance,
                [System.Security.AccessControl.PropagationFlags]$entry.propagation,
                [System.Security.AccessControl.AccessControlType]$entry.type))
    }
    Set-Acl -LiteralPath $Path -AclObject $acl
}

# The manifest's entries by relative path (lower case); empty when absent or damaged.
function Read-Manifest {
    [CmdletBinding()]
    param ([Parameter(Mandatory)] [string] $Path)

    $entries = @{}
    if (Test-Path -LiteralPath $Path -PathType Leaf) {
        try {
            $parsed = [System.IO.File]::ReadAllText($Path) | ConvertFrom-Json
            foreach ($property in $parsed.files.PSObject.Properties) {
                $entries[$property.Name.Replace('/', '\').ToLowerInvariant()] = $property.Value
            }
        }
        catch {
            $entries = @{}
        }
    }
    $entries
}

# Every folder and file under the root with its ACL; a file is hashed only when its size or LastWriteTimeUtc
# differs from the manifest. Links are reported and not followed.
function Get-TreeState {
    [CmdletBinding()]
    param ([Parameter(Mandatory)] [string] $Root, [Parameter()] [hashtable] $Known = @{})

    $state = @{ folders = @(); files = @(); reparse_points = @(); acl = @{ '' = Get-PathAcl -Path $Root } }
    $pending = New-Object -TypeName 'System.Collections.Generic.Stack[System.IO.DirectoryInfo]'
    $pending.Push([System.IO.DirectoryInfo]::new($Root))
    while ($pending.Count -gt 0) {
        foreach ($child in $pending.Pop().EnumerateFileSystemInfos()) {
            $relative = $child.FullName.Substring($Root.TrimEnd('\').Length + 1)
            if ($child.Attributes.HasFlag([System.IO.FileAttributes]::ReparsePoint)) {
                $state.reparse_points += $relative
                continue
            }
            $state.acl[$relative] = Get-PathAcl -Path $child.FullName
            if ($child -is [System.IO.DirectoryInfo]) {
                $state.folders += $relative
                $pending.Push($child)
                continue
            }
            $entry = $Known[$relative.ToLowerInvariant()]
            $mtime = [string]$child.LastWriteTimeUtc.Ticks
            $known = $entry -and [int64]$entry.size -eq $child.Length -and [string]$entry.mtime -eq $mtime
            $sha = if ($known) {
                $entry.sha256
            } else {
                Get-FileSha256 -Path $child.FullName
            }
            $state.files += @{ path = $relative; sha256 = $sha; size = $child.Length }
        }
    }
    $state
}

# A small file's bytes as base64, or $null when it is absent.
function Get-FileBase64 {
    [CmdletBinding()]
    param ([Parameter(Mandatory)] [string] $Path)

    if (-not (Test-Path -LiteralPath $Path -PathType Leaf)) {
        return $null
    }
    $size = (Get-Item -LiteralPath $Path -Force).Length
    if ($size -gt $maxConfigBytes) {
        $module.FailJson("$Path is $size bytes; a hotfix configuration file is far smaller, look at it " +
            'before running again')
    }
    [System.Convert]::ToBase64String([System.IO.File]::ReadAllBytes($Path))
}

# The localised name of a well-known group (Administrators, Users) from its SID.
function Get-AccountName {
    [CmdletBinding()]
    param ([Parameter(Mandatory)] [string] $Sid)

    $identifier = [System.Security.Principal.SecurityIdentifier]$Sid
    $identifier.Translate([System.Security.Principal.NTAccount]).Value
}

# The rule by Name, else by DisplayName (display names are localised; the Name is not).
function Get-FirewallRule {
    [CmdletBinding()]
    param ([Parameter(Mandatory)] [string] $Rule)

    $found = @(Get-NetFirewallRule -Name $Rule -ErrorAction SilentlyContinue)
    if ($found.Count -eq 0) {
        $found = @(Get-NetFirewallRule -DisplayName $Rule -ErrorAction SilentlyContinue)
    }
    $found
}

# The account's token groups, which Windows builds with nested group membership resolved
# (WindowsIdentity(String) and WindowsIdentity.Groups:
# https://learn.microsoft.com/en-us/dotnet/api/system.security.principal.windowsidentity.groups). Without a
# token (no domain, no S4U), the direct members of Administrators instead.
function Get-AccountState {
    [CmdletBinding()]
    param ([Parameter(Mandatory)] [string] $Name)

    $state = @{ name = $Name; resolved = $false }
    try {
        $account = [System.Security.Principal.NTAccount]::new($Name)
        $state.sid = $account.Translate([System.Security.Principal.SecurityIdentifier]).Value
        $state.resolved = $true
    }
    catch {
        return $state
    }
    $parts = $Name.Split('\')
    # S4U takes a UPN; sAMAccountName@DNS domain (USERDNSDOMAIN: the connecting user's domain) is one.
    $realm = if ($env:USERDNSDOMAIN) { $env:USERDNSDOMAIN } else { $parts[0] }
    $upn = if ($parts.Count -eq 2) { "$($parts[1])@$realm" } else { $Name }
    try {
        $identity = [System.Security.Principal.WindowsIdentity]::new($upn)
        $state.token_groups = @($identity.Groups | ForEach-Object { $_.Value })
    }
    catch {
        $state.token_error = $_.Exception.Message
        $administrators = ((Get-AccountName -Sid 'S-1-5-32-544') -split '\\')[-1]
        $group = [ADSI]"WinNT://$env:COMPUTERNAME/$administrators,group"
        $state.direct_members = @(foreach ($member in @($group.Invoke('Members'))) {
                $bytes = $member.GetType().InvokeMember('objectSid', 'GetProperty', $null, $member, $null)
                [System.Security.Principal.SecurityIdentifier]::new($bytes, 0).Value
            })
    }
    $state
}

# The whole state the controller needs, in one round trip; changes nothing.
function Read-HotfixRoot {
    [CmdletBinding()]
    param ()

    $params = $module.Params
    $result = $module.Result
    $result.computer_name = $env:COMPUTERNAME
    $result.temp_dir = [System.IO.Path]::GetTempPath().TrimEnd('\')
    $root = $params._root
    if ($params._share_name) {
        $share = Get-SmbShare -Name $params._share_name -ErrorAction SilentlyContinue
        $result.share = @{ name = $params._share_name; exists = [bool]$share }
        if ($share) {
            $result.share.path = $share.Path
            $result.share.encrypt_data = [bool]$share.EncryptData
            if (-not $root) {
                $root = $share.Path
                foreach ($folder in $params._share_subpath) {
                    $root = Join-Path -Path $root -ChildPath $folder
                }
            }
        }
        $server = Get-SmbServerConfiguration
        $result.smb = @{
            require_signing = [bool]$server.RequireSecuritySignature
            encrypt_data = [bool]$server.EncryptData
        }
    }
    $exists = [bool]($root -and (Test-Path -LiteralPath $root -PathType Container))
    $result.root = @{ path = $root; exists = $exists }
    if ($exists) {
        $manifestPath = Join-Path -Path $root -ChildPath $params._manifest_name
        $tree = Get-TreeState -Root $root -Known (Read-Manifest -Path $manifestPath)
        $result.folders = $tree.folders
        $result.files = $tree.files
        $result.reparse_points = $tree.reparse_points
        $result.acl = $tree.acl
        $result.config = Get-FileBase64 -Path (Join-Path -Path $root -ChildPath $params._config_name)
        $result.manifest = Get-FileBase64 -Path $manifestPath
    }
    $result.cau_tools = @{
        folder = $toolsDir
        config = Get-FileBase64 -Path (Join-Path -Path $toolsDir -ChildPath 'DefaultHotfixConfig.xml')
        schema = Get-FileBase64 -Path (Join-Path -Path $toolsDir -ChildPath 'HotfixConfigSchema.xsd')
    }
    if ($params._firewall_rule) {
        $rules = @(Get-FirewallRule -Rule $params._firewall_rule)
        $disabled = @($rules | Where-Object { [string]$_.Enabled -ne 'True' })
        $enabled = $rules.Count -gt 0 -and $disabled.Count -eq 0
        $result.firewall = @{ name = $params._firewall_rule; exists = $rules.Count -gt 0; enabled = $enabled }
    }
    if ($params._account) {
        $result.account = Get-AccountState -Name $params._account
    }
}

# Run one change and record it as done (the controller reports the steps before a failure).
function Invoke-Step {
    [CmdletBinding()]
    param ([Parameter(Mandatory)] [string] $Name, [Parameter(Mandatory)] [scriptblock] $Action)

    $script:currentStep = $Name
    & $Action
    $module.Result.done += $Name
}

# Write beside the target, then rename over it: no reader sees half a file, and the new file inherits the
# folder's ACL.
function Write-FileAtomic {
    [CmdletBinding()]
    param ([Parameter(Mandatory)] [string] $Path, [Parameter(Mandatory)] [byte[]] $Bytes)

    [System.IO.File]::WriteAllBytes("$Path.winfleet-partial", $Bytes)
    Move-Item -LiteralPath "$Path.winfleet-partial" -Destination $Path -Force
}

# Delete files the controller copied to the temporary folder; only names it generates.
function Remove-Incoming {
    [CmdletBinding()]
    param ([Parameter()] [AllowEmptyCollection()] [string[]] $Path = @())

    foreach ($file in $Path) {
        $ours = (Split-Path -Path $file -Leaf) -like 'winfleet-hotfix-*.part'
        if ($ours -and (Test-Path -LiteralPath $file -PathType Leaf)) {
            Remove-Item -LiteralPath $file -Force -ErrorAction SilentlyContinue
        }
    }
}

# Apply the change set: the root is secured before anything is placed in it, the share is published last, once
# the content is in place.
function Invoke-Apply {
    [CmdletBinding()]
    param ()

    $params = $module.Params
    $root = $params._root
    $configBytes = $null
    if ($params._config) {
        $configBytes = [System.Convert]::FromBase64String($params._config.content)
        if ((Get-BytesSha256 -Bytes $configBytes) -ne $params._config.sha256) {
            throw 'the configuration was damaged on the way (sha256 mismatch)'
        }
    }
    if ($params._create_root) {
        Invoke-Step -Name "create root $root" -Action {
            $null = New-Item -Path $root -ItemType Directory -Force
        }
    }
    foreach ($change in @($params._acl | Where-Object { $_.path -eq '' })) {
        Invoke-Step -Name 'set ACL .' -Action { Set-PathAcl -Path $root -Change $change }
    }
    foreach ($folder in $params._folders) {
        Invoke-Step -Name "create folder $folder" -Action {
            $null = New-Item -Path (Join-Path -Path $root -ChildPath $folder) -ItemType Directory -Force
        }
    }
    foreach ($change in @($params._acl | Where-Object { $_.path -ne '' })) {
        Invoke-Step -Name "set ACL $($change.path)" -Action {
            Set-PathAcl -Path (Join-Path -Path $root -ChildPath $change.path) -Change $change
        }
    }
    foreach ($file in $params._files) {
        Invoke-Step -Name "place file $($file.path)" -Action {
            $target = Join-Path -Path $root -ChildPath $file.path
            # A copy (not a move) is a new file, which inherits the destination folder's ACL.
            Copy-Item -LiteralPath $file.source -Destination "$target.winfleet-partial" -Force
            $actual = Get-FileSha256 -Path "$target.winfleet-partial"
            if ($actual -ne $file.sha256) {
                Remove-Item -LiteralPath "$target.winfleet-partial" -Force
                throw "checksum mismatch after the transfer: expected $($file.sha256), got $actual"
            }
            Move-Item -LiteralPath "$target.winfleet-partial" -Destination $target -Force
        }
    }
    if ($null -ne $configBytes) {
        Invoke-Step -Name "write $($params._config_name)" -Action {
            Write-FileAtomic -Path (Join-Path -Path $root -ChildPath $params._config_name) -Bytes $configBytes
        }
    }
    foreach ($entry in $params._remove) {
        Invoke-Step -Name "remove file $($entry.path)" -Action {
            $target = Join-Path -Path $root -ChildPath $entry.path
            if (Test-Path -LiteralPath $target -PathType Leaf) {
                if ((Get-FileSha256 -Path $target) -ne $entry.sha256) {
                    throw "$($entry.path) changed since it was read; it was not removed"
                }
                Remove-Item -LiteralPath $target -Force
            }
        }
    }
    foreach ($folder in $params._remove_folders) {
        Invoke-Step -Name "remove folder $folder" -Action {
            # Not recursive: a folder someone filled meanwhile stays (and this step fails).
            [System.IO.Directory]::Delete((Join-Path -Path $root -ChildPath $folder), $false)
        }
    }
    if ($params._manifest) {
        Invoke-Step -Name 'write manifest' -Action {
            # Size and LastWriteTimeUtc let the next read skip hashing unchanged files.
            $files = [ordered]@{}
            foreach ($key in @($params._manifest.Keys | Sort-Object)) {
                $item = Get-Item -LiteralPath (Join-Path -Path $root -ChildPath $key.Replace('/', '\')) -Force
                $mtime = [string]$item.LastWriteTimeUtc.Ticks
                $sha256 = $params._manifest[$key].sha256
                $files[$key] = [ordered]@{ mtime = $mtime; sha256 = $sha256; size = $item.Length }
            }
            $json = ConvertTo-Json -InputObject ([ordered]@{ files = $files; version = 2 }) -Depth 4
            $bytes = [System.Text.Encoding]::UTF8.GetBytes($json)
            Write-FileAtomic -Path (Join-Path -Path $root -ChildPath $params._manifest_name) -Bytes $bytes
        }
    }
    $share = $params._share
    if ($share -and $share.create) {
        Invoke-Step -Name "create share $($share.name)" -Action {
            $admins, $users = (Get-AccountName -Sid 'S-1-5-32-544'), (Get-AccountName -Sid 'S-1-5-32-545')
            $encrypt = [bool]$share.encrypt_data
            $null = New-SmbShare -Name $share.name -Path $share.path -EncryptData $encrypt `
                -FullAccess $admins -ReadAccess $users -ErrorAction Stop
        }
    }
    elseif ($share) {
        Invoke-Step -Name "set share $($share.name) EncryptData=$($share.encrypt_data)" -Action {
            Set-SmbShare -Name $share.name -EncryptData ([bool]$share.encrypt_data) -Force -ErrorAction Stop
        }
    }
    if ($params._require_signing) {
        Invoke-Step -Name 'require SMB signing' -Action {
            Set-SmbServerConfiguration -RequireSecuritySignature $true -Force -ErrorAction Stop
        }
    }
    if ($params._enable_firewall_rule) {
        Invoke-Step -Name "enable firewall rule $($params._enable_firewall_rule)" -Action {
            $rules = @(Get-FirewallRule -Rule $params._enable_firewall_rule)
            if ($rules.Count -eq 0) {
                throw "the firewall rule '$($params._enable_firewall_rule)' does not exist"
            }
            $rules | Enable-NetFirewallRule -ErrorAction Stop
        }
    }
}

switch ($module.Params._operation) {
    'read' {
        try {
            Read-HotfixRoot
        }
        catch {
            $module.FailJson("Failed to read the hotfix root: $($_.Exception.Message)", $_)
        }
    }
    'cleanup' {
        Remove-Incoming -Path $module.Params._incoming
    }
    'apply' {
        $module.Result.done = @()
        $module.Result.changed = $true
        if (-not $module.CheckMode) {
            $script:currentStep = 'verify the change set'
            try {
                Invoke-Apply
            }
            catch {
                Remove-Incoming -Path @($module.Params._files | ForEach-Object { $_.source })
                $module.Result.changed = $module.Result.done.Count -gt 0
                $module.Result.failed_step = $script:currentStep
                $module.FailJson("$($script:currentStep): $($_.Exception.Message)", $_)
            }
            Remove-Incoming -Path @($module.Params._files | ForEach-Object { $_.source })
        }
    }
}

$module.ExitJson()
