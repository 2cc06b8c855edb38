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
import re
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
    # FileVersionInfo.GetVersionInfo throws for this file (access denied, a locked or damaged file)
    "unreadable": _bool,
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


def _int(value: Any, field: str, low: int = 0) -> int:
    _expect(isinstance(value, int) and not isinstance(value, bool) and value >= low, field,
            f"expected an integer >= {low}, got {value!r}")
    return value


def _names(value: Any, field: str) -> list[str]:
    _expect(isinstance(value, list) and all(isinstance(v, str) and v for v in value), field,
            f"expected a list of names, got {value!r}")
    return list(value)


_GUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _guid(value: Any, field: str) -> str:
    _expect(isinstance(value, str) and bool(_GUID_RE.fullmatch(value)), field,
            f"expected a GUID such as 'f6ce46c1-971c-43f9-a2aa-783df125f003', got {value!r}")
    return value.lower()


def _choice(*choices: str) -> Normaliser:
    def normalise(value: Any, field: str) -> str:
        _expect(value in choices, field, f"expected one of {', '.join(choices)}, got {value!r}")
        return value
    return normalise


# A Windows Update the node's WUA would offer, with the properties a WUA criterion can test.
_WUA_UPDATE_KEYS: dict[str, Normaliser] = {
    "id": _guid,
    "title": _string,
    "type": _choice("Software", "Driver"),
    "hidden": _bool,
    "assigned": _bool,
    "recommended": _bool,
    "installed": _bool,
    "reboot_required": _bool,
    "fails": _bool,
    "revision": _int,
    "browse_only": _bool,
    "categories": lambda v, f: [_guid(c, f"{f}[{i}]") for i, c in enumerate(_names(v, f))],
    # The action the update is deployed for (wuapi DeploymentAction enumeration,
    # https://learn.microsoft.com/windows/win32/api/wuapi/ne-wuapi-deploymentaction).
    "deployment_action": _choice("Installation", "Uninstallation", "OptionalInstallation"),
}
WUA_UPDATE_DEFAULTS: dict[str, Any] = {
    "type": "Software", "hidden": False, "assigned": True, "recommended": False, "installed": False,
    "reboot_required": True, "fails": False, "revision": 1, "browse_only": False, "categories": [],
    "deployment_action": "Installation",
}


def _updates(value: Any, field: str) -> list[dict[str, Any]]:
    """Available updates of a node; ``fails: true`` makes every install attempt fail."""
    _expect(isinstance(value, list), field, "expected a list of updates ({id, title, type, ...})")
    updates, seen = [], set()
    for index, raw in enumerate(value):
        item_field = f"{field}[{index}]"
        update = _mapping(raw, item_field, _WUA_UPDATE_KEYS)
        _expect("id" in update, item_field, "needs id (the update's GUID)")
        _expect(update["id"] not in seen, item_field, f"duplicate update id {update['id']}")
        seen.add(update["id"])
        updates.append({**WUA_UPDATE_DEFAULTS, "title": f"Update {update['id'][:8]}", **update})
    return updates


def _exit_codes(value: Any, field: str) -> dict[str, int]:
    _expect(isinstance(value, dict), field, "expected a mapping of update file name to installer exit code")
    return {_string(name, field): _exit_code(code, f"{field}.{name}") for name, code in value.items()}


def _plugin_binaries(value: Any, field: str) -> dict[str, str]:
    """Installed plug-in binaries: path -> the plug-in name Register-CauPlugin finds in it."""
    _expect(isinstance(value, dict), field, "expected a mapping of binary path to plug-in name")
    return {_string(path, field).lower(): _string(name, f"{field}.{path}") for path, name in value.items()}


def _vars(value: Any, field: str) -> dict[str, Any]:
    _expect(isinstance(value, dict), field, "expected a mapping of inventory variables")
    return dict(value)


def _mapping(value: Any, field: str, keys: Mapping[str, Normaliser]) -> dict[str, Any]:
    _expect(isinstance(value, dict), field, f"expected a mapping, got {type(value).__name__}")
    unknown = sorted(set(value) - set(keys))
    _expect(not unknown, field, f"unknown key(s) {', '.join(map(str, unknown))}; valid: {', '.join(sorted(keys))}")
    return {key: keys[key](item, f"{field}.{key}") for key, item in value.items()}


_DISK_CATEGORIES = ("cloud_essd", "cloud_auto", "cloud_essd_entry", "cloud_ssd", "cloud_efficiency", "cloud",
                    # local and elastic ephemeral disks (no snapshots): DescribeDisks Category
                    "local_ssd_pro", "local_hdd_pro", "elastic_ephemeral_disk_standard")
_ECS_ID_RE = {"instance_id": "i-", "disk_id": "d-"}


def _ecs_id(value: Any, field: str) -> str:
    prefix = _ECS_ID_RE[field.rsplit(".", 1)[-1]]
    text = _string(value, field)
    _expect(text.startswith(prefix) and text[len(prefix):].isalnum(), field,
            f"expected an id such as '{prefix}bp1abc', got {value!r}")
    return text


def _region_id(value: Any, field: str) -> str:
    text = _string(value, field)
    _expect(all(part.isalnum() for part in text.split("-")) and "-" in text and text == text.lower(), field,
            f"expected a region id such as 'cn-hangzhou', got {value!r}")
    return text


def _disk(value: Any, field: str) -> dict[str, Any]:
    disk = _mapping(value, field, {
        "disk_id": _ecs_id,
        "category": _choice(*_DISK_CATEGORIES),
        "type": _choice("system", "data"),
        "size_gib": lambda v, f: _positive_int(v, f),
    })
    for key in ("disk_id", "type"):
        _expect(key in disk, field, f"needs {key}")
    disk.setdefault("category", "cloud_essd")
    disk.setdefault("size_gib", 40 if disk["type"] == "system" else 100)
    return disk


def _positive_int(value: Any, field: str) -> int:
    _expect(isinstance(value, int) and not isinstance(value, bool) and value > 0, field, f"expected an integer > 0, got {value!r}")
    return value


def _ecs(value: Any, field: str) -> dict[str, Any]:
    """An Alibaba Cloud ECS instance behind the host, answered by the fake ECS endpoint (tests/fakeecs).

    Defaults: region cn-hangzhou, Running, Cloud Assistant agent running, one 40 GiB ESSD system disk.
    """
    ecs = _mapping(value, field, {
        "instance_id": _ecs_id,
        "region_id": _region_id,
        "status": _choice("Running", "Stopped"),
        "cloud_assistant": _bool,
        "disks": lambda v, f: _disks(v, f),
        # What DescribeInstances lists besides (tests/fakeecs/instances.py): all optional.
        "tags": _ecs_tags,
        "os_type": _choice("windows", "linux"),
        "zone_id": _string,
        "vpc_id": _string,
        "resource_group_id": _string,
        "private_ip": _string,
        "public_ip": _string,
        "eip": _string,
        "instance_type": _string,
    })
    _expect("instance_id" in ecs, field, "needs instance_id")
    ecs.setdefault("region_id", "cn-hangzhou")
    ecs.setdefault("status", "Running")
    ecs.setdefault("disks", [{"disk_id": f"d-{ecs['instance_id'][2:]}sys", "category": "cloud_essd", "type": "system",
                              "size_gib": 40}])
    return ecs


def _ecs_tags(value: Any, field: str) -> dict[str, str]:
    _expect(isinstance(value, dict) and all(isinstance(k, str) for k in value), field,
            "expected a mapping of tag key to value")
    return {key: "" if item is None else str(item) for key, item in value.items()}


def _disks(value: Any, field: str) -> list[dict[str, Any]]:
    _expect(isinstance(value, list) and bool(value), field, "expected a non-empty list of disks")
    disks = [_disk(item, f"{field}[{index}]") for index, item in enumerate(value)]
    _expect(sum(1 for d in disks if d["type"] == "system") == 1, field, "expected exactly one disk of type system")
    ids = [d["disk_id"] for d in disks]
    _expect(len(ids) == len(set(ids)), field, "disk ids must be unique")
    return disks


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


def _file_server(value: Any, field: str) -> dict[str, Any]:
    """A Windows file server (hotfix roots): folders, files, ACLs, shares, firewall; validated by
    tests/simlab/file_server.py, which also models what Windows reports and does with them."""
    from tests.simlab.file_server import normalise_file_server  # imports FleetError from here

    host_name = field.removeprefix("hosts.").removesuffix(".file_server")
    return normalise_file_server(value, field, host_name)


_ANTIVIRUS_KEYS: dict[str, Normaliser] = {
    "service": _string,
    "running": _bool,
    "depends_on": _names,
    "stop_pending_s": _number,
}


def _antivirus(value: Any, field: str) -> list[dict[str, Any]]:
    """Third-party antivirus services on the host: [{service: SAVService, running: true}].

    ``depends_on`` names services this one needs (stopping one of those with ``-Force`` stops this
    one too); ``stop_pending_s`` keeps the service in StopPending that long after a stop request.
    """
    _expect(isinstance(value, list), field, f"expected a list of {{service, running}}, got {value!r}")
    services = []
    for index, item in enumerate(value):
        entry = _mapping(item, f"{field}[{index}]", _ANTIVIRUS_KEYS)
        _expect("service" in entry, f"{field}[{index}]", "needs service (the Windows service name)")
        service = {"service": entry["service"], "running": entry.get("running", True)}
        for key in ("depends_on", "stop_pending_s"):
            if key in entry:
                service[key] = entry[key]
        services.append(service)
    return services


def _powershell_version(value: Any, field: str) -> str:
    text = str(value) if isinstance(value, (str, float, int)) and not isinstance(value, bool) else ""
    _expect(bool(re.fullmatch(r"\d+\.\d+", text)), field, f"expected Major.Minor such as '5.1' or '4.0', got {value!r}")
    return text


def _inf_exit_codes(value: Any, field: str) -> dict[str, int]:
    """What ``pnputil`` returns for each INF of an offline package: {netkvm.inf: 259}."""
    _expect(isinstance(value, dict), field, f"expected a mapping of INF file name to exit code, got {value!r}")
    codes = {}
    for name, code in value.items():
        _expect(isinstance(name, str) and name.lower().endswith(".inf"), f"{field}.{name}",
                "expected an INF file name such as netkvm.inf")
        codes[name.lower()] = _exit_code(code, f"{field}.{name}")
    return codes


# Get-AuthenticodeSignature of acs-plugin-manager.exe: Status (a SignatureStatus name) and the
# signer certificate's Subject.
# https://learn.microsoft.com/dotnet/api/system.management.automation.signaturestatus
_SIGNATURE_KEYS: dict[str, Normaliser] = {
    "status": _choice("Valid", "NotSigned", "HashMismatch", "NotTrusted", "UnknownError", "Incompatible"),
    "signer": _string,
}
ALIBABA_SIGNER = "CN=Alibaba Cloud Computing Ltd., O=Alibaba Cloud Computing Ltd., L=Hangzhou, S=Zhejiang, C=CN"


_UPDATE_KEYS: dict[str, Normaliser] = {
    "to": _four_part_version,
    "duration_s": _number,
    "exit_code": _exit_code,
    "inf_exit_codes": _inf_exit_codes,
}
# What the vendor installer does when run: the version it leaves on every virtio driver file (after
# the reboot), how long it takes (default: 30 s + 15 s per data disk, at most 120 s) and its exit code.
UPDATE_DEFAULTS: dict[str, Any] = {"to": "62.77.104.58017", "duration_s": None, "exit_code": 0}


def _update(value: Any, field: str) -> dict[str, Any]:
    return {**UPDATE_DEFAULTS, **_mapping(value, field, _UPDATE_KEYS)}


_FAULT_KEYS: dict[str, Normaliser] = {
    "nic_drop_s": _number,
    "reboot_s": _number,
    "never_returns": _bool,
    # Task Scheduler does not run the worker (a policy or a broken service; the task's last result
    # is SCHED_S_TASK_HAS_NOT_RUN, 0x00041303:
    # https://learn.microsoft.com/windows/win32/taskschd/task-scheduler-error-and-success-constants)
    "worker_never_starts": _bool,
}
# The seed's ~10 s network drop while the NIC driver is replaced; a one-minute reboot.
FAULT_DEFAULTS: dict[str, Any] = {"nic_drop_s": 10.0, "reboot_s": 60.0, "never_returns": False}


def _faults(value: Any, field: str) -> dict[str, Any]:
    return {**FAULT_DEFAULTS, **_mapping(value, field, _FAULT_KEYS)}


def _downloads(value: Any, field: str) -> dict[str, str]:
    """URL -> the file (on the machine running the lab) whose bytes that URL serves to the lab's hosts."""
    _expect(isinstance(value, dict), field, f"expected a mapping of URL to file path, got {type(value).__name__}")
    return {_string(url, f"{field} key"): _string(path, f"{field}.{url}") for url, path in value.items()}


LAB_KEYS: dict[str, Normaliser] = {
    "round_trip_ms": _number,
    "time_scale": _number,
    # what the hosts can download (the fake ECS's package install from a URL, docs/simlab.md)
    "downloads": _downloads,
}

# Host key -> normaliser. Capabilities of the lab add their keys here.
HOST_KEYS: dict[str, Normaliser] = {
    "os_version": _os_version,
    "os_caption": _string,
    "product_type": _product_type,
    "reachable": _bool,
    "drivers": _drivers,
    "vars": _vars,
    "ecs": _ecs,
    # Cluster-Aware Updating (docs/simlab.md): third-party plug-ins registered at the start (the
    # built-ins always are), installed plug-in binaries, and the updates WUA offers the node.
    "cau_plugins": _names,
    "cau_plugin_binaries": _plugin_binaries,
    "cau_updates": _updates,
    # false: a remote call from this host to another one is refused with "Access is denied", the
    # Kerberos double-hop problem of a connection without delegation or CredSSP
    # (https://learn.microsoft.com/powershell/scripting/security/remoting/ps-remoting-second-hop).
    "cau_second_hop": _bool,
    # Microsoft.HotfixPlugin on this node: file name -> the exit code its installer returns
    # (0 when not listed); any other code fails the update with that code in the report.
    "cau_hotfix_exit_codes": lambda v, f: _exit_codes(v, f),
    "file_server": _file_server,
    # the install path (docs/simlab.md, "Install, NIC drop and reboot")
    # $PSVersionTable.PSVersion of Windows PowerShell (Major.Minor); below 5.1 ansible-core's bootstrap
    # wrapper refuses every module (tests/simlab/windows.py)
    "powershell_version": _powershell_version,
    # %ProgramData%\winfleet existing before the collection made it: {owner: SID} and/or {junction: true}
    "winfleet_folder": lambda value, field: _mapping(value, field, {"owner": _string, "junction": _bool}),
    "internet": _bool,
    "cloud_assistant": _bool,
    "cloud_assistant_signature": lambda value, field: _mapping(value, field, _SIGNATURE_KEYS),
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
    "cau_plugins": [],
    "cau_plugin_binaries": {},
    "cau_updates": [],
    "cau_second_hop": True,
    "internet": True,
    "cloud_assistant": True,
    "cloud_assistant_signature": {"status": "Valid", "signer": ALIBABA_SIGNER},
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
    explicit = raw if isinstance(raw, dict) else {}
    host.update(_mapping(raw or {}, f"hosts.{name}", HOST_KEYS))
    # One authoritative "agent present" flag: the host key `cloud_assistant` (the rollout's install
    # path and the fake ECS both read it). `ecs.cloud_assistant` is accepted as an alias that sets it.
    ecs = host.get("ecs")
    if ecs is not None and "cloud_assistant" in ecs:
        alias = ecs.pop("cloud_assistant")
        _expect("cloud_assistant" not in explicit or explicit["cloud_assistant"] == alias,
                f"hosts.{name}.ecs.cloud_assistant",
                "disagrees with hosts.{name}.cloud_assistant; give the host key cloud_assistant only".replace("{name}", name))
        host["cloud_assistant"] = alias
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
        "clusters": lambda v, f: v,
        "hotfix_roots": lambda v, f: v,
    })
    hosts = data.get("hosts")
    _expect(isinstance(hosts, dict) and bool(hosts), f"{path}: hosts", "expected a non-empty mapping of host name to host")
    normalised = {name: normalise_host(name, raw) for name, raw in hosts.items()}
    _unique_ecs_ids(normalised)
    return {
        "lab": {"round_trip_ms": 0.0, "time_scale": 0.01, **data.get("lab", {}),
                "hotfix_roots": _hotfix_roots(data.get("hotfix_roots", {}), set(hosts))},
        "hosts": normalised,
        "groups": _groups(data.get("groups", {}), set(hosts)),
        "clusters": _clusters(data.get("clusters", {}), set(hosts)),
    }


def _unique_ecs_ids(hosts: dict[str, dict[str, Any]]) -> None:
    """One instance is one host, one disk belongs to one instance (the fake ECS relies on it)."""
    owners: dict[str, str] = {}
    for name, host in hosts.items():
        ecs = host.get("ecs")
        if not ecs:
            continue
        for key in [ecs["instance_id"], *(d["disk_id"] for d in ecs["disks"])]:
            _expect(key not in owners, f"hosts.{name}.ecs", f"{key} is already used by host {owners.get(key)}")
            owners[key] = name


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


def _outage(value: Any, field: str) -> dict[str, float]:
    return _mapping(value, field, {"after": _number, "duration": _number})


_CLUSTER_KEYS: dict[str, Normaliser] = {
    "name": _string,
    "mode": _choice("self_updating", "remote_updating"),
    "nodes": _names,
    "coordinator": _string,
    "vars": _vars,
    "coordinator_outage": _outage,
    # the CAU cmdlets on the coordinator throw for a while mid-run (tests/simlab/modules/cau_run.py)
    "cmdlet_errors": _outage,
    "locked": _bool,
}


def _clusters(value: Any, known_hosts: set[str]) -> dict[str, dict[str, Any]]:
    """Failover clusters: inventory group name -> cluster. Product policy (a coordinator outside
    its cluster, ...) is deliberately not enforced here, so tests can build the mistakes the
    product must refuse."""
    _expect(isinstance(value, dict), "clusters", "expected a mapping of group name to cluster")
    clusters = {}
    for group, raw in value.items():
        field = f"clusters.{group}"
        cluster = _mapping(raw or {}, field, _CLUSTER_KEYS)
        _expect(bool(cluster.get("nodes")), f"{field}.nodes", "expected the cluster's nodes (hosts of the fleet)")
        unknown = [n for n in cluster["nodes"] + [cluster.get("coordinator")] if n is not None and n not in known_hosts]
        _expect(not unknown, field, f"unknown host(s) {', '.join(unknown)}")
        _expect("mode" in cluster, f"{field}.mode", "expected self_updating or remote_updating")
        clusters[group] = {"name": group, "vars": {}, "coordinator": None, "coordinator_outage": None,
                           "locked": False, **cluster}
    return clusters


def _hotfix_roots(value: Any, known_hosts: set[str]) -> dict[str, dict[str, Any]]:
    """Hotfix root folders: path -> {all: [files], nodes: {node: [files]}} (CAUHotfix_All and per node)."""
    _expect(isinstance(value, dict), "hotfix_roots", "expected a mapping of root path to {all, nodes}")
    roots = {}
    for root, raw in value.items():
        field = f"hotfix_roots.{root}"
        entry = _mapping(raw or {}, field, {"all": _names, "nodes": lambda v, f: v})
        nodes = entry.get("nodes", {})
        _expect(isinstance(nodes, dict) and all(n in known_hosts for n in nodes), f"{field}.nodes",
                "expected a mapping of fleet host name to a list of files")
        roots[root.rstrip("\\").lower()] = {
            "all": entry.get("all", []),
            "nodes": {n.lower(): _names(files, f"{field}.nodes.{n}") for n, files in nodes.items()},
        }
    return roots
