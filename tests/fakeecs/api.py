"""The ECS actions the collection calls, answered from the simulated lab's host states (test code only).

An ECS instance is a lab host whose fleet entry has an ``ecs`` key (see docs/simlab.md). Its
disks come from the fleet; snapshots, snapshot groups, invocations and reboots live in the same
per-host JSON state under ``ecs``, changed under the host's ``flock``, so what the API does is
visible to the lab's connection plugin (and to test assertions) at once:

* a Cloud Assistant invocation that installs the virtio driver (the common command
  ``ACS-ECS-InstallVirtioDriver-windows.ps1``, or content running ``InstallVirtIo`` or
  ``acs-plugin-manager ... --plugin=UpdateVirtIo``) leaves a *pending* driver version on the
  host, taken from its fleet ``update: {to: ...}`` key, and drops the network for a moment;
* ``RebootInstances`` makes the host unreachable for the reboot and applies the pending drivers.

Durations are simulated seconds scaled by the lab's ``time_scale``, like the rest of the lab.
Answers follow the API's JSON shapes; errors are :class:`ApiError` with the API's code, HTTP
status and message. The fake does not copy a snapshot group's tags onto its snapshots (the API
reference does not promise it), which is the stricter case for the product.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, Mapping

from tests.fakeecs.errors import ApiError
from tests.fakeecs.snapshot_lifecycle import SnapshotLifecycle, retention_days, token_page
from tests.simlab import winhost
from tests.simlab.state import Lab

VIRTIO_COMMON_COMMAND = "ACS-ECS-InstallVirtioDriver-windows.ps1"
ESSD = {"cloud_essd", "cloud_auto", "cloud_essd_entry"}
# Documented limits, encoded here on their own (never imported from the product):
# RunCommand: CommandContent at most 24 KB after Base64, InstanceId.N 1 to 100
# (https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-runcommand);
# InvokeCommand: InstanceId.N 1 to 100
# (https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-invokecommand);
# CreateSnapshotGroup: DiskId.N 1 to 128, at most 256 TiB in all
# (https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-createsnapshotgroup).
MAX_CONTENT = 24 * 1024
# Local and elastic ephemeral disk categories (DescribeDisks Category,
# https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-describedisks).
LOCAL_CATEGORIES = {
    "local_ssd_pro", "local_hdd_pro", "ephemeral", "ephemeral_ssd",
    "elastic_ephemeral_disk_standard", "elastic_ephemeral_disk_premium",
}
MAX_INVOCATION_INSTANCES = 100
MAX_GROUP_DISKS = 128
MAX_GROUP_GIB = 256 * 1024
MAX_OUTPUT = 24 * 1024
#: The timeout the common command was created with (used when InvokeCommand gives none).
COMMON_COMMAND_TIMEOUT = 3600
_INSTALL_RE = re.compile(
    r"InstallVirtIo|acs-plugin-manager(\.exe)?\W.*--?\s*plugin[= ]+UpdateVirtIo", re.I | re.S
)
_EXIT_RE = re.compile(r"^\s*exit\s+(-?\d+)\s*$", re.I | re.M)
_WRITE_RE = re.compile(
    r"^\s*(?:Write-Output|Write-Host|echo)\s+(?:'([^']*)'|\"([^\"]*)\"|\('(.)'\s*\*\s*(\d+)\))", re.I | re.M
)
_VIRTIO_FILES = ("viostor.sys", "netkvm.sys")


def iso(epoch: float, minutes_only: bool = False) -> str:
    """The API's UTC time strings (StartTime has minute precision, like the real API)."""
    fmt = "%Y-%m-%dT%H:%MZ" if minutes_only else "%Y-%m-%dT%H:%M:%SZ"
    return datetime.fromtimestamp(epoch, timezone.utc).strftime(fmt)


def indexed(params: Mapping[str, str], name: str) -> list[Any]:
    """``Name.1``, ``Name.2`` ... as a list; ``Name.1.Key`` / ``Name.1.Value`` as a list of dicts."""
    items: dict[int, Any] = {}
    pattern = re.compile(rf"^{re.escape(name)}\.(\d+)(?:\.(\w+))?$")
    for key, value in params.items():
        match = pattern.match(key)
        if not match:
            continue
        index = int(match.group(1))
        if match.group(2):
            items.setdefault(index, {})[match.group(2)] = value
        else:
            items[index] = value
    return [items[i] for i in sorted(items)]


def json_list(params: Mapping[str, str], name: str) -> list[str] | None:
    """Parameters the API takes as a JSON array string (``InstanceIds='["i-1"]'``)."""
    if name not in params:
        return None
    try:
        value = json.loads(params[name])
    except ValueError:
        raise ApiError(
            f"InvalidParameter.{name}", f"The specified parameter {name} is not valid JSON."
        ) from None
    if not isinstance(value, list):
        raise ApiError(f"InvalidParameter.{name}", f"The specified parameter {name} must be a JSON array.")
    return [str(v) for v in value]


def page(
    params: Mapping[str, str], items: list[Any], default_size: int = 10, max_size: int = 100
) -> tuple[list[Any], dict[str, int]]:
    number = int(params.get("PageNumber") or 1)
    size = min(int(params.get("PageSize") or params.get("MaxResults") or default_size), max_size)
    start = (number - 1) * size
    return items[start : start + size], {"TotalCount": len(items), "PageNumber": number, "PageSize": size}


def matches_tags(tags: list[dict[str, str]], wanted: list[dict[str, str]]) -> bool:
    have = {t["Key"]: t.get("Value", "") for t in tags}
    return all(w.get("Key") in have and (not w.get("Value") or have[w["Key"]] == w["Value"]) for w in wanted)


def _new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(10)}"


class EcsWorld(SnapshotLifecycle):
    """ECS resources of one simulated lab, and the actions on them."""

    def __init__(self, lab: Lab, clock: Callable[[], float] = time.time) -> None:
        self.lab = lab
        self.clock = clock
        self.time_scale = float(lab.settings.get("time_scale", 0.01))
        # Simulated seconds (scaled by time_scale), adjustable by tests.
        self.snapshot_seconds = 30.0
        # How long a command other than the virtio install runs. The virtio install runs the host's
        # `update.duration_s` (winhost's timeline, the same as the rollout's install path).
        self.invocation_seconds = 60.0
        # None: a reboot takes the host's `faults.reboot_s` (winhost); a number overrides it.
        self.reboot_seconds: float | None = None
        self.failing_disks: set[str] = set()
        self.group_omits_disks: set[str] = set()
        self._instances: dict[str, str] | None = None
        # Built once: without it the first calls, answered on parallel threads, each read every host.
        self.index_lock = threading.RLock()

    # -- lab access ------------------------------------------------------------------------

    def real(self, simulated_seconds: float) -> float:
        return simulated_seconds * self.time_scale

    def instances(self) -> dict[str, str]:
        """Instance id -> lab host name (the fleet does not change while the fake runs)."""
        if self._instances is None:
            with self.index_lock:
                if self._instances is None:
                    # Built aside and published whole: the server answers calls on several threads.
                    found = {}
                    for name in self.lab.host_names():
                        ecs = self.lab.peek_host(name).get("ecs")
                        if ecs:
                            found[ecs["instance_id"]] = name
                    self._instances = found
        return self._instances

    def hosts(self, region: str | None = None) -> list[tuple[str, dict[str, Any]]]:
        """(host name, a read-only copy of its state) for every ECS host in ``region``.

        Reads never write: what time decides (a finished reboot) is computed when viewed, so
        a Describe* call costs one shared read per host. Changes go through :meth:`host_of`
        or ``lab.host`` (locked, written back).
        """
        found = []
        for name in self.instances().values():
            state = self.lab.peek_host(name)
            if region is None or state["ecs"]["region_id"] == region:
                found.append((name, state))
        return found

    def host_of(self, instance_id: str, region: str | None, code: str = "InvalidInstanceId.NotFound"):
        """A context manager over the state of the host behind ``instance_id``."""
        name = self.instances().get(instance_id)
        if name is None:
            raise ApiError(code, "The specified InstanceId does not exist.", 404)
        return _HostContext(self, name, region, code)

    # -- instances -------------------------------------------------------------------------

    def instance_view(self, name: str, state: dict[str, Any]) -> dict[str, Any]:
        ecs = state["ecs"]
        status = ecs.get("status", "Running")
        start_time = ecs.get("start_time") or "2024-01-01T00:00Z"
        reboot = ecs.get("reboot")
        if reboot:
            now = self.clock()
            if now >= reboot["until"]:
                start_time = reboot["start_time"] or start_time
            else:
                status = "Stopping" if now < (reboot["since"] + reboot["until"]) / 2 else "Starting"
        return {
            "InstanceId": ecs["instance_id"],
            "InstanceName": name,
            "HostName": name.upper()[:15],
            "RegionId": ecs["region_id"],
            "ZoneId": f"{ecs['region_id']}-h",
            "Status": status,
            "OSType": "windows",
            "OSName": state.get("os_caption", ""),
            "InstanceType": "ecs.g7.large",
            "StartTime": start_time,
            "CreationTime": "2019-01-01T00:00Z",
        }

    def describe_instances(self, p: Mapping[str, str]) -> dict[str, Any]:
        # Filters, paging and the network/tag fields live in tests/fakeecs/instances.py.
        from tests.fakeecs import instances

        return instances.describe_instances(self, p)

    def describe_regions(self, p: Mapping[str, str]) -> dict[str, Any]:
        from tests.fakeecs import instances

        return instances.describe_regions(self, p)

    def describe_cloud_assistant_status(self, p: Mapping[str, str]) -> dict[str, Any]:
        from tests.fakeecs import instances

        return instances.describe_cloud_assistant_status(self, p)

    def reboot_instances(self, p: Mapping[str, str]) -> dict[str, Any]:
        region = _region(p)
        ids = indexed(p, "InstanceId")
        if not ids or len(ids) > 100:
            raise ApiError("InvalidParameter.InstanceIds", "Specify 1 to 100 InstanceId.N.")
        responses = []
        for instance_id in ids:
            with self.host_of(instance_id, region) as (name, state):
                if self.instance_view(name, state)["Status"] != "Running":
                    raise ApiError(
                        "IncorrectInstanceStatus",
                        "The current status of the resource does not support this operation.",
                        403,
                    )
        now = self.clock()
        for instance_id in ids:
            with self.host_of(instance_id, region) as (name, state):
                # The reboot is winhost's (the rollout's model): what was due happens first (an
                # install finishing stages its driver), then the host goes down now and boots
                # `faults.reboot_s` later (never with `faults.never_returns`), loading the staged
                # driver and bumping boot_time, the next time the host is touched.
                winhost.advance(state, self.lab.settings)
                state["ecs"]["start_time"] = self.instance_view(name, state)["StartTime"]
                winhost.schedule_reboot(state, self.lab.settings, 0)
                reboot = state["reboot"]
                if self.reboot_seconds is not None and reboot["up_at"] is not None:
                    reboot["up_at"] = reboot["down_at"] + self.real(self.reboot_seconds)
                    state["outages"][-1]["until"] = reboot["up_at"]
                until = reboot["up_at"] if reboot["up_at"] is not None else float("inf")
                state["ecs"]["reboot"] = {
                    "since": now,
                    "until": until,
                    "start_time": iso(until, minutes_only=True) if until != float("inf") else None,
                }
                state.setdefault("events", []).append(
                    {"event": "ecs_reboot", "at": now, "staged": state.get("pending_driver")}
                )
                responses.append(
                    {
                        "InstanceId": instance_id,
                        "Code": "200",
                        "Message": "success",
                        "PreviousStatus": "Running",
                        "CurrentStatus": "Stopping",
                    }
                )
        return {"InstanceResponses": {"InstanceResponse": responses}}

    # -- disks and snapshots ---------------------------------------------------------------

    def describe_disks(self, p: Mapping[str, str]) -> dict[str, Any]:
        region = _region(p)
        wanted_ids = json_list(p, "DiskIds")
        disks = []
        for _name, state in self.hosts(region):
            ecs = state["ecs"]
            if p.get("InstanceId") and ecs["instance_id"] != p["InstanceId"]:
                continue
            for index, disk in enumerate(ecs["disks"]):
                if wanted_ids is not None and disk["disk_id"] not in wanted_ids:
                    continue
                disks.append(
                    {
                        "DiskId": disk["disk_id"],
                        "InstanceId": ecs["instance_id"],
                        "RegionId": region,
                        "ZoneId": f"{region}-h",
                        "Type": disk["type"],
                        "Category": disk["category"],
                        "Size": disk["size_gib"],
                        "Status": "In_use",
                        "Device": f"/dev/xvd{chr(97 + index)}",
                        "PerformanceLevel": "PL1" if disk["category"] == "cloud_essd" else "",
                        "Portable": disk["type"] == "data",
                        "DeleteWithInstance": True,
                    }
                )
        items, paging = page(p, disks)
        return {"Disks": {"Disk": items}, **paging}

    def snapshot_view(self, snap: dict[str, Any]) -> dict[str, Any]:
        status, progress = self._snapshot_progress(snap)
        view = {k: v for k, v in snap.items() if k[0].isupper()}
        view.update(
            Status=status,
            Progress=f"{progress}%",
            Available=self.available(snap, status),
            RemainTime=0 if status != "progressing" else 1,
            Tags={"Tag": [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in snap.get("Tags", [])]},
        )
        return view

    def _snapshot_progress(self, snap: dict[str, Any]) -> tuple[str, int]:
        elapsed = self.clock() - snap["created"]
        duration = max(snap["duration"], 1e-6)
        if snap.get("fail") and elapsed >= duration / 2:
            return "failed", 50
        if elapsed >= duration:
            return "accomplished", 100
        return "progressing", int(100 * elapsed / duration)

    def _all_snapshots(self, region: str | None) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        for _name, state in self.hosts(region):
            for snap in state["ecs"].get("snapshots", []):
                yield state, snap

    def describe_snapshots(self, p: Mapping[str, str]) -> dict[str, Any]:
        region = _region(p)
        ids = json_list(p, "SnapshotIds")
        tags = indexed(p, "Tag")
        found = []
        for state, snap in self._all_snapshots(region):
            if ids is not None and snap["SnapshotId"] not in ids:
                continue
            if p.get("InstanceId") and state["ecs"]["instance_id"] != p["InstanceId"]:
                continue
            if p.get("DiskId") and snap["SourceDiskId"] != p["DiskId"]:
                continue
            if tags and not matches_tags(snap.get("Tags", []), tags):
                continue
            if not self.listed_yet(snap["created"]):
                continue
            view = self.snapshot_view(snap)
            if p.get("Status") and p["Status"] != "all" and view["Status"] != p["Status"]:
                continue
            found.append(view)
        items, paging = page(p, found)
        return {"Snapshots": {"Snapshot": items}, **paging}

    def _new_snapshot(
        self,
        state: dict[str, Any],
        disk: dict[str, Any],
        name: str,
        description: str,
        tags: list[dict[str, str]],
        group_id: str | None = None,
    ) -> dict[str, Any]:
        now = self.clock()
        snap = {
            "SnapshotId": _new_id("s"),
            "SnapshotName": name,
            "Description": description,
            "SourceDiskId": disk["disk_id"],
            "SourceDiskType": disk["type"].capitalize(),
            "SourceDiskSize": str(disk["size_gib"]),
            "RegionId": state["ecs"]["region_id"],
            "CreationTime": iso(now),
            "Category": "standard",
            "SnapshotType": "user",
            "Usage": "none",
            "Tags": tags,
            "created": now,
            "duration": self.real(self.snapshot_seconds),
            "fail": disk["disk_id"] in self.failing_disks,
            "disk_category": disk["category"],
        }
        if group_id:
            snap["SnapshotGroupId"] = group_id
        state["ecs"].setdefault("snapshots", []).append(snap)
        return snap

    def _check_snapshottable(self, name: str, state: dict[str, Any], disk: dict[str, Any]) -> None:
        # Snapshots are for cloud disks; local disks and elastic ephemeral disks have none
        # (https://www.alibabacloud.com/help/en/ecs/user-guide/snapshots-overview).
        if disk["category"] in LOCAL_CATEGORIES:
            raise ApiError(
                "InvalidDiskCategory.NotSupported",
                "The specified disk category does not support this operation.",
                403,
            )
        if self.instance_view(name, state)["Status"] not in ("Running", "Stopped"):
            raise ApiError(
                "IncorrectInstanceStatus",
                "The current status of the instance does not support this operation.",
                403,
            )
        for snap in state["ecs"].get("snapshots", []):
            if snap["SourceDiskId"] == disk["disk_id"] and self._snapshot_progress(snap)[0] == "progressing":
                raise ApiError(
                    "IncorrectDiskStatus.CreatingSnapshot",
                    "A previous snapshot creation is in progress.",
                    403,
                )

    def _owner(self, predicate: Callable[[dict[str, Any]], bool]) -> str | None:
        """The host whose ECS state satisfies ``predicate`` (read-only scan, then lock it to change it)."""
        for name, state in self.hosts():
            if predicate(state["ecs"]):
                return name
        return None

    def create_snapshot(self, p: Mapping[str, str]) -> dict[str, Any]:
        disk_id = p.get("DiskId") or ""
        name = p.get("SnapshotName", "")
        if name and (len(name) < 2 or name.lower().startswith(("auto", "http"))):
            raise ApiError("InvalidSnapshotName.Malformed", "Specified snapshot name is not valid.")
        host = self._owner(lambda ecs: any(d["disk_id"] == disk_id for d in ecs["disks"]))
        if host is None:
            raise ApiError("InvalidDiskId.NotFound", "The specified disk does not exist.", 404)
        with self.lab.host(host) as state:
            disk = next(d for d in state["ecs"]["disks"] if d["disk_id"] == disk_id)
            self._check_snapshottable(host, state, disk)
            snap = self._new_snapshot(state, disk, name, p.get("Description", ""), indexed(p, "Tag"))
            if "RetentionDays" in p:
                snap["RetentionDays"] = retention_days(p["RetentionDays"])
            if p.get("ResourceGroupId"):
                snap["ResourceGroupId"] = p["ResourceGroupId"]
        return {"SnapshotId": snap["SnapshotId"]}

    def create_snapshot_group(self, p: Mapping[str, str]) -> dict[str, Any]:
        region = _region(p)
        with self.host_of(p.get("InstanceId", ""), region) as (name, state):
            ecs = state["ecs"]
            wanted = indexed(p, "DiskId")
            excluded = set(indexed(p, "ExcludeDiskId"))
            disks = [
                d
                for d in ecs["disks"]
                if (not wanted or d["disk_id"] in wanted) and d["disk_id"] not in excluded
            ]
            unknown = set(wanted) - {d["disk_id"] for d in ecs["disks"]}
            if unknown:
                raise ApiError(
                    "InvalidDiskId.NotFound", f"The specified disk {sorted(unknown)[0]} does not exist.", 404
                )
            if any(d["category"] not in ESSD for d in disks):
                raise ApiError(
                    "InvalidDiskCategory.NotSupported",
                    "The snapshot-consistent group supports ESSD disks only.",
                    403,
                )
            if len(disks) > MAX_GROUP_DISKS:
                raise ApiError(
                    "InvalidParameter.DiskCount",
                    f"A snapshot-consistent group contains at most {MAX_GROUP_DISKS} disks.",
                )
            if sum(int(d["size_gib"]) for d in disks) > MAX_GROUP_GIB:
                raise ApiError(
                    "InvalidParameter.DiskSize", "The total capacity of a snapshot-consistent group exceeds 256 TiB."
                )
            for disk in disks:
                self._check_snapshottable(name, state, disk)
            # Test knob: disks whose snapshot a new group does not list (the API reference does not
            # promise a listing with one snapshot per requested disk, so the product must check).
            disks = [d for d in disks if d["disk_id"] not in self.group_omits_disks]
            group_id = _new_id("ssg")
            snaps = [
                self._new_snapshot(
                    state,
                    d,
                    f"{p.get('Name') or group_id}-{d['disk_id']}",
                    p.get("Description", ""),
                    [],
                    group_id,
                )
                for d in disks
            ]
            ecs.setdefault("snapshot_groups", []).append(
                {
                    "SnapshotGroupId": group_id,
                    "Name": p.get("Name", ""),
                    "Description": p.get("Description", ""),
                    "InstanceId": ecs["instance_id"],
                    "CreationTime": iso(self.clock()),
                    "created": self.clock(),
                    "Tags": indexed(p, "Tag"),
                    "snapshot_ids": [s["SnapshotId"] for s in snaps],
                }
            )
            return {"SnapshotGroupId": group_id}

    def describe_snapshot_groups(self, p: Mapping[str, str]) -> dict[str, Any]:
        region = _region(p)
        ids = indexed(p, "SnapshotGroupId")
        tags = indexed(p, "Tag")
        statuses = indexed(p, "Status")
        groups = []
        for _name, state in self.hosts(region):
            ecs = state["ecs"]
            if p.get("InstanceId") and ecs["instance_id"] != p["InstanceId"]:
                continue
            by_id = {s["SnapshotId"]: s for s in ecs.get("snapshots", [])}
            for group in ecs.get("snapshot_groups", []):
                if (ids and group["SnapshotGroupId"] not in ids) or (
                    tags and not matches_tags(group["Tags"], tags)
                ):
                    continue
                if not self.listed_yet(group.get("created", 0.0)):
                    continue
                snaps = [self.snapshot_view(by_id[i]) for i in group["snapshot_ids"] if i in by_id]
                states = {s["Status"] for s in snaps}
                status = (
                    "failed"
                    if "failed" in states
                    else ("progressing" if "progressing" in states else "accomplished")
                )
                if statuses and status not in statuses:
                    continue
                groups.append(
                    {
                        "SnapshotGroupId": group["SnapshotGroupId"],
                        "Name": group["Name"],
                        "Description": group["Description"],
                        "InstanceId": group["InstanceId"],
                        "CreationTime": group["CreationTime"],
                        "Status": status,
                        "ProgressStatus": status,
                        "Tags": {"Tag": [{"Key": t["Key"], "Value": t["Value"]} for t in group["Tags"]]},
                        "Snapshots": {
                            "Snapshot": [
                                {
                                    "SnapshotId": s["SnapshotId"],
                                    "SourceDiskId": s["SourceDiskId"],
                                    "SourceDiskType": s["SourceDiskType"],
                                    "Progress": s["Progress"],
                                    "Available": s["Available"],
                                    "Tags": {
                                        "Tag": [
                                            {"Key": t["TagKey"], "Value": t["TagValue"]}
                                            for t in s["Tags"]["Tag"]
                                        ]
                                    },
                                }
                                for s in snaps
                            ]
                        },
                    }
                )
        items, paging = token_page(p, groups, default_size=10, max_size=100)
        return {"SnapshotGroups": {"SnapshotGroup": items}, **paging}

    def tag_resources(self, p: Mapping[str, str]) -> dict[str, Any]:
        region = _region(p)
        if p.get("ResourceType") != "snapshot":
            raise ApiError("InvalidResourceType.NotSupported", "The fake tags snapshots only.")
        ids = set(indexed(p, "ResourceId"))
        tags = indexed(p, "Tag")
        if not ids or not tags:
            raise ApiError("MissingParameter", "ResourceId.N and Tag.N are mandatory for this action.")
        owners = {
            name
            for name, state in self.hosts(region)
            if ids & {s["SnapshotId"] for s in state["ecs"].get("snapshots", [])}
        }
        found = set()
        for name in sorted(owners):
            with self.lab.host(name) as state:
                for snap in state["ecs"].get("snapshots", []):
                    if snap["SnapshotId"] in ids:
                        current = {t["Key"]: t["Value"] for t in snap.get("Tags", [])}
                        current.update({t["Key"]: t.get("Value", "") for t in tags})
                        snap["Tags"] = [{"Key": k, "Value": v} for k, v in current.items()]
                        found.add(snap["SnapshotId"])
        if ids - found:
            raise ApiError(
                "InvalidResourceId.NotFound",
                f"The specified resource {sorted(ids - found)[0]} is not found.",
                404,
            )
        return {}

    def delete_snapshot(self, p: Mapping[str, str]) -> dict[str, Any]:
        snapshot_id = p.get("SnapshotId", "")
        host = self._owner(lambda ecs: any(s["SnapshotId"] == snapshot_id for s in ecs.get("snapshots", [])))
        if host is None:
            raise ApiError("InvalidSnapshotId.NotFound", "The specified snapshot does not exist.", 404)
        with self.lab.host(host) as state:
            snaps = state["ecs"]["snapshots"]
            snap = next(s for s in snaps if s["SnapshotId"] == snapshot_id)
            if self._snapshot_progress(snap)[0] == "progressing":
                raise ApiError(
                    "IncorrectSnapshotStatus",
                    "The current status of the snapshot does not support this operation.",
                    403,
                )
            snaps.remove(snap)
            for group in state["ecs"].get("snapshot_groups", []):
                if snapshot_id in group["snapshot_ids"]:
                    group["snapshot_ids"].remove(snapshot_id)
            state.setdefault("events", []).append(
                {"event": "ecs_snapshot_deleted", "snapshot_id": snapshot_id}
            )
        return {}

    # -- Cloud Assistant -------------------------------------------------------------------

    def run_command(self, p: Mapping[str, str]) -> dict[str, Any]:
        if p.get("Type") not in ("RunPowerShellScript", "RunBatScript", "RunShellScript"):
            raise ApiError("InvalidCommandType.Unsupported", "The specified command type is not supported.")
        content = p.get("CommandContent", "")
        if len(content) > MAX_CONTENT:
            raise ApiError(
                "InvalidCmdContent.LengthLimitExceeded",
                "The length of the command content exceeds the upper limit of 24 KB.",
            )
        if p.get("ContentEncoding", "PlainText") == "Base64":
            try:
                content = base64.b64decode(content, validate=True).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                raise ApiError(
                    "InvalidCmdContent.NotBase64", "The command content is not valid Base64."
                ) from None
        return self._invoke(p, _new_id("c"), content, int(p.get("Timeout") or 60))

    def invoke_command(self, p: Mapping[str, str]) -> dict[str, Any]:
        command_id = p.get("CommandId", "")
        if command_id != VIRTIO_COMMON_COMMAND:
            raise ApiError("InvalidCommandId.NotFound", "The specified command does not exist.", 404)
        # Timeout applies to this execution; without it the command's own timeout is used
        # (https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-invokecommand).
        timeout = int(p.get("Timeout") or COMMON_COMMAND_TIMEOUT)
        return self._invoke(p, command_id, "# common command\nInstallVirtIo", timeout)

    def _invoke(self, p: Mapping[str, str], command_id: str, content: str, timeout: int) -> dict[str, Any]:
        region = _region(p)
        ids = indexed(p, "InstanceId")
        if not ids or len(ids) > MAX_INVOCATION_INSTANCES:
            raise ApiError(
                "InvalidParameter.InstanceIds", f"Specify 1 to {MAX_INVOCATION_INSTANCES} InstanceId.N."
            )
        for instance_id in ids:
            # Checked read-only (every instance before any runs): the state is written once, below.
            name = self.instances().get(instance_id)
            state = self.lab.peek_host(name) if name is not None else None
            if state is None or state["ecs"]["region_id"] != region:
                raise ApiError("InvalidInstance.NotFound", "The specified InstanceId does not exist.", 404)
            if self.instance_view(name, state)["Status"] != "Running":
                raise ApiError("InstanceNotRunning", f"The instance {instance_id} is not running.", 403)
        invoke_id = _new_id("t")
        now = self.clock()
        for instance_id in ids:
            with self.host_of(instance_id, region) as (_name, state):
                record = self._execute(state, content, timeout, now)
                record.update(InvokeId=invoke_id, CommandId=command_id, InstanceId=instance_id)
                # What DescribeInvocations lists and filters by: the command's name (RunCommand's Name,
                # a common command's own name) and the invocation's Tag.N
                # (https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-describeinvocations)
                record.update(CommandName=p.get("Name") or command_id, Tags=indexed(p, "Tag"),
                              CommandType=p.get("Type") or "RunPowerShellScript")
                state["ecs"].setdefault("invocations", {})[invoke_id] = record
        # Which instances an invocation went to, so its results are read from those hosts only.
        self.__dict__.setdefault("_invocation_instances", {})[invoke_id] = list(ids)
        return {"InvokeId": invoke_id, "CommandId": command_id}

    def _execute(self, state: dict[str, Any], content: str, timeout: int, now: float) -> dict[str, Any]:
        """Decide what the command does on this host, apply its effect, and when it ends."""
        ecs = state["ecs"]
        record: dict[str, Any] = {"started": now, "StartTime": iso(now)}
        if not state.get("cloud_assistant", True):
            record.update(
                ends=now,
                final="Failed",
                ErrorCode="ClientNotRunning",
                ErrorInfo="the aliyun service is not running on the instance",
                ExitCode=None,
                output="",
            )
            return record
        # A read-only script the lab models (tests/fakeecs/scripts.py) runs script_seconds (real).
        from tests.fakeecs import latency, scripts

        # What was due on the host happens first (an install finishing, a boot loading its staged
        # driver), as for any command the instance runs.
        winhost.advance(state, self.lab.settings)
        modelled = scripts.answer(state, content, self.lab.settings)
        if modelled is not None:
            exit_code, output = modelled[:2]
            # a modelled script that installs (the package from a URL) ends when the lab's install does
            ends = modelled[2] if len(modelled) > 2 and modelled[2] is not None else None
            record.update(
                ends=ends if ends is not None else now + getattr(self, "script_seconds", latency.SCRIPT_SECONDS),
                final="Success" if exit_code == 0 else "Failed",
                ErrorCode="" if exit_code == 0 else "ExitCodeNonzero",
                ErrorInfo="" if exit_code == 0 else f"the process exited with a non-zero exit code: {exit_code}",
                ExitCode=exit_code,
                output=output,
            )
            return record
        install = bool(_INSTALL_RE.search(content))
        duration = winhost.update_settings(state)["duration_s"] if install else self.invocation_seconds
        if duration > timeout:
            record.update(
                ends=now + self.real(timeout),
                final="Timeout",
                ErrorCode="ExecutionTimeout",
                ErrorInfo=f"the command did not finish within {timeout} s",
                ExitCode=None,
                output="",
            )
            return record
        lines = []
        for match in _WRITE_RE.finditer(content):
            text = match.group(1) if match.group(1) is not None else match.group(2)
            lines.append(text if text is not None else match.group(3) * int(match.group(4)))
        exit_match = _EXIT_RE.search(content)
        exit_code = int(exit_match.group(1)) if exit_match else 0
        ends = now + self.real(duration)
        if install:
            exit_code, message, ends = self._install(state, now, ends)
            lines.append(message)
        record.update(
            ends=ends,
            final="Success" if exit_code == 0 else "Failed",
            ErrorCode="" if exit_code == 0 else "ExitCodeNonzero",
            ErrorInfo="" if exit_code == 0 else f"the process exited with a non-zero exit code: {exit_code}",
            ExitCode=exit_code,
            output="\n".join(lines),
        )
        return record

    def _install(self, state: dict[str, Any], now: float, ends: float) -> tuple[int, str, float]:
        """The virtio package install, as the rollout's lab models it (tests/simlab/winhost.py).

        One model for both install paths: the run is winhost's (``virtio_runs``, the host's
        ``update: {to, duration_s, exit_code}``), the NIC drop is winhost's outage
        (``faults.nic_drop_s``, a third of the way in), and a successful run stages
        ``pending_driver``, which the next boot (an API reboot or ``win_reboot``) loads.
        """
        major_minor = tuple(int(x) for x in state["os_version"].split(".")[:2])
        if major_minor < (6, 0) or state.get("product_type") == 1:
            return 1, "The virtio driver can be updated only on Windows Server 2008 or later.", now
        winhost.advance(state, self.lab.settings)
        run = winhost.start_install(state, self.lab.settings, _new_id("ca"), "cloud_assistant_api")
        state.setdefault("events", []).append({"event": "ecs_virtio_install", "at": now, "run_id": run["run_id"]})
        # The installer's own exit code is what the invocation reports: Cloud Assistant does not
        # interpret it, any non-zero code is InvocationStatus Failed / ErrorCode ExitCodeNonzero
        # (https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-describeinvocationresults),
        # so 3010 "installed, restart required" stays 3010.
        if run["exit_code"] not in (0, 3010):
            return run["exit_code"], f"ERROR: driver installation failed (code {run['exit_code']})", run["finishes_at"]
        return (
            run["exit_code"],
            f"The virtio driver {run['to']} is installed. Restart the instance for it to take effect.",
            run["finishes_at"],
        )

    def describe_invocations(self, p: Mapping[str, str]) -> dict[str, Any]:
        """The invocations of a region, one entry per InvokeId with its instances (test code: tests/fakeecs/invocations.py)."""
        from tests.fakeecs import invocations

        return invocations.describe(p, self.hosts(_region(p)), self.clock())

    def describe_invocation_results(self, p: Mapping[str, str]) -> dict[str, Any]:
        region = _region(p)
        invoke_id = p.get("InvokeId")
        now = self.clock()
        records = []
        known = self.__dict__.get("_invocation_instances", {}).get(invoke_id) if invoke_id else None
        if known is not None:
            names = [self.instances()[i] for i in known]
            searched = [(n, s) for n, s in ((n, self.lab.peek_host(n)) for n in names) if s["ecs"]["region_id"] == region]
        else:
            searched = self.hosts(region)
        for _name, state in searched:
            for record in state["ecs"].get("invocations", {}).values():
                if invoke_id and record["InvokeId"] != invoke_id:
                    continue
                if p.get("InstanceId") and record["InstanceId"] != p["InstanceId"]:
                    continue
                records.append(_result_view(record, now, p.get("ContentEncoding", "Base64")))
        if invoke_id and not records:
            raise ApiError("InvalidInvokeId.NotFound", "The specified invocation does not exist.", 404)
        items, paging = page(p, records, max_size=50)
        return {"Invocation": {"InvocationResults": {"InvocationResult": items}, **paging}}


def _result_view(record: dict[str, Any], now: float, encoding: str) -> dict[str, Any]:
    finished = now >= record["ends"]
    status = record["final"] if finished else "Running"
    output = record.get("output", "") if finished else ""
    raw = output.encode("utf-8")
    dropped = max(0, len(raw) - MAX_OUTPUT)
    raw = raw[:MAX_OUTPUT]
    text = base64.b64encode(raw).decode("ascii") if encoding == "Base64" else raw.decode("utf-8", "replace")
    return {
        "InstanceId": record["InstanceId"],
        "InvokeId": record["InvokeId"],
        "CommandId": record["CommandId"],
        "InvocationStatus": status,
        "InvokeRecordStatus": "Finished" if finished else "Running",
        "ExitCode": record.get("ExitCode") if finished else None,
        "ErrorCode": record.get("ErrorCode", "") if finished else "",
        "ErrorInfo": record.get("ErrorInfo", "") if finished else "",
        "Output": text,
        "Dropped": dropped,
        "StartTime": record["StartTime"],
        "FinishedTime": iso(record["ends"]) if finished else None,
        "Repeats": 1,
    }


def _region(p: Mapping[str, str]) -> str:
    region = p.get("RegionId")
    if not region:
        raise ApiError("MissingRegionId", "RegionId is mandatory for this action.")
    return region


class _HostContext:
    """``with world.host_of(id, region) as (name, state)``: the host locked, region checked."""

    def __init__(self, world: EcsWorld, name: str, region: str | None, code: str) -> None:
        self.world, self.name, self.region, self.code = world, name, region, code
        self._cm = None

    def __enter__(self) -> tuple[str, dict[str, Any]]:
        self._cm = self.world.lab.host(self.name)
        state = self._cm.__enter__()
        if self.region is not None and state["ecs"]["region_id"] != self.region:
            self._cm.__exit__(None, None, None)
            raise ApiError(self.code, "The specified InstanceId does not exist.", 404)
        return self.name, state

    def __exit__(self, *exc: Any) -> None:
        self._cm.__exit__(*exc)


ACTIONS: dict[str, str] = {
    "DescribeInstances": "describe_instances",
    "RebootInstances": "reboot_instances",
    "DescribeDisks": "describe_disks",
    "DescribeSnapshots": "describe_snapshots",
    "CreateSnapshot": "create_snapshot",
    "CreateSnapshotGroup": "create_snapshot_group",
    "DescribeSnapshotGroups": "describe_snapshot_groups",
    "TagResources": "tag_resources",
    "DeleteSnapshot": "delete_snapshot",
    "ModifySnapshotAttribute": "modify_snapshot_attribute",
    "DeleteSnapshotGroup": "delete_snapshot_group",
    "RunCommand": "run_command",
    "InvokeCommand": "invoke_command",
    "DescribeInvocationResults": "describe_invocation_results",
    "DescribeInvocations": "describe_invocations",
    "DescribeRegions": "describe_regions",
    "DescribeCloudAssistantStatus": "describe_cloud_assistant_status",
}


def request_id() -> str:
    return str(uuid.uuid4()).upper()
