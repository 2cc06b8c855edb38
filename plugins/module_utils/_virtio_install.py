# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decisions of the virtio driver install (for internal collection use only).

``winfleet.updates.virtio_install`` runs the vendor installer detached on the host and polls it
from the controller. Everything it decides lives here, as pure functions over what the host
reported, so that every rule is unit-tested without a host:

* which source options make sense together (``validate_source``);
* what a host needs right now: nothing, a refusal, a reboot that finishes an earlier install,
  waiting for an install an earlier run started, or a new install (``decide``);
* how to read the host's report of its last install run (``parse_host_status``);
* which folder of an offline package matches the host's Windows version
  (``package_os_folder``, ``package_driver_dir``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping
from urllib.parse import urlparse

from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._progress import printable
from ansible_collections.winfleet.updates.plugins.module_utils._strings import redact_url

__all__ = [
    "DECISIONS",
    "REFUSALS",
    "SOURCES",
    "SUCCESS_EXIT_CODES",
    "Decision",
    "HostStatus",
    "InstallSource",
    "LastRun",
    "Timeouts",
    "decide",
    "updated_by_rollout",
    "package_driver_dir",
    "package_os_folder",
    "parse_host_status",
    "run_succeeded",
    "failed_infs",
    "InfResult",
    "PNPUTIL_OUTCOMES",
    "RECONNECTING_PHASE",
    "install_phase",
    "same_boot",
    "redact_url",
    "source_problem",
    "validate_source",
    "validate_timeouts",
]

# The three install paths of Alibaba Cloud's "Update the virtio driver of a Windows instance"
# (https://www.alibabacloud.com/help/en/ecs/user-guide/update-the-virtio-driver-of-a-windows-instance):
# the InstallVirtIo.ps1 script,
# an offline package, or the Cloud Assistant plug-in UpdateVirtIo.
SOURCES: tuple[str, ...] = ("script", "package", "cloud_assistant")

# What the install does on a host. ``attach`` waits for an install an earlier (interrupted) run
# started; ``reboot_pending`` means an install finished but the host has not restarted since;
# ``updated`` means an install of the same rollout finished, the host restarted since and now runs
# the new build (the run that did it was interrupted before it could report it).
DECISIONS: tuple[str, ...] = (
    "install", "attach", "reboot_pending", "updated", "compliant", "unsupported", "not_virtio"
)
# Decisions that refuse the host: the update cannot or need not be done there.
REFUSALS: frozenset[str] = frozenset({"unsupported", "not_virtio"})

# 0 = success, 3010 = success, restart required, 1641 = success, the installer started the restart
# (ERROR_SUCCESS_REBOOT_REQUIRED / ERROR_SUCCESS_REBOOT_INITIATED, the Windows Installer convention
# pnputil follows: https://learn.microsoft.com/en-us/windows/win32/msi/error-codes).
SUCCESS_EXIT_CODES: frozenset[int] = frozenset({0, 3010, 1641})

# pnputil's return values for one INF (an offline package is installed one INF at a time):
# https://learn.microsoft.com/windows-hardware/drivers/devtest/pnputil-return-values
# 259 (ERROR_NO_MORE_ITEMS) means no device matched the INF or an equal or better driver is already
# installed: the package was staged and there was nothing to update, which is not a failure.
PNPUTIL_OUTCOMES: Mapping[int, str] = {0: "installed", 3010: "reboot_required", 259: "not_applicable"}

# Offline package folders per Windows NT version (DOMAIN.md section 3: win10 for 2016/2019,
# Win8 for 2012 / 2012 R2, win7 for 2008 R2; the older instdrv package had Wlh for 2008).
_PACKAGE_OS_FOLDERS: Mapping[tuple[int, int], str] = {
    (10, 0): "win10",
    (6, 3): "Win8",
    (6, 2): "Win8",
    (6, 1): "win7",
    (6, 0): "Wlh",
}
_SHA256_RE = re.compile(r"[0-9a-fA-F]{64}")  # with fullmatch
# not_started: the scheduled task never ran the worker (Task Scheduler or policy refused it)
_RUN_STATES = ("running", "finished", "lost", "not_started")


@dataclass(frozen=True)
class InstallSource:
    """Where the installer comes from; exactly the options that ``source`` uses are set."""

    source: str
    script_src: str | None = None
    script_url: str | None = None
    script_checksum: str | None = None
    package_src: str | None = None

    def describe(self) -> str:
        """A few words for messages: ``script InstallVirtIo.ps1 (pushed from the controller)``."""
        if self.source == "script":
            return (
                f"script {redact_url(self.script_url)}"
                if self.script_url
                else f"script {self.script_src} (pushed from the controller)"
            )
        if self.source == "package":
            return f"offline package {self.package_src} (pushed from the controller)"
        return "Cloud Assistant plug-in UpdateVirtIo"


@dataclass(frozen=True)
class Timeouts:
    """How long the controller waits for the install, between polls, and for a dropped connection."""

    install: float
    poll_interval: float
    reconnect: float


@dataclass(frozen=True)
class InfResult:
    """What pnputil answered for one INF of an offline package."""

    inf: str
    exit_code: int
    command: str

    @property
    def outcome(self) -> str:
        """installed, reboot_required, not_applicable (259) or failed, by pnputil's return values."""
        return PNPUTIL_OUTCOMES.get(self.exit_code, "failed")

    def as_dict(self) -> dict[str, Any]:
        return {"inf": self.inf, "exit_code": self.exit_code, "command": self.command, "outcome": self.outcome}


@dataclass(frozen=True)
class LastRun:
    """The host's record of the most recent install this collection started there."""

    run_id: str
    state: str  # running | finished | lost (the worker vanished without a result) | not_started
    source: str | None
    exit_code: int | None
    boot_time: int | None  # LastBootUpTime (FileTime) when the install finished
    log_excerpt: str
    log_path: str | None
    infs: tuple[InfResult, ...] = ()  # an offline package: pnputil's answer per INF
    # The host's own record of what the run was for (written with run.json when it was started):
    rollout_id: str | None = None
    version_before: str | None = None
    build_before: int | None = None
    finished: str | None = None  # when the installer ended (ISO 8601 UTC), from result.json


@dataclass(frozen=True)
class HostStatus:
    """What ``virtio_install.ps1 _operation=poll`` reported."""

    boot_time: int
    last_run: LastRun | None
    cloud_assistant_agent: str | None


@dataclass(frozen=True)
class Decision:
    """What the install does on this host, and the sentence that explains it."""

    action: str
    msg: str
    reboot_required: bool

    @property
    def changes_host(self) -> bool:
        return self.action in ("install", "attach")


def validate_source(
    source: Any,
    script_src: Any = None,
    script_url: Any = None,
    script_checksum: Any = None,
    package_src: Any = None,
) -> InstallSource:
    """Check that the options given fit the chosen source, before any host is contacted.

    An option that belongs to another source is an error rather than silently ignored: an operator
    who passed ``package_src`` with ``source=script`` almost certainly meant ``source=package``.
    """
    if source not in SOURCES:
        raise InputError("source", f"unknown install source {source!r}; valid: {', '.join(SOURCES)}")
    given = {
        "script_src": script_src,
        "script_url": script_url,
        "script_checksum": script_checksum,
        "package_src": package_src,
    }
    allowed = {
        "script": {"script_src", "script_url", "script_checksum"},
        "package": {"package_src"},
        "cloud_assistant": set(),
    }[source]
    for name, value in given.items():
        if value not in (None, "") and name not in allowed:
            owner = "script" if name.startswith("script_") else "package"
            raise InputError(name, f"is only used with source={owner}, but source={source}")
    values = {name: (value if value not in (None, "") else None) for name, value in given.items()}
    if source == "script":
        if (values["script_src"] is None) == (values["script_url"] is None):
            raise InputError(
                "script_src",
                "source=script needs exactly one of script_src (a controller path to InstallVirtIo.ps1) "
                "or script_url (an http or https URL the host downloads it from)",
            )
        if values["script_url"] is not None:
            _check_url(values["script_url"], has_checksum=values["script_checksum"] is not None)
        if values["script_checksum"] is not None and not _SHA256_RE.fullmatch(str(values["script_checksum"])):
            raise InputError(
                "script_checksum",
                f"expected a SHA-256 digest of 64 hexadecimal digits, got {script_checksum!r}",
            )
    if source == "package" and values["package_src"] is None:
        raise InputError(
            "package_src",
            "source=package needs package_src: a controller path to the offline "
            "package, a .zip archive or an unpacked directory",
        )
    checksum = values["script_checksum"]
    return InstallSource(
        source=source,
        script_src=values["script_src"],
        script_url=values["script_url"],
        script_checksum=checksum.lower() if isinstance(checksum, str) else None,
        package_src=values["package_src"],
    )


def _check_url(url: Any, has_checksum: bool) -> None:
    """An http(s) URL; plain http only with a checksum, since nothing else protects the download.

    Messages never repeat the URL: a signed URL (an OSS presigned URL) carries its token in it.
    """
    parsed = urlparse(str(url))
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise InputError(
            "script_url",
            "expected an http or https URL such as 'https://example.com/InstallVirtIo.ps1', "
            f"got a value starting {redact_url(url)!r}",
        )
    if parsed.scheme == "http" and not has_checksum:
        raise InputError(
            "script_url",
            f"{redact_url(url)} is plain http: use https, or give script_checksum (the script's SHA-256) "
            "so that a changed download is refused",
        )


def validate_timeouts(install_timeout: Any, poll_interval: Any, reconnect_timeout: Any) -> Timeouts:
    """Timeouts are seconds; each must be positive so that the wait is bounded and makes progress."""
    values = {}
    for field, value in (
        ("install_timeout", install_timeout),
        ("poll_interval", poll_interval),
        ("reconnect_timeout", reconnect_timeout),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise InputError(field, f"expected a number of seconds greater than 0, got {value!r}")
        values[field] = float(value)
    if values["poll_interval"] > values["install_timeout"]:
        raise InputError(
            "poll_interval", f"must not exceed install_timeout ({install_timeout}), got {poll_interval!r}"
        )
    return Timeouts(
        install=values["install_timeout"],
        poll_interval=values["poll_interval"],
        reconnect=values["reconnect_timeout"],
    )


def _int_field(raw: Mapping[str, Any], key: str, field: str, optional: bool = True) -> int | None:
    value = raw.get(key)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(field, f"expected an integer, got {value!r}")
    return value


def _text_field(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    return str(value) if value not in (None, "") else None


def _parse_infs(raw: Any) -> tuple[InfResult, ...]:
    """The per-INF list of a package run (absent for the script and Cloud Assistant sources)."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InputError("run.infs", f"expected a list or null, got {raw!r}")
    infs = []
    for index, entry in enumerate(raw):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("inf"), str):
            raise InputError(f"run.infs[{index}]", f"expected a mapping with inf and exit_code, got {entry!r}")
        code = _int_field(entry, "exit_code", f"run.infs[{index}].exit_code", optional=False)
        infs.append(InfResult(entry["inf"], code, str(entry.get("command") or "")))  # type: ignore[arg-type]
    return tuple(infs)


def parse_host_status(raw: Mapping[str, Any]) -> HostStatus:
    """Read the poll answer of ``virtio_install.ps1``; a malformed answer names its field."""
    boot_time = _int_field(raw, "boot_time", "boot_time", optional=False)
    run_raw = raw.get("run")
    last_run = None
    if run_raw is not None:
        if not isinstance(run_raw, Mapping):
            raise InputError("run", f"expected a mapping or null, got {run_raw!r}")
        state = run_raw.get("state")
        if state not in _RUN_STATES:
            raise InputError("run.state", f"expected one of {', '.join(_RUN_STATES)}, got {state!r}")
        run_id = run_raw.get("run_id")
        if not isinstance(run_id, str) or not run_id:
            raise InputError("run.run_id", f"expected a run id, got {run_id!r}")
        last_run = LastRun(
            run_id=run_id,
            state=state,
            source=run_raw.get("source"),
            exit_code=_int_field(run_raw, "exit_code", "run.exit_code"),
            boot_time=_int_field(run_raw, "boot_time", "run.boot_time"),
            log_excerpt=str(run_raw.get("log_excerpt") or ""),
            log_path=run_raw.get("log_path"),
            infs=_parse_infs(run_raw.get("infs")),
            rollout_id=_text_field(run_raw, "rollout_id"),
            version_before=_text_field(run_raw, "version_before"),
            build_before=_int_field(run_raw, "build_before", "run.build_before"),
            finished=_text_field(run_raw, "finished"),
        )
    agent = raw.get("cloud_assistant_agent")
    return HostStatus(
        boot_time=boot_time,
        last_run=last_run,  # type: ignore[arg-type]
        cloud_assistant_agent=agent if isinstance(agent, str) and agent else None,
    )


# Win32_OperatingSystem.LastBootUpTime is computed from the clock and the time since boot, so two
# reads within one boot differ by sub-milliseconds (GetTickCount64's resolution is 10-16 ms:
# https://learn.microsoft.com/windows/win32/api/sysinfoapi/nf-sysinfoapi-gettickcount64). A restart
# moves it by far more than this tolerance (a boot takes longer than that).
BOOT_TIME_TOLERANCE_S = 5
_FILETIME_PER_SECOND = 10_000_000


def same_boot(first: int | None, second: int | None) -> bool:
    """Whether two LastBootUpTime readings (FileTime) belong to the same boot."""
    if first is None or second is None:
        return False
    return abs(first - second) <= BOOT_TIME_TOLERANCE_S * _FILETIME_PER_SECOND


def failed_infs(run: LastRun) -> list[InfResult]:
    """The INFs of a package run that pnputil failed to install."""
    return [inf for inf in run.infs if inf.outcome == "failed"]


def run_succeeded(run: LastRun) -> bool:
    """A finished run whose installer exit code (for a package: every INF's) means success."""
    if run.state != "finished":
        return False
    if run.infs:
        return not failed_infs(run)
    return run.exit_code in SUCCESS_EXIT_CODES


def updated_by_rollout(assessment: Mapping[str, Any], status: HostStatus, rollout_id: str | None) -> bool:
    """Whether the host's last install run belongs to ``rollout_id`` and has taken effect.

    It finished successfully, the host restarted since (another boot time) and the driver now
    allows what is required at a newer build than the run recorded before it: the rollout updated
    this host, even if the run that did it was killed before it could say so.
    """
    run = status.last_run
    build = assessment.get("virtio_build")
    return bool(
        rollout_id
        and run is not None
        and run.rollout_id == rollout_id
        and run_succeeded(run)
        and not same_boot(run.boot_time, status.boot_time)
        and not assessment.get("update_needed")
        and isinstance(build, int)
        and (run.build_before is None or build > run.build_before)
    )


def decide(assessment: Mapping[str, Any], status: HostStatus, rollout_id: str | None = None) -> Decision:
    """What the host needs, from the probe's assessment and the host's last install run.

    Order matters. A refused host is refused whatever else is true. An install still running (the
    controller that started it was interrupted) is waited for, never started twice. An install that
    finished successfully without a reboot since (same boot time) needs only the reboot, even if the
    driver file on disk already shows the new version: the running driver is still the old one.
    An install of this rollout (``rollout_id``) that took effect is ``updated``, so that a re-run
    after a controller killed during the reboot still reports the update. Only then does the
    probe's ``update_needed`` decide.
    """
    build = assessment.get("virtio_build")
    if assessment.get("is_virtio_guest") is None and assessment.get("unsupported_reason"):
        # nothing could be read (Windows PowerShell older than 5.1): refused before anything else
        reason = assessment["unsupported_reason"]
        return Decision("unsupported", f"the virtio driver cannot be updated on this host: {reason}", False)
    if not assessment.get("is_virtio_guest"):
        return Decision(
            "not_virtio",
            "viostor.sys is not present under %SystemRoot%\\System32\\drivers: this host "
            "is not a virtio guest, so there is no virtio driver to update",
            False,
        )
    if not assessment.get("update_supported"):
        reason = assessment.get("unsupported_reason") or "this Windows version is not supported"
        return Decision("unsupported", f"the virtio driver cannot be updated on this host: {reason}", False)
    run = status.last_run
    if run is not None and run.state == "running":
        return Decision(
            "attach",
            f"an install started earlier (run {run.run_id}) is still running; waiting for it "
            "instead of starting another",
            True,
        )
    if run is not None and run_succeeded(run) and same_boot(run.boot_time, status.boot_time):
        return Decision(
            "reboot_pending",
            f"the install of run {run.run_id} finished (exit code {run.exit_code}) and "
            "the host has not restarted since: only the reboot is missing",
            True,
        )
    if run is not None and updated_by_rollout(assessment, status, rollout_id):
        before = f" from {run.version_before}" if run.version_before else ""
        when = f" at {run.finished}" if run.finished else ""
        return Decision(
            "updated",
            f"rollout {rollout_id} updated this host: its install (run {run.run_id}){before} finished{when} "
            f"and the host has restarted since; it now runs build {build}",
            False,
        )
    missing = list(assessment.get("missing_capabilities") or [])
    if not assessment.get("update_needed"):
        return Decision(
            "compliant",
            f"build {build} already allows {', '.join(assessment.get('required_capabilities') or [])}; "
            "nothing to install",
            False,
        )
    earlier = ""
    if run is not None and run.state == "lost":
        earlier = f" (the install of run {run.run_id} stopped without a result; installing again)"
    elif run is not None and run.state == "not_started":
        earlier = f" (the install worker of run {run.run_id} never started; trying again)"
    elif run is not None and run.state == "finished" and not run_succeeded(run):
        earlier = (
            f" (the install of run {run.run_id} failed with exit code {run.exit_code}; installing again)"
        )
    return Decision("install", f"build {build} lacks {', '.join(missing)}{earlier}", True)


def source_problem(source: InstallSource, status: HostStatus) -> str | None:
    """Why the chosen source cannot work on this host, known before anything is started."""
    if source.source == "cloud_assistant" and status.cloud_assistant_agent is None:
        return (
            "the Cloud Assistant agent is not installed on this host (no acs-plugin-manager.exe under "
            "C:\\ProgramData\\aliyun\\assist\\<version>\\); install the agent (1.0.0.137 or later) or use "
            "source=script or source=package"
        )
    return None


def package_os_folder(os_version: str) -> str:
    """The offline package folder for a Windows version such as ``10.0.17763``."""
    parts = str(os_version).split(".")
    try:
        key = (int(parts[0]), int(parts[1]))
    except (IndexError, ValueError):
        raise InputError(
            "os_version", f"expected a Windows version such as '10.0.17763', got {os_version!r}"
        ) from None
    folder = _PACKAGE_OS_FOLDERS.get(key)
    if folder is None:
        known = ", ".join(
            f"{major}.{minor} -> {name}" for (major, minor), name in _PACKAGE_OS_FOLDERS.items()
        )
        raise InputError(
            "os_version",
            f"no offline package folder is known for Windows NT {key[0]}.{key[1]}; known: {known}",
        )
    return folder


def package_driver_dir(names: Iterable[str], os_folder: str) -> str:
    """Which directory of the package holds the ``.inf`` files for ``os_folder``.

    ``names`` are the package's file paths relative to its root, with ``/`` separators (zip member
    names or a walked directory). Returns ``<os_folder>`` (the host then picks ``amd64`` or ``x86``
    below it) or ``""`` for a flat package whose ``.inf`` files sit at the root. Folder names are
    compared case-insensitively, as Windows does. Anything else is an :class:`InputError` that lists
    what the package does contain, so a wrong download is caught on the controller.
    """
    paths = [name.replace("\\", "/").strip("/") for name in names]
    infs = [path.lower() for path in paths if path.lower().endswith(".inf")]
    prefix = os_folder.lower() + "/"
    if any(inf.startswith(prefix) for inf in infs):
        return os_folder
    if any("/" not in inf for inf in infs):
        return ""
    top = sorted({path.split("/", 1)[0] for path in paths if "/" in path})
    found = f"top-level folders: {', '.join(top)}" if top else "no folders"
    raise InputError(
        "package_src",
        f"the package has no .inf files under '{os_folder}' (the folder for this host's Windows version) "
        f"nor at its root; it has {found} and {len(infs)} .inf file(s). Use the package that matches the "
        "host's Windows version",
    )


# What the progress line says while the controller waits for an install (when it is printed is
# module_utils._progress's rule, shared with cau_run).
RECONNECTING_PHASE = (
    "connection lost, reconnecting (installing a network driver resets the network for a few seconds)"
)


def install_phase(run: LastRun | None) -> tuple[str, tuple[str, str]] | None:
    """The progress line's phase for an install in progress and the state that tells a change.

    A running install shows its run id and the last line of its log (what the installer is doing);
    a new log line is a change, so it is printed at once. None once the run ended: the task's
    result says how.
    """
    if run is None or run.state != "running":
        return None
    lines = [line for line in run.log_excerpt.splitlines() if line.strip()]
    last = printable(lines[-1], 120) if lines else ""
    phase = f"install run {run.run_id} running" + (f", log: {last}" if last else "")
    return phase, ("running", last)
