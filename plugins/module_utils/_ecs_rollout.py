# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decisions of the virtio rollout through the ECS API (for internal collection use only).

With ``virtio_transport: ecs_api`` every step of a batch goes through Cloud Assistant and the ECS
API; ``plugin_utils._ecs_rollout`` drives the calls. What it decides lives here, pure and
unit-tested:

* which install sources work without a connection to the host, and the command each one runs
  (``install_command``): a script the host downloads from ``script_url``, an offline package it
  downloads from ``package_url`` (``_ecs_package_script``), the Cloud Assistant
  plug-in ``UpdateVirtIo``, Alibaba's common command, or your own content;
* what a probed host needs, by the same ``_virtio_install.decide`` as the WinRM path
  (``decision_record``);
* the ``virtio_update_result`` and ``reboot_verify_result`` each host publishes, in the shape the
  WinRM roles publish, so ``_rollout_report`` turns them into the same rows (``update_record``,
  ``verify_record``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ansible_collections.winfleet.updates.plugins.module_utils._ecs_cloud_assistant import (
    VIRTIO_COMMON_COMMAND,
    VIRTIO_PLUGIN_CONTENT,
)
from ansible_collections.winfleet.updates.plugins.module_utils._ecs_package_script import package_script
from ansible_collections.winfleet.updates.plugins.module_utils._ecs_ps2 import TRUSTED_FOLDER_FUNCTIONS, fill_template
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._strings import redact_url
from ansible_collections.winfleet.updates.plugins.module_utils._virtio_install import HostStatus, decide, validate_source

TRANSPORTS: tuple[str, ...] = ("winrm", "ecs_api")
#: Snapshot providers the API path runs itself (``custom`` runs your tasks on the host's play).
ECS_SNAPSHOT_PROVIDERS: tuple[str, ...] = ("none", "alicloud_ecs")

# Without a rollout id there is no install invocation to find again (module_utils._ecs_install_runs
# builds the host's last run from Cloud Assistant's record when there is one), so decide() sees none.
_NO_RECORD = HostStatus(boot_time=0, last_run=None, cloud_assistant_agent="running")

_SCRIPT_TEMPLATE = r"""# winfleet.updates virtio install from a URL: PowerShell 2.0 language and cmdlets only
$ErrorActionPreference = 'Stop'
$url = '__URL__'
$expected = '__SHA256__'
$dir = Join-Path -Path $env:ProgramData -ChildPath 'winfleet\virtio_install'
__FOLDER_FUNCTIONS__
# SYSTEM runs what lands here: a folder another account created first could swap it after the check
try { Initialize-TrustedFolder $dir } catch { Write-Output ('the download folder is not safe to run from as SYSTEM: ' + $_.Exception.Message); exit 5 }
$path = Join-Path -Path $dir -ChildPath 'InstallVirtIo.ps1'
try { [Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor 3072 } catch { }
(New-Object System.Net.WebClient).DownloadFile($url, $path)
if ($expected) {
    $sha = [System.Security.Cryptography.SHA256]::Create()
    $stream = [System.IO.File]::OpenRead($path)
    try { $actual = [BitConverter]::ToString($sha.ComputeHash($stream)).Replace('-', '') } finally { $stream.Close() }
    if ($actual -ne $expected) { Write-Output ('SHA-256 mismatch: got ' + $actual + ', expected ' + $expected); exit 2 }
}
& powershell.exe -NoProfile -ExecutionPolicy Bypass -File $path
exit $LASTEXITCODE
"""


@dataclass(frozen=True)
class InstallCommand:
    """What the install step runs: inline PowerShell (RunCommand) or a saved/common command (InvokeCommand)."""

    content: str | None
    command_id: str | None
    description: str


def install_command(
    source: Any,
    *,
    script_src: Any = None,
    script_url: Any = None,
    script_checksum: Any = None,
    package_src: Any = None,
    api_command_id: Any = None,
    api_content: Any = None,
    package_url: Any = None,
    package_checksum: Any = None,
) -> InstallCommand:
    """The install command for ``source`` on a host reached only through Cloud Assistant.

    A controller path (``script_src``, ``package_src``) cannot be pushed without a connection to
    the host, so it is refused here, naming the option, before any API call.
    """
    if source == "package":
        for name, value in (("script_src", script_src), ("script_url", script_url), ("script_checksum", script_checksum)):
            if value not in (None, ""):
                raise InputError(name, f"is only used with source=script, but source={source}")
        return _package_command(package_src, package_url, package_checksum)
    for name, value in (("package_url", package_url), ("package_checksum", package_checksum)):
        if value not in (None, ""):
            raise InputError(name, f"is only used with source=package, but source={source}")
    if source == "script" and script_src:
        raise InputError(
            "script_src",
            "a controller path is pushed over WinRM, which transport=ecs_api does not use; put InstallVirtIo.ps1 "
            "where the instances can download it and give script_url (with script_checksum)",
        )
    base = "cloud_assistant" if source == "cloud_assistant_api" else source
    checked = validate_source(base, script_src=script_src or None, script_url=script_url or None,
                              script_checksum=script_checksum or None, package_src=package_src or None)
    if source == "script":
        url = str(checked.script_url)
        script = fill_template(_SCRIPT_TEMPLATE, {
            "__FOLDER_FUNCTIONS__": TRUSTED_FOLDER_FUNCTIONS.rstrip(), "__URL__": url.replace("'", "''"),
            "__SHA256__": (checked.script_checksum or "").upper()})
        return InstallCommand(script, None, checked.describe())
    if source == "cloud_assistant":
        return InstallCommand(VIRTIO_PLUGIN_CONTENT, None, "Cloud Assistant plug-in UpdateVirtIo")
    if api_content:
        return InstallCommand(str(api_content), None, "your Cloud Assistant command content")
    command_id = str(api_command_id or VIRTIO_COMMON_COMMAND)
    return InstallCommand(None, command_id, f"Cloud Assistant command {command_id}")


def _package_command(package_src: Any, package_url: Any, package_checksum: Any) -> InstallCommand:
    """source=package through the API: the instance downloads the package from ``package_url``."""
    if package_src not in (None, ""):
        raise InputError(
            "package_src",
            "an offline package is pushed from the controller over WinRM, which transport=ecs_api does not use; "
            "put the package where the instances can download it and give package_url with package_checksum, "
            "or use source=script with script_url, source=cloud_assistant (the UpdateVirtIo plug-in) or "
            "source=cloud_assistant_api (the common command)",
        )
    if package_url in (None, ""):
        raise InputError(
            "package_url",
            "source=package through the ECS API needs package_url: an http(s) URL the instances download the "
            "offline package (.zip) from, with package_checksum (its SHA-256)",
        )
    content = package_script(package_url, package_checksum)
    return InstallCommand(content, None, f"offline package {redact_url(package_url)} (downloaded by the instance, "
                                         "SHA-256 checked)")


def decision_record(probe: Mapping[str, Any], status: HostStatus | None = None, rollout_id: str | None = None,
                    ) -> dict[str, Any]:
    """What a host needs from its probe result (``_ecs_audit.host_result``): the same decide() as WinRM.

    ``status`` is the host's last install of ``rollout_id`` as Cloud Assistant recorded it
    (``_ecs_install_runs.host_status``): an install still running is attached to, a finished one
    only needs the reboot, one that took effect is ``updated``, as over WinRM.
    """
    base = {"ecs_instance_id": probe.get("ecs_instance_id")}
    if probe.get("unreachable") or probe.get("failed"):
        return {**base, "decision": None, "decision_msg": None, "build_before": None, "version_before": None,
                "unreachable": bool(probe.get("unreachable")), "error": str(probe.get("msg") or "the probe failed")}
    decision = decide(probe, status or _NO_RECORD, rollout_id or None)
    run = (status or _NO_RECORD).last_run
    earlier = {"invoke_id": run.run_id} if run is not None and decision.action in ("attach", "reboot_pending") else {}
    done = {"build_after": probe.get("virtio_build"), "version_after": probe.get("file_version")} \
        if decision.action == "updated" else {}
    return {**base, "decision": decision.action, "decision_msg": decision.msg,
            "build_before": None if decision.action == "updated" else probe.get("virtio_build"),
            "version_before": None if decision.action == "updated" else probe.get("file_version"),
            "missing_capabilities": list(probe.get("missing_capabilities") or []), "unreachable": False, "error": None,
            **earlier, **done}


def update_record(
    decided: Mapping[str, Any],
    *,
    source: str,
    snapshot_provider: str,
    antivirus_services: Sequence[str],
    check_mode: bool,
    snapshot_ids: Sequence[str] = (),
    antivirus_paused: Sequence[str] = (),
    antivirus_error: str | None = None,
    install: Mapping[str, Any] | None = None,
    unreachable: bool = False,
    error: str | None = None,
) -> dict[str, Any]:
    """``virtio_update_result`` as the virtio_update role publishes it over WinRM."""
    decision = decided.get("decision")
    installed = bool(install and install.get("succeeded"))
    return {
        "decision": decision,
        "source": source,
        "transport": "ecs_api",
        "snapshot_provider": snapshot_provider,
        "antivirus_services": list(antivirus_services),
        "decision_msg": decided.get("decision_msg"),
        "build_before": decided.get("build_before"),
        "version_before": decided.get("version_before"),
        # an interrupted run of this rollout updated the host (decision "updated"): what it runs now
        "build_after": decided.get("build_after"),
        "snapshot_ids": list(snapshot_ids),
        "antivirus_paused": [] if check_mode else list(antivirus_paused),
        "antivirus_error": antivirus_error,
        "antivirus_left_paused": [],
        "install": dict(install or {}),
        "reboot_required": installed and not check_mode,
        "unreachable": bool(decided.get("unreachable") or unreachable),
        "error": decided.get("error") or error,
    }


def verify_record(
    probe: Mapping[str, Any] | None,
    *,
    rebooted: bool,
    check_mode: bool,
    unreachable: bool = False,
    error: str | None = None,
    snapshots_deleted: Sequence[str] = (),
) -> dict[str, Any]:
    """``reboot_verify_result`` as the reboot_verify role publishes it, from the probe after the reboot."""
    probe = probe or {}
    readable = bool(probe) and not probe.get("failed") and not probe.get("unreachable")
    verified = (readable and bool(probe.get("is_virtio_guest")) and not probe.get("missing_capabilities"))
    return {
        "rebooted": rebooted and not check_mode,
        "reboot_elapsed_s": None,
        "build_after": probe.get("virtio_build") if readable else None,
        "version_after": probe.get("file_version") if readable else None,
        "capabilities": dict(probe.get("capabilities") or {}) if readable else {},
        "missing_capabilities": list(probe.get("missing_capabilities") or []) if readable else [],
        "snapshots_deleted": list(snapshots_deleted),
        "snapshots_kept": [],
        "snapshot_cleanup_error": None,
        "verified": None if check_mode else verified,
        "unreachable": unreachable or bool(probe.get("unreachable")),
        "error": error,
    }


def verification_error(host: str, probe: Mapping[str, Any]) -> str | None:
    """Why the probe after the reboot does not confirm the update (None: it does)."""
    if probe.get("unreachable") or probe.get("failed"):
        return f"{host}: the probe after the reboot did not answer: {probe.get('msg')}"
    missing = list(probe.get("missing_capabilities") or [])
    if not probe.get("is_virtio_guest") or missing:
        return (f"verification failed: after the reboot viostor.sys is {probe.get('file_version')} "
                f"(build {probe.get('virtio_build')}), which still lacks {', '.join(missing) or 'the virtio driver'}: "
                "the installer did not deliver the required driver. Install a newer script, or roll back "
                "from the snapshot if the host misbehaves.")
    return None
