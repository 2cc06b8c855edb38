"""Fleet descriptions of the simulated Windows lab: load, validate, normalise (test code only).

A fleet file describes simulated hosts in the vocabulary of what Windows would report (see
docs/simlab.md). Validation is strict: an unknown key or a malformed value is a
:class:`FleetError` naming the host and the field, so a typo in a test fleet cannot silently
turn into a default.

Each capability of the lab registers the host keys it understands in ``HOST_KEYS`` (key ->
normaliser). A normaliser receives the raw value and its field path and returns the value stored
in the host's state, or raises FleetError.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Mapping

import yaml

Normaliser = Callable[[Any, str], Any]


class FleetError(ValueError):
    """A fleet description is malformed; the message names the host and field."""


def _expect(condition: bool, field: str, message: str) -> None:
    if not condition:
        raise FleetError(f"{field}: {message}")


def _string(value: Any, field: str) -> str:
    _expect(isinstance(value, str) and value != "", field, f"expected a non-empty string, got {value!r}")
    return value


def _bool(value: Any, field: str) -> bool:
    _expect(isinstance(value, bool), field, f"expected true or false, got {value!r}")
    return value


def _number(value: Any, field: str) -> float:
    _expect(isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0, field,
            f"expected a number >= 0, got {value!r}")
    return float(value)


def _os_version(value: Any, field: str) -> str:
    text = _string(value, field)
    parts = text.split(".")
    _expect(2 <= len(parts) <= 4 and all(p.isdigit() for p in parts), field,
            f"expected Win32_OperatingSystem.Version such as '10.0.17763', got {value!r}")
    return text


def _product_type(value: Any, field: str) -> int:
    _expect(value in (1, 2, 3), field, f"expected 1 (workstation), 2 (domain controller) or 3 (server), got {value!r}")
    return value


def _version_parts(value: Any, field: str) -> list[int]:
    _expect(isinstance(value, list) and len(value) == 4 and all(isinstance(p, int) and 0 <= p <= 0xFFFF for p in value),
            field, f"expected four integers 0..65535, got {value!r}")
    return value


_DRIVER_KEYS: dict[str, Normaliser] = {
    "file_version": _string,
    "product_version": _string,
    "file_version_parts": _version_parts,
    "product_version_parts": _version_parts,
}


def _driver(value: Any, field: str) -> dict[str, Any]:
    """A driver file: a FileVersion string, or a mapping of what FileVersionInfo would report.

    The string form is what an operator copies from the file's Properties dialog; the simulated
    file then has no numeric version parts (0.0.0.0), so the product parses the string.
    """
    if isinstance(value, str):
        return {"file_version": _string(value, field), "product_version": value}
    mapping = _mapping(value, field, _DRIVER_KEYS)
    _expect("file_version" in mapping or "product_version" in mapping, field,
            "needs file_version or product_version")
    mapping.setdefault("product_version", mapping.get("file_version"))
    mapping.setdefault("file_version", mapping.get("product_version"))
    return mapping


def _drivers(value: Any, field: str) -> dict[str, dict[str, Any]]:
    _expect(isinstance(value, dict), field, f"expected a mapping of file name to version, got {value!r}")
    drivers = {}
    for name, entry in value.items():
        _expect(isinstance(name, str) and name.lower().endswith(".sys"), f"{field}.{name}",
                "expected a driver file name ending in .sys")
        drivers[name.lower()] = _driver(entry, f"{field}.{name}")
    return drivers


def _vars(value: Any, field: str) -> dict[str, Any]:
    _expect(isinstance(value, dict), field, "expected a mapping of inventory variables")
    return dict(value)


def _mapping(value: Any, field: str, keys: Mapping[str, Normaliser]) -> dict[str, Any]:
    _expect(isinstance(value, dict), field, f"expected a mapping, got {type(value).__name__}")
    unknown = sorted(set(value) - set(keys))
    _expect(not unknown, field, f"unknown key(s) {', '.join(map(str, unknown))}; valid: {', '.join(sorted(keys))}")
    return {key: keys[key](item, f"{field}.{key}") for key, item in value.items()}


def _count(value: Any, field: str) -> int:
    _expect(isinstance(value, int) and not isinstance(value, bool) and value >= 0, field,
            f"expected a whole number >= 0, got {value!r}")
    return value


def _exit_code(value: Any, field: str) -> int:
    _expect(isinstance(value, int) and not isinstance(value, bool) and -(2 ** 31) <= value < 2 ** 32, field,
            f"expected an installer exit code (an integer), got {value!r}")
    return value


def _four_part_version(value: Any, field: str) -> str:
    text = _string(value, field)
    parts = text.split(".")
    _expect(len(parts) == 4 and all(p.isdigit() and int(p) <= 0xFFFF for p in parts), field,
            f"expected the version the installer leaves, such as '62.77.104.58017', got {value!r}")
    return text


_ANTIVIRUS_KEYS: dict[str, Normaliser] = {"service": _string, "running": _bool}


def _antivirus(value: Any, field: str) -> list[dict[str, Any]]:
    """Third-party antivirus services on the host: [{service: SAVService, running: true}]."""
    _expect(isinstance(value, list), field, f"expected a list of {{service, running}}, got {value!r}")
    services = []
    for index, item in enumerate(value):
        entry = _mapping(item, f"{field}[{index}]", _ANTIVIRUS_KEYS)
        _expect("service" in entry, f"{field}[{index}]", "needs service (the Windows service name)")
        services.append({"service": entry["service"], "running": entry.get("running", True)})
    return services


_UPDATE_KEYS: dict[str, Normaliser] = {
    "to": _four_part_version,
    "duration_s": _number,
    "exit_code": _exit_code,
}
# What the vendor installer does when run: the version it leaves on every virtio driver file (after
# the reboot), how long it takes (default: 30 s + 15 s per data disk, at most 120 s) and its exit code.
UPDATE_DEFAULTS: dict[str, Any] = {"to": "62.77.104.58017", "duration_s": None, "exit_code": 0}


def _update(value: Any, field: str) -> dict[str, Any]:
    return {**UPDATE_DEFAULTS, **_mapping(value, field, _UPDATE_KEYS)}


_FAULT_KEYS: dict[str, Normaliser] = {"nic_drop_s": _number, "reboot_s": _number, "never_returns": _bool}
# The seed's ~10 s network drop while the NIC driver is replaced; a one-minute reboot.
FAULT_DEFAULTS: dict[str, Any] = {"nic_drop_s": 10.0, "reboot_s": 60.0, "never_returns": False}


def _faults(value: Any, field: str) -> dict[str, Any]:
    return {**FAULT_DEFAULTS, **_mapping(value, field, _FAULT_KEYS)}


LAB_KEYS: dict[str, Normaliser] = {
    "round_trip_ms": _number,
    "time_scale": _number,
}

# Host key -> normaliser. Capabilities of the lab add their keys here.
HOST_KEYS: dict[str, Normaliser] = {
    "os_version": _os_version,
    "os_caption": _string,
    "product_type": _product_type,
    "reachable": _bool,
    "drivers": _drivers,
    "vars": _vars,
    # the install path (docs/simlab.md, "Install, NIC drop and reboot")
    "internet": _bool,
    "cloud_assistant": _bool,
    "data_disks": _count,
    "antivirus": _antivirus,
    "update": _update,
    "faults": _faults,
}

HOST_DEFAULTS: dict[str, Any] = {
    "os_version": "10.0.17763",
    "product_type": 3,
    "reachable": True,
    "drivers": {},
    "vars": {},
    "internet": True,
    "cloud_assistant": True,
    "data_disks": 0,
    "antivirus": [],
    "update": UPDATE_DEFAULTS,
    "faults": FAULT_DEFAULTS,
}

_CAPTIONS = {
    "5.2": "Microsoft Windows Server 2003 R2 Enterprise Edition",
    "6.0": "Microsoft Windows Server 2008 Datacenter",
    "6.1": "Microsoft Windows Server 2008 R2 Datacenter",
    "6.2": "Microsoft Windows Server 2012 Datacenter",
    "6.3": "Microsoft Windows Server 2012 R2 Datacenter",
    "10.0": "Microsoft Windows Server 2019 Datacenter",
}


def normalise_host(name: str, raw: Any) -> dict[str, Any]:
    """Validate one host entry and fill the defaults a real Windows Server would have."""
    _expect(isinstance(name, str) and name.replace("-", "").replace("_", "").replace(".", "").isalnum(),
            f"hosts.{name}", "expected a host name of letters, digits, '-', '_' or '.'")
    host = json.loads(json.dumps(HOST_DEFAULTS))  # a deep copy: no host shares a default's dict
    host.update(_mapping(raw or {}, f"hosts.{name}", HOST_KEYS))
    major_minor = ".".join(host["os_version"].split(".")[:2])
    host.setdefault("os_caption", _CAPTIONS.get(major_minor, f"Microsoft Windows (NT {major_minor})"))
    host["name"] = name
    return host


def load_fleet(path: str | Path) -> dict[str, Any]:
    """Read and validate a fleet file; returns ``{"lab": {...}, "hosts": {name: state}}``."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise FleetError(f"{path}: cannot read the fleet description: {err}") from None
    data = _mapping(data, str(path), {
        "lab": lambda v, f: _mapping(v, f, LAB_KEYS),
        "hosts": lambda v, f: v,
        "groups": lambda v, f: v,
    })
    hosts = data.get("hosts")
    _expect(isinstance(hosts, dict) and bool(hosts), f"{path}: hosts", "expected a non-empty mapping of host name to host")
    return {
        "lab": {"round_trip_ms": 0.0, "time_scale": 0.01, **data.get("lab", {})},
        "hosts": {name: normalise_host(name, raw) for name, raw in hosts.items()},
        "groups": _groups(data.get("groups", {}), set(hosts)),
    }


_GROUP_KEYS: dict[str, Normaliser] = {
    "hosts": lambda v, f: v,
    "vars": _vars,
}


def _groups(value: Any, known_hosts: set[str]) -> dict[str, dict[str, Any]]:
    """Inventory groups, in order; their members must be hosts of the fleet."""
    _expect(isinstance(value, dict), "groups", "expected a mapping of group name to {hosts, vars}")
    groups = {}
    for name, raw in value.items():
        field = f"groups.{name}"
        group = _mapping(raw or {}, field, _GROUP_KEYS)
        members = group.get("hosts", [])
        _expect(isinstance(members, list), f"{field}.hosts", "expected a list of host names")
        unknown = [m for m in members if m not in known_hosts]
        _expect(not unknown, f"{field}.hosts", f"unknown host(s) {', '.join(map(str, unknown))}")
        groups[name] = {"hosts": members, "vars": group.get("vars", {})}
    return groups
