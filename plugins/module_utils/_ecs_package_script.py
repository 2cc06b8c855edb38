# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The offline virtio package installed from a URL by a Cloud Assistant script (for internal collection use only).

Over WinRM the rollout pushes ``virtio_package_src`` from the controller; through the ECS API
nothing can be pushed, so the instance downloads the package itself from ``package_url`` (an OSS
bucket, a mirror in the VPC) and installs it the way ``virtio_install.ps1`` installs a pushed one
(Alibaba Cloud's offline path of
https://www.alibabacloud.com/help/en/ecs/user-guide/update-the-virtio-driver-of-a-windows-instance:
unpack, pick the folder for the Windows version, install every ``.inf`` with pnputil, restart).

The script is PowerShell 2.0 (Windows Server 2008 R2's), JSON written by hand:

1. download with ``System.Net.WebClient.DownloadFile``
   (https://learn.microsoft.com/dotnet/api/system.net.webclient.downloadfile) into a new folder
   under ``%ProgramData%\\winfleet\\virtio_install`` that only SYSTEM and Administrators may
   change; a failure reports ``WebException.Status`` and the HTTP status, never the URL (a signed
   URL carries its token);
2. refuse the file unless its SHA-256 (``System.Security.Cryptography.SHA256``,
   https://learn.microsoft.com/dotnet/api/system.security.cryptography.sha256) is
   ``package_checksum``, before anything else is touched;
3. unpack it with ``System.IO.Compression.ZipFile`` where .NET 4.5 is there, else with the
   Windows shell's zip folder (``Shell.Application`` ``Folder.CopyHere``,
   https://learn.microsoft.com/windows/win32/shell/folder-copyhere), which PowerShell 2.0 on 2008 R2 has;
   the shell copies in the background, so the script waits (at most 300 s) until the unpacked
   folder holds as many files as the archive lists;
4. pick ``<os folder>\\<amd64|x86>``, ``<os folder>`` or the package root, as the WinRM path does
   (``_virtio_install.package_os_folder``), and run pnputil once per ``.inf``: ``/add-driver
   <inf> /install`` from build 14393, ``-i -a <inf>`` before
   (https://learn.microsoft.com/windows-hardware/drivers/devtest/pnputil-command-syntax), each
   judged by pnputil's return values (0, 3010, and 259 = nothing to update,
   https://learn.microsoft.com/windows-hardware/drivers/devtest/pnputil-return-values).

It prints one line ``WINFLEET-VIRTIO-PACKAGE {json}`` (``step``, ``error``, ``infs``) and exits
0 when every INF succeeded (a pending restart included: the rollout restarts the instance next),
else with the failing code, so Cloud Assistant reports the invocation Failed.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse

from ansible_collections.winfleet.updates.plugins.module_utils._ecs_probe_script import read_result_line
from ansible_collections.winfleet.updates.plugins.module_utils._ecs_ps2 import JSON_STRING_FUNCTION, TRUSTED_FOLDER_FUNCTIONS, fill_template
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._strings import redact_url
from ansible_collections.winfleet.updates.plugins.module_utils._virtio_install import _PACKAGE_OS_FOLDERS

MARKER = "WINFLEET-VIRTIO-PACKAGE "
_SHA256_RE = re.compile(r"[0-9a-fA-F]{64}")  # with fullmatch

_TEMPLATE = r"""# winfleet.updates virtio offline package from a URL: PowerShell 2.0 language and cmdlets only, JSON written by hand
$ErrorActionPreference = 'Stop'
$url = '__URL__'
$expected = '__SHA256__'
$folders = @{ __FOLDERS__ }
__JSON__
__FOLDER_FUNCTIONS__
function Get-ZipFileCount($Folder) {
    # files (not folders) below a Shell folder, the zip's own listing included
    $count = 0
    foreach ($item in $Folder.Items()) {
        if ($item.IsFolder) { $count += Get-ZipFileCount $item.GetFolder } else { $count += 1 }
    }
    $count
}
function Write-Outcome([string]$Step, $Message, [string]$Infs, [int]$Code) {
    Write-Output ('__MARKER__{"step":' + (Format-JsonString $Step) + ',"error":' + (Format-JsonString $Message) + ',"infs":' + $Infs + '}')
    exit $Code
}
$shown = 'the package URL'
$uri = $null
if ([System.Uri]::TryCreate($url, [System.UriKind]::Absolute, [ref]$uri)) { $shown = $uri.Scheme + '://' + $uri.Authority + '/...' }
$state = Join-Path -Path $env:ProgramData -ChildPath 'winfleet\virtio_install'
$work = Join-Path -Path $state -ChildPath ('package-' + [guid]::NewGuid().ToString('N'))
try {
    Initialize-TrustedFolder $state
    Initialize-TrustedFolder $work
}
catch { Write-Outcome 'prepare' ('the state folder is not safe to install from as SYSTEM: ' + $_.Exception.Message) '[]' 5 }
$archive = Join-Path -Path $work -ChildPath 'package.zip'
$unpacked = Join-Path -Path $work -ChildPath 'package'
try {
    try { [Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor 3072 } catch { }
    try { (New-Object System.Net.WebClient).DownloadFile($url, $archive) }
    catch {
        $err = $_.Exception
        while ($null -ne $err.InnerException -and -not ($err -is [System.Net.WebException])) { $err = $err.InnerException }
        $detail = $err.GetType().Name
        if ($err -is [System.Net.WebException]) {
            $detail = $detail + ' ' + $err.Status
            if ($null -ne $err.Response) { $detail = $detail + ', HTTP ' + [int]$err.Response.StatusCode }
        }
        Write-Outcome 'download' ('cannot download the package from ' + $shown + ' (' + $detail + '); nothing was installed') '[]' 3
    }
    $sha = [System.Security.Cryptography.SHA256]::Create()
    $stream = [System.IO.File]::OpenRead($archive)
    try { $actual = [BitConverter]::ToString($sha.ComputeHash($stream)).Replace('-', '') } finally { $stream.Close() }
    if ($actual -ne $expected) {
        $problem = 'the package downloaded from ' + $shown + ' has SHA-256 ' + $actual + ', expected ' + $expected
        Write-Outcome 'checksum' ($problem + '; nothing was installed') '[]' 2
    }
    [void][System.IO.Directory]::CreateDirectory($unpacked)
    $done = $false
    try {
        Add-Type -AssemblyName System.IO.Compression.FileSystem -ErrorAction Stop
        [System.IO.Compression.ZipFile]::ExtractToDirectory($archive, $unpacked)
        $done = $true
    }
    catch { }
    if (-not $done) {
        try {
            $shell = New-Object -ComObject Shell.Application
            # 4 no progress, 16 yes to all, 512 no folder confirmation, 1024 no error dialog
            $shell.NameSpace($unpacked).CopyHere($shell.NameSpace($archive).Items(), 1556)
        }
        catch { Write-Outcome 'unpack' ('cannot unpack the package: ' + $_.Exception.Message + '; nothing was installed') '[]' 4 }
        # CopyHere from a zip folder returns before the copy is done: wait until every file is there
        $files = Get-ZipFileCount $shell.NameSpace($archive)
        $deadline = (Get-Date).AddSeconds(300)
        while (@(Get-ChildItem -LiteralPath $unpacked -Recurse | Where-Object { -not $_.PSIsContainer }).Count -lt $files) {
            if ((Get-Date) -gt $deadline) {
                Write-Outcome 'unpack' ('the package was not unpacked within 300 s (' + $files + ' files expected); nothing was installed') '[]' 4
            }
            Start-Sleep -Milliseconds 500
        }
    }
    $version = [System.Environment]::OSVersion.Version
    $key = [string]$version.Major + '.' + [string]$version.Minor
    $architecture = 'x86'
    if ($env:PROCESSOR_ARCHITECTURE -eq 'AMD64' -or $env:PROCESSOR_ARCHITEW6432 -eq 'AMD64') { $architecture = 'amd64' }
    $candidates = @()
    if ($folders.ContainsKey($key)) {
        $osDir = Join-Path -Path $unpacked -ChildPath $folders[$key]
        $candidates += (Join-Path -Path $osDir -ChildPath $architecture)
        $candidates += $osDir
    }
    $candidates += $unpacked
    $infDir = $null
    foreach ($candidate in $candidates) {
        if ((Test-Path -LiteralPath $candidate -PathType Container) -and @(Get-ChildItem -LiteralPath $candidate -Filter '*.inf').Count -gt 0) {
            $infDir = $candidate
            break
        }
    }
    if ($null -eq $infDir) {
        $problem = 'the package has no .inf files for Windows NT ' + $key + ' (' + $architecture + ') nor at its root'
        Write-Outcome 'unpack' ($problem + '; use the package that matches this Windows version; nothing was installed') '[]' 4
    }
    # a 32-bit PowerShell on 64-bit Windows sees SysWOW64 as System32: Sysnative is the real one
    # https://learn.microsoft.com/windows/win32/winprog64/file-system-redirector
    $pnputil = Join-Path -Path $env:SystemRoot -ChildPath 'Sysnative\pnputil.exe'
    if (-not (Test-Path -LiteralPath $pnputil)) { $pnputil = Join-Path -Path $env:SystemRoot -ChildPath 'System32\pnputil.exe' }
    $entries = @()
    $failure = 0
    # pnputil's own messages go to the invocation's output untouched; with 'Stop', stderr redirected
    # from a native program would stop the script (NativeCommandError)
    $ErrorActionPreference = 'Continue'
    $restart = $false
    foreach ($inf in @(Get-ChildItem -LiteralPath $infDir -Filter '*.inf' | Sort-Object -Property Name)) {
        if ($version.Build -ge 14393) { $arguments = @('/add-driver', $inf.FullName, '/install') } else { $arguments = @('-i', '-a', $inf.FullName) }
        $null = & $pnputil $arguments
        $code = [int]$LASTEXITCODE
        if ($code -eq 3010) { $restart = $true }
        elseif ($code -ne 0 -and $code -ne 259 -and $failure -eq 0) { $failure = $code }
        $command = 'pnputil.exe ' + [string]::Join(' ', [string[]]$arguments)
        $entries += ('{"inf":' + (Format-JsonString $inf.FullName) + ',"exit_code":' + $code + ',"command":' + (Format-JsonString $command) + '}')
    }
    $infs = '[' + [string]::Join(',', [string[]]$entries) + ']'
    if ($failure -ne 0) { Write-Outcome 'install' ('pnputil failed with exit code ' + $failure + ' for at least one .inf of the package') $infs $failure }
    Write-Outcome 'install' $null $infs 0
}
finally {
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}
"""


def validate_package_url(package_url: Any, package_checksum: Any) -> tuple[str, str]:
    """The URL and the upper-case SHA-256 of a package the instance downloads; refused before any call.

    The checksum is required: the package is installed as SYSTEM, and the checksum is what makes
    the instance refuse a changed or truncated download. With it, plain http is accepted as for
    ``script_url`` (the digest protects the content; https also keeps the URL's token private).
    Messages never repeat the URL: a signed URL carries its token in it.
    """
    parsed = urlparse(str(package_url))
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise InputError(
            "package_url",
            "expected an http or https URL of the offline package (.zip) such as "
            f"'https://bucket.oss-cn-hangzhou-internal.aliyuncs.com/virtio.zip', got a value starting {redact_url(package_url)!r}",
        )
    if package_checksum in (None, ""):
        raise InputError(
            "package_checksum",
            "package_url needs package_checksum: the package's SHA-256 (64 hexadecimal digits, e.g. from "
            "sha256sum or Get-FileHash), which the instance checks before it installs anything",
        )
    if not isinstance(package_checksum, str) or not _SHA256_RE.fullmatch(package_checksum.strip()):
        raise InputError(
            "package_checksum",
            f"expected a SHA-256 digest of 64 hexadecimal digits, got {package_checksum!r}",
        )
    return str(package_url), package_checksum.strip().upper()


def package_script(package_url: Any, package_checksum: Any) -> str:
    """The RunCommand content that downloads, checks and installs the package."""
    url, checksum = validate_package_url(package_url, package_checksum)
    folders = "; ".join(f"'{major}.{minor}' = '{name}'" for (major, minor), name in _PACKAGE_OS_FOLDERS.items())
    return fill_template(_TEMPLATE, {
        "__URL__": url.replace("'", "''"), "__SHA256__": checksum, "__FOLDERS__": folders,
        "__JSON__": JSON_STRING_FUNCTION.rstrip(), "__FOLDER_FUNCTIONS__": TRUSTED_FOLDER_FUNCTIONS.rstrip(),
        "__MARKER__": MARKER})


def parse_package_output(output: str) -> dict[str, Any] | None:
    """``{"step", "error", "infs"}`` from the script's result line; None when it printed none (killed, timed out)."""
    if MARKER.strip() not in (output or ""):
        return None
    try:
        raw = read_result_line(output, MARKER, "package_output", "the package install script")
    except InputError:
        return None
    if not isinstance(raw, dict):
        return None
    infs = raw.get("infs") if isinstance(raw.get("infs"), list) else []
    error = raw.get("error")
    return {"step": str(raw.get("step") or ""), "error": str(error) if error else None,
            "infs": [i for i in infs if isinstance(i, dict)]}
