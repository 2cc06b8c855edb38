# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""virtio driver versions, capability gates and probe assessment (for internal collection use only).

Alibaba Cloud ECS Windows guests run the virtio paravirtual drivers. What a guest can do depends
on the *last* number of the storage driver's (``viostor.sys``) version: online disk resize needs
build 58011, the disk serial number query build 58017. This module turns what the host-side probe
reported into those answers. It is pure Python so that every rule is unit-tested without a host.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError

__all__ = [
    "POWERSHELL_TOO_OLD",
    "assess_powershell_too_old",
    "CAPABILITY_THRESHOLDS",
    "DEFAULT_DRIVER_FILES",
    "MIN_UPDATE_NT_VERSION",
    "STORAGE_DRIVER",
    "DriverVersion",
    "OsVersion",
    "assess_probe",
    "capabilities_for_build",
    "normalise_required_capabilities",
    "normalise_thresholds",
    "parse_driver_version",
    "parse_os_version",
]

# Minimum build of the storage driver for each capability, from Alibaba Cloud's "Update the
# virtio driver of a Windows instance"
# (https://www.alibabacloud.com/help/en/ecs/user-guide/update-the-virtio-driver-of-a-windows-instance).
# Its English edition says 58015 for serial_query; the Japanese edition's 58017 is the default
# and every threshold can be overridden by the caller.
CAPABILITY_THRESHOLDS: Mapping[str, int] = {
    "online_resize": 58011,
    "serial_query": 58017,
}

# The driver can be updated only on Windows Server 2008 (NT 6.0) or later.
MIN_UPDATE_NT_VERSION: tuple[int, int] = (6, 0)

# The file whose presence makes a host a virtio guest and whose build gates the capabilities.
STORAGE_DRIVER = "viostor.sys"

# viostor.sys first; the others are reported when present (the package ships them together).
DEFAULT_DRIVER_FILES: tuple[str, ...] = (
    STORAGE_DRIVER,
    "netkvm.sys",
    "vioscsi.sys",
    "vioser.sys",
    "balloon.sys",
    "pvpanic.sys",
    "viorng.sys",
    "fwcfg.sys",
    "vioinput.sys",
)

# Win32_OperatingSystem.ProductType: 1 workstation, 2 domain controller, 3 server.
_WORKSTATION_PRODUCT_TYPE = 1

# Four numeric parts separated by dots or commas (with optional spaces, as the resource
# strings of older drivers print them: "62, 77, 104, 58016"), then either nothing or free text
# after a space or parenthesis ("(built by: WinDDK)", "built by: WinDDK").
_DRIVER_VERSION_RE = re.compile(
    r"""^\s*
    (?P<p0>\d+)\s*[.,]\s*(?P<p1>\d+)\s*[.,]\s*(?P<p2>\d+)\s*[.,]\s*(?P<p3>\d+)
    (?:\s*$|[\s(].*$)""",
    re.VERBOSE | re.DOTALL,
)
_OS_VERSION_RE = re.compile(r"\s*(\d+)\.(\d+)(?:\.(\d+))?(?:\.(\d+))?\s*")
_DRIVER_FILE_RE = re.compile(r"[A-Za-z0-9_-]{1,64}\.sys")
# VS_FIXEDFILEINFO stores each part in 16 bits.
_MAX_VERSION_PART = 0xFFFF


@dataclass(frozen=True)
class DriverVersion:
    """A parsed four-part driver version; ``build`` is the ending number the gates compare."""

    parts: tuple[int, int, int, int]

    @property
    def build(self) -> int:
        return self.parts[3]

    def __str__(self) -> str:
        return ".".join(str(part) for part in self.parts)


@dataclass(frozen=True)
class OsVersion:
    """Windows NT version as Win32_OperatingSystem.Version reports it (``10.0.17763``)."""

    major: int
    minor: int
    build: int

    @property
    def nt(self) -> tuple[int, int]:
        return (self.major, self.minor)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.build}"


def parse_driver_version(text: Any, field: str) -> DriverVersion:
    """Parse a FileVersion / ProductVersion string the way Windows prints it in the wild.

    Accepts dots or commas with spaces and trailing text after the four numbers. Anything else
    (fewer parts, letters glued to the number, parts above 65535) is an :class:`InputError`
    rather than a guess, because a wrong build silently changes which hosts get updated.
    """
    if not isinstance(text, str) or not text.strip():
        raise InputError(field, f"expected a version string such as '62.77.104.58011', got {text!r}")
    match = _DRIVER_VERSION_RE.match(text)
    if match is None:
        raise InputError(
            field,
            f"cannot read a version from {text!r}: expected four numbers separated by dots or commas, "
            "optionally followed by text such as '(built by: WinDDK)', e.g. '62.77.104.58011' or "
            "'62, 77, 104, 58016'",
        )
    parts = tuple(int(match.group(f"p{i}")) for i in range(4))
    if any(part > _MAX_VERSION_PART for part in parts):
        raise InputError(field, f"version {text!r} has a part above {_MAX_VERSION_PART}, which Windows cannot store")
    return DriverVersion(parts)  # type: ignore[arg-type]


def driver_version_from_parts(parts: Any, field: str) -> DriverVersion | None:
    """Use FileVersionInfo's numeric parts when the host reported them.

    Windows reports ``0.0.0.0`` when a file has no fixed version resource; that means "unknown",
    so the caller falls back to the string.
    """
    if parts is None:
        return None
    if (
        not isinstance(parts, (list, tuple))
        or len(parts) != 4
        or not all(isinstance(p, int) and 0 <= p <= _MAX_VERSION_PART for p in parts)
    ):
        raise InputError(field, f"expected four integers between 0 and {_MAX_VERSION_PART}, got {parts!r}")
    if not any(parts):
        return None
    return DriverVersion(tuple(parts))  # type: ignore[arg-type]


def parse_os_version(text: Any, field: str = "os_version") -> OsVersion:
    """Parse Win32_OperatingSystem.Version (``major.minor[.build]``)."""
    match = _OS_VERSION_RE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise InputError(field, f"expected a Windows version such as '10.0.17763' or '6.0.6002', got {text!r}")
    major, minor, build = (int(g) if g else 0 for g in match.groups()[:3])
    return OsVersion(major, minor, build)


def normalise_thresholds(overrides: Mapping[str, Any] | None) -> dict[str, int]:
    """Merge the caller's threshold overrides onto the defaults, refusing unknown capabilities."""
    thresholds = dict(CAPABILITY_THRESHOLDS)
    for name, value in (overrides or {}).items():
        if name not in CAPABILITY_THRESHOLDS:
            raise InputError(f"thresholds.{name}", f"unknown capability; valid: {', '.join(CAPABILITY_THRESHOLDS)}")
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= _MAX_VERSION_PART:
            raise InputError(f"thresholds.{name}", f"expected a build number between 1 and {_MAX_VERSION_PART}, got {value!r}")
        thresholds[name] = value
    return thresholds


def normalise_required_capabilities(required: Iterable[Any] | None) -> list[str]:
    """Validate the capabilities an update must deliver; ``None`` means all of them."""
    if required is None:
        return list(CAPABILITY_THRESHOLDS)
    names: list[str] = []
    for index, name in enumerate(required):
        if name not in CAPABILITY_THRESHOLDS:
            raise InputError(
                f"required_capabilities[{index}]",
                f"unknown capability {name!r}; valid: {', '.join(CAPABILITY_THRESHOLDS)}",
            )
        if name not in names:
            names.append(name)
    return names


def validate_driver_files(files: Sequence[Any]) -> list[str]:
    """Driver file names are joined to %SystemRoot%\\System32\\drivers on the host: names only."""
    names = []
    for index, name in enumerate(files):
        if not isinstance(name, str) or not _DRIVER_FILE_RE.fullmatch(name):
            raise InputError(f"driver_files[{index}]", f"expected a bare .sys file name such as 'viostor.sys', got {name!r}")
        names.append(name.lower())
    if STORAGE_DRIVER not in names:
        raise InputError("driver_files", f"must include {STORAGE_DRIVER}: its build gates every capability")
    return names


def capabilities_for_build(build: int | None, thresholds: Mapping[str, int]) -> dict[str, bool]:
    """Which capabilities a storage driver build allows (all False when there is no driver)."""
    return {name: build is not None and build >= minimum for name, minimum in thresholds.items()}


def _assess_secondary_tolerantly(raw: Mapping[str, Any], index: int) -> dict[str, Any]:
    """A secondary driver whose version cannot be read is reported with ``error``, not fatal;
    ``viostor.sys`` gates the capabilities, so its problems still fail the probe."""
    try:
        return _assess_driver(raw, index)
    except InputError as err:
        if str(raw.get("name", "")).lower() == STORAGE_DRIVER:
            raise
        return {
            "name": str(raw.get("name", f"driver_files[{index}]")), "path": raw.get("path"),
            "present": bool(raw.get("present")), "file_version": raw.get("file_version"),
            "product_version": raw.get("product_version"), "version": None, "build": None,
            "version_source": None, "error": str(err),
        }


def _assess_driver(raw: Mapping[str, Any], index: int) -> dict[str, Any]:
    """Read one driver entry of the probe, preferring FileVersionInfo's numeric parts."""
    name = str(raw.get("name", f"driver_files[{index}]"))
    detail: dict[str, Any] = {
        "name": name,
        "path": raw.get("path"),
        "present": bool(raw.get("present")),
        "file_version": raw.get("file_version"),
        "product_version": raw.get("product_version"),
        "version": None,
        "build": None,
        "version_source": None,
    }
    if not detail["present"]:
        return detail
    if raw.get("error"):
        detail["error"] = str(raw["error"])
        return detail
    version = driver_version_from_parts(raw.get("file_version_parts"), f"{name}.file_version_parts")
    source = "file_version_parts"
    if version is None:
        version = driver_version_from_parts(raw.get("product_version_parts"), f"{name}.product_version_parts")
        source = "product_version_parts"
    if version is None:
        source = "file_version" if raw.get("file_version") else "product_version"
        version = parse_driver_version(raw.get(source), f"{name}.{source}")
    detail.update(version=str(version), build=version.build, version_source=source)
    return detail


def assess_probe(
    raw: Mapping[str, Any],
    required_capabilities: Sequence[str],
    thresholds: Mapping[str, int],
) -> dict[str, Any]:
    """Turn the host-side probe's raw facts into the answers the audit and rollout act on.

    ``raw`` is what ``virtio_probe.ps1`` returns: ``os`` (version, caption, product_type) and
    ``drivers`` (one entry per file asked for). Raises :class:`InputError` naming the field when
    a reported value cannot be read.
    """
    os_info = raw.get("os") or {}
    os_version = parse_os_version(os_info.get("version"), "os.version")
    product_type = os_info.get("product_type")
    is_server = product_type != _WORKSTATION_PRODUCT_TYPE
    drivers = [_assess_secondary_tolerantly(entry, index) for index, entry in enumerate(raw.get("drivers") or [])]
    storage = next((d for d in drivers if d["name"].lower() == STORAGE_DRIVER), None)
    if storage is not None and storage.get("error"):
        raise InputError(f"{STORAGE_DRIVER}", storage["error"])
    is_virtio_guest = bool(storage and storage["present"])
    build = storage["build"] if is_virtio_guest else None
    capabilities = capabilities_for_build(build, thresholds)
    update_supported = is_server and os_version.nt >= MIN_UPDATE_NT_VERSION
    missing = [name for name in required_capabilities if not capabilities[name]]
    return {
        "is_virtio_guest": is_virtio_guest,
        "virtio_build": build,
        "file_version": storage["file_version"] if is_virtio_guest else None,
        "product_version": storage["product_version"] if is_virtio_guest else None,
        "os_version": str(os_version),
        "os_caption": os_info.get("caption"),
        "is_server": is_server,
        "update_supported": update_supported,
        "unsupported_reason": _unsupported_reason(os_version, is_server),
        "capabilities": capabilities,
        "required_capabilities": list(required_capabilities),
        "missing_capabilities": missing if is_virtio_guest else [],
        "update_needed": is_virtio_guest and bool(missing),
        "thresholds": dict(thresholds),
        "drivers": drivers,
        "cloud_assistant_agent": raw.get("cloud_assistant_agent") or None,
    }


# ansible-core 2.19's bootstrap wrapper answers every module with this on a host whose Windows
# PowerShell is older than 5.1 (lib/ansible/executor/powershell/bootstrap_wrapper.ps1); Ansible's
# Windows setup guide names PowerShell 5.1 as the minimum:
# https://docs.ansible.com/ansible/latest/os_guide/windows_setup.html
POWERSHELL_TOO_OLD = "Ansible requires PowerShell v5.1"
_POWERSHELL_REASON = (
    "Windows PowerShell on this host is older than 5.1, which ansible-core 2.19 requires (the host "
    f"answered: {POWERSHELL_TOO_OLD}); install WMF 5.1 (Windows Server 2012 R2, 2012 and 2008 R2 SP1; "
    "Windows Server 2016 and later have it) or upgrade Windows: "
    "https://learn.microsoft.com/powershell/scripting/windows-powershell/wmf/setup/install-configure"
)


def assess_powershell_too_old(
    required_capabilities: Sequence[str], thresholds: Mapping[str, int]
) -> dict[str, Any]:
    """The assessment of a host Ansible cannot manage: nothing is known but why it is unsupported."""
    return {
        "is_virtio_guest": None,
        "virtio_build": None,
        "file_version": None,
        "product_version": None,
        "os_version": None,
        "os_caption": None,
        "is_server": None,
        "update_supported": False,
        "unsupported_reason": _POWERSHELL_REASON,
        "capabilities": {},
        "required_capabilities": list(required_capabilities),
        "missing_capabilities": [],
        "update_needed": None,
        "thresholds": dict(thresholds),
        "drivers": [],
    }


def _unsupported_reason(os_version: OsVersion, is_server: bool) -> str | None:
    """Say why the driver cannot be updated on this OS, in words a change manager reads."""
    if os_version.nt < MIN_UPDATE_NT_VERSION:
        return f"Windows NT {os_version.major}.{os_version.minor} is older than Windows Server 2008 (NT 6.0)"
    if not is_server:
        return "the virtio driver update is supported on Windows Server editions only"
    return None
