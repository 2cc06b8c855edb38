#!powershell

# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ..module_utils._FileHash

# Host half of winfleet.updates.cau_hotfix_root. It decides nothing: the action plugin plans the
# tree, the ACLs, the share settings and the configuration XML on the controller. This script
#   read    - reports the state of a hotfix root in one round trip: every file under it with its
#             sha256, every ACL, the configuration file, the share, the SMB server flags, the
#             firewall rule, Windows' HotfixConfigSchema.xsd (and what it says of the files);
#   apply   - applies a change set in a fixed order (root, its ACL, folders, ACLs, files,
#             configuration, removals, manifest, share, signing, firewall) and reports each step
#             it finished, so that a failure midway says exactly what was done;
#   cleanup - removes files a failed transfer left in the temporary folder.
# All options are internal (leading underscore): only the action plugin calls this script.

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
        _candidate_config = @{ type = 'str' }
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

# Where the CAU tools keep the authoritative schema (seed 003).
$schemaPath = Join-Path -Path $env:SystemRoot -ChildPath 'System32\WindowsPowerShell\v1.0\Modules\ClusterAwareUpdating\HotfixConfigSchema.xsd'
# A configuration file is a few KiB; the controller refuses anything near this.
$maxConfigBytes = 1048576

function Get-RelativePath {
    <#
    .SYNOPSIS
    A path relative to the root, '' for the root itself, as the controller names paths.
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param (
        [Parameter(Mandatory)]
        [string]
        $Root,

        [Parameter(Mandatory)]
        [string]
        $Path
    )

    $base = $Root.TrimEnd('\')
    if ($Path.Length -le $base.Length) {
        return ''
    }
    $Path.Substring($base.Length + 1)
}

function Get-PathAcl {
    <#
    .SYNOPSIS
    The DACL of one path: whether inheritance is blocked and every entry, by SID, with the
    rights as an integer (generic rights included) so the controller can judge them.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory)]
        [string]
        $Path
    )

    $acl = Get-Acl -LiteralPath $Path
    $aces = foreach ($rule in $acl.GetAccessRules($true, $true, [System.Security.Principal.SecurityIdentifier])) {
        @{
            identity = $rule.IdentityReference.Value
            rights = [int]$rule.FileSystemRights
            type = $rule.AccessControlType.ToString()
            inherited = $rule.IsInherited
            inheritance = $rule.InheritanceFlags.ToString()
            propagation = $rule.PropagationFlags.ToString()
        }
    }
    @{
        protected = $acl.AreAccessRulesProtected
        aces = @($aces)
    }
}

function Set-PathAcl {
    <#
    .SYNOPSIS
    Give a path exactly the explicit entries the controller decided, and block or restore
    inheritance. Inherited entries are never copied: a permissive parent must not leak in.
    #>
    [CmdletBinding()]
    param (
        [Parameter(Mandatory)]
        [string]
        $Path,

        [Parameter(Mandatory)]
        [bool]
        $Protect,

        [Parameter()]
        [AllowEmptyCollection()]
        [object[]]
        $Entries = @()
    )

    $acl = Get-Acl -LiteralPath $Path
    $acl.SetAccessRuleProtection($Protect, $false)
    foreach ($rule in @($acl.GetAccessRules($true, $false, [System.Security.Principal.SecurityIdentifier]))) {
        $acl.RemoveAccessRuleSpecific($rule)
    }
    foreach ($entry in $Entries) {
        $rule = [System.Security.AccessControl.FileSystemAccessRule]::new(
            [System.Security.Principal.SecurityIdentifier]::new([string]$entry.identity),
            [System.Security.AccessControl.FileSystemRights]$entry.rights,
            [System.Security.AccessControl.InheritanceFlags]$entry.inheritance,
            [System.Security.AccessControl.PropagationFlags]$entry.propagation,
            [System.Security.AccessControl.AccessControlType]$entry.type
        )
        $acl.AddAccessRule($rule)
    }
    Set-Acl -LiteralPath $Path -AclObject $acl
}

function Get-TreeState {
    <#
    .SYNOPSIS
    Every folder and file under the root with its ACL and sha256. Links (reparse points) are
    reported and not followed: they could lead outside the root.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory)]
        [string]
        $Root
    )

    $folders = New-Object -TypeName 'System.Collections.Generic.List[string]'
    $links = New-Object -TypeName 'System.Collections.Generic.List[string]'
    $files = New-Object -TypeName 'System.Collections.Generic.List[object]'
    $acl = @{}
    $acl[''] = Get-PathAcl -Path $Root
    $pending = New-Object -TypeName 'System.Collections.Generic.Stack[System.IO.DirectoryInfo]'
    $pending.Push([System.IO.DirectoryInfo]::new($Root))
    while ($pending.Count -gt 0) {
        $directory = $pending.Pop()
        foreach ($child in $directory.EnumerateFileSystemInfos()) {
            $relative = Get-RelativePath -Root $Root -Path $child.FullName
            if ($child.Attributes.HasFlag([System.IO.FileAttributes]::ReparsePoint)) {
                $links.Add($relative)
                continue
            }
            $acl[$relative] = Get-PathAcl -Path $child.FullName
            if ($child -is [System.IO.DirectoryInfo]) {
                $folders.Add($relative)
                $pending.Push($child)
            }
            else {
                $files.Add(@{
                        path = $relative
                        sha256 = Get-FileSha256 -Path $child.FullName
                        size = $child.Length
                    })
            }
        }
    }
    @{
        folders = $folders.ToArray()
        files = $files.ToArray()
        reparse_points = $links.ToArray()
        acl = $acl
    }
}

function Test-XmlSchema {
    <#
    .SYNOPSIS
    Validate configuration bytes against an XSD; DTDs are prohibited and nothing is resolved.
    Returns the problems, one string each (none: valid).
    #>
    [CmdletBinding()]
    [OutputType([string[]])]
    param (
        [Parameter(Mandatory)]
        [byte[]]
        $Content,

        [Parameter(Mandatory)]
        [string]
        $SchemaPath
    )

    $problems = New-Object -TypeName 'System.Collections.Generic.List[string]'
    $settings = [System.Xml.XmlReaderSettings]::new()
    $settings.DtdProcessing = [System.Xml.DtdProcessing]::Prohibit
    $settings.XmlResolver = $null
    $settings.ValidationType = [System.Xml.ValidationType]::Schema
    $null = $settings.Schemas.Add($null, $SchemaPath)
    $handler = {
        param ($source, $validation)
        $problems.Add(('line {0}: {1}' -f $validation.Exception.LineNumber, $validation.Message))
    }.GetNewClosure()
    $settings.add_ValidationEventHandler([System.Xml.Schema.ValidationEventHandler]$handler)
    $stream = [System.IO.MemoryStream]::new($Content)
    $reader = [System.Xml.XmlReader]::Create($stream, $settings)
    try {
        while ($reader.Read()) {
            $null = $reader.NodeType
        }
    }
    catch [System.Xml.XmlException] {
        $problems.Add(('line {0}: {1}' -f $_.Exception.LineNumber, $_.Exception.Message))
    }
    finally {
        $reader.Dispose()
        $stream.Dispose()
    }
    $problems.ToArray()
}

function Get-FirewallRule {
    <#
    .SYNOPSIS
    The rule by Name, else by DisplayName (display names are localised; the Name is not).
    #>
    [CmdletBinding()]
    [OutputType([object[]])]
    param (
        [Parameter(Mandatory)]
        [string]
        $Rule
    )

    $found = @(Get-NetFirewallRule -Name $Rule -ErrorAction SilentlyContinue)
    if ($found.Count -eq 0) {
        $found = @(Get-NetFirewallRule -DisplayName $Rule -ErrorAction SilentlyContinue)
    }
    $found
}

function Get-AccountState {
    <#
    .SYNOPSIS
    Whether the account that runs the update is a direct member of the local Administrators
    group (found by SID, so a localised group name does not matter).
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory)]
        [string]
        $Name
    )

    $state = @{ name = $Name; resolved = $false; sid = $null; is_local_admin = $false }
    try {
        $sid = ([System.Security.Principal.NTAccount]::new($Name)).Translate([System.Security.Principal.SecurityIdentifier]).Value
    }
    catch {
        return $state
    }
    $state.resolved = $true
    $state.sid = $sid
    $adminsName = ([System.Security.Principal.SecurityIdentifier]::new('S-1-5-32-544')).Translate([System.Security.Principal.NTAccount]).Value
    $parts = $adminsName.Split('\')
    $group = [ADSI]"WinNT://$env:COMPUTERNAME/$($parts[$parts.Count - 1]),group"
    foreach ($member in @($group.Invoke('Members'))) {
        $bytes = $member.GetType().InvokeMember('objectSid', 'GetProperty', $null, $member, $null)
        if ([System.Security.Principal.SecurityIdentifier]::new($bytes, 0).Value -eq $sid) {
            $state.is_local_admin = $true
        }
    }
    $state
}

function Read-HotfixRoot {
    <#
    .SYNOPSIS
    The whole state the controller needs, in one round trip; changes nothing.
    #>
    [CmdletBinding()]
    param ()

    $params = $module.Params
    $module.Result.computer_name = $env:COMPUTERNAME
    $module.Result.temp_dir = [System.IO.Path]::GetTempPath().TrimEnd('\')

    $root = $params._root
    if ($params._share_name) {
        $share = Get-SmbShare -Name $params._share_name -ErrorAction SilentlyContinue
        if ($share) {
            $module.Result.share = @{ name = $share.Name; exists = $true; path = $share.Path; encrypt_data = [bool]$share.EncryptData }
            if (-not $root) {
                $root = $share.Path
                foreach ($folder in $params._share_subpath) {
                    $root = Join-Path -Path $root -ChildPath $folder
                }
            }
        }
        else {
            $module.Result.share = @{ name = $params._share_name; exists = $false }
        }
        $server = Get-SmbServerConfiguration
        $module.Result.smb = @{ require_signing = [bool]$server.RequireSecuritySignature; encrypt_data = [bool]$server.EncryptData }
    }

    $exists = [bool]($root -and (Test-Path -LiteralPath $root -PathType Container))
    $module.Result.root = @{ path = $root; exists = $exists }
    $module.Result.folders = @()
    $module.Result.files = @()
    $module.Result.reparse_points = @()
    $module.Result.acl = @{}
    $module.Result.config = @{ present = $false }
    $module.Result.manifest = @{ present = $false }
    if ($exists) {
        $tree = Get-TreeState -Root $root
        $module.Result.folders = $tree.folders
        $module.Result.files = $tree.files
        $module.Result.reparse_points = $tree.reparse_points
        $module.Result.acl = $tree.acl
        foreach ($name in @('config', 'manifest')) {
            $path = Join-Path -Path $root -ChildPath $params["_$($name)_name"]
            if (Test-Path -LiteralPath $path -PathType Leaf) {
                $size = (Get-Item -LiteralPath $path -Force).Length
                if ($size -gt $maxConfigBytes) {
                    $module.FailJson("$path is $size bytes; a $name file is far smaller, look at it before running again")
                }
                $module.Result.$name = @{ present = $true; content = [System.Convert]::ToBase64String([System.IO.File]::ReadAllBytes($path)) }
            }
        }
    }

    $schema = @{ present = (Test-Path -LiteralPath $schemaPath -PathType Leaf); path = $schemaPath }
    if ($schema.present) {
        if ($module.Result.config.present) {
            $schema.errors_existing = @(Test-XmlSchema -Content ([System.Convert]::FromBase64String($module.Result.config.content)) -SchemaPath $schemaPath)
        }
        if ($params._candidate_config) {
            $schema.errors_candidate = @(Test-XmlSchema -Content ([System.Convert]::FromBase64String($params._candidate_config)) -SchemaPath $schemaPath)
        }
    }
    $module.Result.cau_schema = $schema

    if ($params._firewall_rule) {
        $rules = @(Get-FirewallRule -Rule $params._firewall_rule)
        $disabled = @($rules | Where-Object { [string]$_.Enabled -ne 'True' })
        $module.Result.firewall = @{
            name = $params._firewall_rule
            exists = $rules.Count -gt 0
            enabled = ($rules.Count -gt 0) -and ($disabled.Count -eq 0)
        }
    }
    if ($params._account) {
        $module.Result.account = Get-AccountState -Name $params._account
    }
}

function Invoke-Step {
    <#
    .SYNOPSIS
    Run one change and record it as done; the name is what the controller reports when a
    later step fails.
    #>
    [CmdletBinding()]
    param (
        [Parameter(Mandatory)]
        [string]
        $Name,

        [Parameter(Mandatory)]
        [scriptblock]
        $Action
    )

    $script:currentStep = $Name
    & $Action
    $module.Result.done += $Name
}

function Write-FileAtomic {
    <#
    .SYNOPSIS
    Write next to the target, then rename over it: no reader sees half a file, and the new file
    inherits the folder's ACL.
    #>
    [CmdletBinding()]
    param (
        [Parameter(Mandatory)]
        [string]
        $Path,

        [Parameter(Mandatory)]
        [byte[]]
        $Bytes
    )

    $partial = "$Path.winfleet-partial"
    [System.IO.File]::WriteAllBytes($partial, $Bytes)
    Move-Item -LiteralPath $partial -Destination $Path -Force
}

function Remove-Incoming {
    <#
    .SYNOPSIS
    Delete files the controller copied to the temporary folder; only names it generates.
    #>
    [CmdletBinding()]
    param (
        [Parameter()]
        [AllowEmptyCollection()]
        [string[]]
        $Path = @()
    )

    foreach ($file in $Path) {
        if ((Split-Path -Path $file -Leaf) -like 'winfleet-hotfix-*.part' -and (Test-Path -LiteralPath $file -PathType Leaf)) {
            Remove-Item -LiteralPath $file -Force -ErrorAction SilentlyContinue
        }
    }
}

function Invoke-Apply {
    <#
    .SYNOPSIS
    Apply the change set in a fixed order; the root is secured before anything is placed in
    it, and the share is published last, once the content is in place and secured.
    #>
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
        if (Test-Path -LiteralPath $schemaPath -PathType Leaf) {
            $script:currentStep = "validate $($params._config_name) against HotfixConfigSchema.xsd"
            $problems = @(Test-XmlSchema -Content $configBytes -SchemaPath $schemaPath)
            if ($problems.Count -gt 0) {
                throw "$schemaPath rejects the new configuration: $($problems -join '; ')"
            }
        }
    }
    $rootAcl = @($params._acl | Where-Object { $_.path -eq '' })
    $otherAcl = @($params._acl | Where-Object { $_.path -ne '' })

    if ($params._create_root) {
        Invoke-Step -Name "create root $root" -Action {
            $null = New-Item -Path $root -ItemType Directory -Force
        }
    }
    foreach ($change in $rootAcl) {
        Invoke-Step -Name 'set ACL .' -Action {
            Set-PathAcl -Path $root -Protect $change.protect -Entries @($change.entries)
        }
    }
    foreach ($folder in $params._folders) {
        Invoke-Step -Name "create folder $folder" -Action {
            $null = New-Item -Path (Join-Path -Path $root -ChildPath $folder) -ItemType Directory -Force
        }
    }
    foreach ($change in $otherAcl) {
        Invoke-Step -Name "set ACL $($change.path)" -Action {
            Set-PathAcl -Path (Join-Path -Path $root -ChildPath $change.path) -Protect $change.protect -Entries @($change.entries)
        }
    }
    foreach ($file in $params._files) {
        Invoke-Step -Name "place file $($file.path)" -Action {
            $target = Join-Path -Path $root -ChildPath $file.path
            $partial = "$target.winfleet-partial"
            # A copy (not a move) is a new file, which inherits the destination folder's ACL.
            Copy-Item -LiteralPath $file.source -Destination $partial -Force
            $actual = Get-FileSha256 -Path $partial
            if ($actual -ne $file.sha256) {
                Remove-Item -LiteralPath $partial -Force
                throw "checksum mismatch after the transfer: expected $($file.sha256), got $actual"
            }
            Move-Item -LiteralPath $partial -Destination $target -Force
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
            $target = Join-Path -Path $root -ChildPath $folder
            if (Test-Path -LiteralPath $target -PathType Container) {
                # Not recursive: a folder someone filled meanwhile stays (and this step fails).
                [System.IO.Directory]::Delete($target, $false)
            }
        }
    }
    if ($params._manifest) {
        Invoke-Step -Name 'write manifest' -Action {
            $bytes = [System.Convert]::FromBase64String($params._manifest.content)
            Write-FileAtomic -Path (Join-Path -Path $root -ChildPath $params._manifest_name) -Bytes $bytes
        }
    }
    $share = $params._share
    if ($share) {
        if ($share.create) {
            Invoke-Step -Name "create share $($share.name)" -Action {
                $admins = ([System.Security.Principal.SecurityIdentifier]::new('S-1-5-32-544')).Translate([System.Security.Principal.NTAccount]).Value
                $users = ([System.Security.Principal.SecurityIdentifier]::new('S-1-5-32-545')).Translate([System.Security.Principal.NTAccount]).Value
                $null = New-SmbShare -Name $share.name -Path $share.path -EncryptData ([bool]$share.encrypt_data) -FullAccess $admins -ReadAccess $users -ErrorAction Stop
            }
        }
        elseif ($null -ne $share.encrypt_data) {
            Invoke-Step -Name "set share $($share.name) EncryptData=$($share.encrypt_data)" -Action {
                Set-SmbShare -Name $share.name -EncryptData ([bool]$share.encrypt_data) -Force -ErrorAction Stop
            }
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
        if ($module.CheckMode) {
            $module.Result.changed = $true
            $module.ExitJson()
        }
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
        $module.Result.changed = $true
    }
}

$module.ExitJson()
