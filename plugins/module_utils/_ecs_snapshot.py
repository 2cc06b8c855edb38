# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Disk snapshots of an ECS instance before an update (for internal collection use only).

The decisions are pure functions over the API's own dicts (which disks, snapshot group or one
snapshot per disk, what an earlier run already made, when a wait is over, what may be deleted),
unit-tested without a network. :func:`ensure_snapshots` and :func:`remove_snapshots` drive an
:class:`~._alicloud.EcsClient` with them; ``plugins/modules/ecs_snapshot.py`` only maps options.

Idempotency rests on one tag: every snapshot made for a rollout carries
``<tag_key>=<rollout_id>``; a re-run finds them (and a snapshot group made by an interrupted
run) and returns them instead of creating duplicates.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Mapping, Sequence

from ansible_collections.winfleet.updates.plugins.module_utils._alicloud import (
    NOT_FOUND,
    AlicloudError,
    EcsClient,
    OperationFailed,
    Waiting,
    call_tokened,
    client_token,
    dig,
    max_polls,
    tag_list,
    tags_of,
    wait_until,
)
from ansible_collections.winfleet.updates.plugins.module_utils._ecs_limits import (
    SNAPSHOT_GROUP_MAX_DISKS,
    SNAPSHOT_GROUP_MAX_TIB,
    limit,
)
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._strings import check_text

DEFAULT_TAG_KEY = "winfleet:rollout-id"
#: Disk categories a snapshot-consistent group accepts (the ESSD family).
ESSD_CATEGORIES = frozenset({"cloud_essd", "cloud_auto", "cloud_essd_entry"})
#: CreateSnapshotGroup's limits (128 disks, 256 TiB): the table with sources in _ecs_limits.py.
#: An instance above them falls back to one snapshot per disk, which is always valid.

#: Disk categories that cannot be snapshotted: local disks and elastic ephemeral disks (the
#: categories of DescribeDisksRequest.category in the pinned SDK; snapshots are for cloud disks,
#: https://www.alibabacloud.com/help/en/ecs/user-guide/snapshots-overview).
UNSNAPSHOTTABLE_CATEGORIES = frozenset(
    {
        "local_ssd_pro",
        "local_hdd_pro",
        "ephemeral",
        "ephemeral_ssd",
        "elastic_ephemeral_disk_standard",
        "elastic_ephemeral_disk_premium",
    }
)
#: Days after which a rollout snapshot is released automatically (CreateSnapshot RetentionDays):
#: a safety net behind delete_after_verify, so a forgotten snapshot does not cost for ever.
DEFAULT_RETENTION_DAYS = 7
BUSY_DISK_CODE = "IncorrectDiskStatus.CreatingSnapshot"

ACCOMPLISHED = "accomplished"
PROGRESSING = "progressing"
FAILED = "failed"

_TAG_FORBIDDEN_PREFIXES = ("aliyun", "acs:")


# ---------------------------------------------------------------------------------------------
# Pure decisions.
# ---------------------------------------------------------------------------------------------


def rollout_tags(tag_key: str, rollout_id: str, extra: Mapping[str, Any] | None = None) -> dict[str, str]:
    """The tags every snapshot of this rollout carries; validated as the API would."""
    if not rollout_id or len(rollout_id) > 128 or "://" in rollout_id:
        raise InputError("rollout_id", f"expected 1 to 128 characters without '://', got {rollout_id!r}")
    tags = {str(k): str(v) for k, v in (extra or {}).items()}
    tags[tag_key] = rollout_id
    for key, value in tags.items():
        field_name = "tag_key" if key == tag_key else f"tags.{key}"
        check_text(field_name, key)
        check_text("rollout_id" if key == tag_key else field_name, value)
        if not key or len(key) > 128 or key.lower().startswith(_TAG_FORBIDDEN_PREFIXES) or "://" in key:
            raise InputError(
                field_name,
                f"tag key {key!r}: 1 to 128 characters, not starting with 'aliyun' or 'acs:', without '://'",
            )
        if len(value) > 128 or "://" in value:
            raise InputError(field_name, f"tag value {value!r}: at most 128 characters, without '://'")
    if len(tags) > 20:
        raise InputError("tags", f"at most 20 tags per snapshot, got {len(tags)}")
    return tags


def validate_description(description: Any) -> str:
    """A snapshot description as CreateSnapshot and CreateSnapshotGroup take it.

    2 to 256 characters, not starting with ``http://`` or ``https://``
    (https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-createsnapshot);
    empty means the collection's own description. Control characters are refused.
    """
    text = check_text("description", description, max_length=256)
    if text and (len(text) < 2 or text.lower().startswith(("http://", "https://"))):
        raise InputError("description", "must be 2 to 256 characters and must not start with http:// or https://")
    return text


def select_disks(disks: Sequence[Mapping[str, Any]], scope: str) -> list[dict[str, Any]]:
    """The disks to snapshot, system disk first; ``scope`` is ``all`` or ``system``."""
    if scope not in ("all", "system"):
        raise InputError("disk_scope", f"expected 'all' or 'system', got {scope!r}")
    chosen = [dict(d) for d in disks if scope == "all" or str(d.get("Type", "")).lower() == "system"]
    return sorted(
        chosen,
        key=lambda d: (
            str(d.get("Type", "")).lower() != "system",
            str(d.get("Device") or ""),
            str(d["DiskId"]),
        ),
    )


def split_snapshottable(
    disks: Sequence[Mapping[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(cloud disks to snapshot, skipped local / ephemeral disks with the reason)."""
    keep, skipped = [], []
    for disk in disks:
        category = str(disk.get("Category") or "")
        if category in UNSNAPSHOTTABLE_CATEGORIES:
            skipped.append(
                {
                    "disk_id": disk.get("DiskId"),
                    "category": category,
                    "reason": f"{category} is a local or ephemeral disk, which cannot be snapshotted",
                }
            )
        else:
            keep.append(dict(disk))
    return keep, skipped


def validate_retention_days(days: int) -> int | None:
    """``retention_days`` as CreateSnapshot's RetentionDays: 0 keeps the snapshot (None)."""
    high = limit("retention_days_max")
    if days < 0 or days > high:
        raise InputError("retention_days", f"expected 0 (keep) or 1 to {high} days, got {days}")
    return days or None


def group_decision(
    disks: Sequence[Mapping[str, Any]], snapshot_group: str, max_disks: int = SNAPSHOT_GROUP_MAX_DISKS
) -> tuple[bool, str]:
    """Whether to use CreateSnapshotGroup, and why (the reason goes into the result).

    A group gives crash-consistent snapshots of all disks at one instant, which is what a
    rollback of a multi-disk Windows server needs; it exists only for ESSD disks.
    """
    if snapshot_group not in ("auto", "never"):
        raise InputError("snapshot_group", f"expected 'auto' or 'never', got {snapshot_group!r}")
    if snapshot_group == "never":
        return False, "snapshot_group=never: one snapshot per disk"
    if not disks:
        return False, "no disks"
    other = sorted({str(d.get("Category")) for d in disks} - ESSD_CATEGORIES)
    if other:
        return False, f"not all disks are ESSD (also {', '.join(other)}): one snapshot per disk"
    if len(disks) > max_disks:
        return False, f"{len(disks)} disks, more than a snapshot group's {max_disks}: one snapshot per disk"
    total_gib = sum(int(d.get("Size") or 0) for d in disks)
    if total_gib > SNAPSHOT_GROUP_MAX_TIB * 1024:
        return False, f"{total_gib} GiB in total, more than a snapshot group's {SNAPSHOT_GROUP_MAX_TIB} TiB"
    return True, f"{len(disks)} ESSD disk(s): one crash-consistent snapshot group"


def snapshot_status(snapshot: Mapping[str, Any]) -> str:
    """``accomplished``, ``progressing`` or ``failed`` (the API's Status, normalised)."""
    status = str(snapshot.get("Status") or "").lower()
    if status in (ACCOMPLISHED, FAILED):
        return status
    if status == "" and progress_percent(snapshot.get("Progress")) >= 100:
        return ACCOMPLISHED  # snapshots listed inside a group carry Progress only
    return PROGRESSING


def progress_percent(progress: Any) -> int:
    """``"85%"`` -> 85; anything unreadable is 0 (still progressing)."""
    match = re.match(r"\s*(\d+)", str(progress or ""))
    return min(100, int(match.group(1))) if match else 0


def snapshot_row(snapshot: Mapping[str, Any], group_id: str | None = None) -> dict[str, Any]:
    """One snapshot as the module returns it (and the rollout report lists it)."""
    return {
        "snapshot_id": snapshot.get("SnapshotId"),
        "disk_id": snapshot.get("SourceDiskId"),
        "disk_type": str(snapshot.get("SourceDiskType") or "").lower() or None,
        "status": snapshot_status(snapshot),
        "progress": progress_percent(snapshot.get("Progress")),
        "creation_time": snapshot.get("CreationTime"),
        "snapshot_group_id": group_id or snapshot.get("SnapshotGroupId"),
        "available": snapshot.get("Available") is True or snapshot_status(snapshot) == ACCOMPLISHED,
    }


@dataclass
class SnapshotPlan:
    """What to do for one instance: reuse, create per disk, or create one group."""

    reuse: list[dict[str, Any]] = field(default_factory=list)
    create: list[dict[str, Any]] = field(default_factory=list)
    use_group: bool = False
    reason: str = ""


def plan_snapshots(
    disks: Sequence[Mapping[str, Any]],
    existing: Sequence[Mapping[str, Any]],
    snapshot_group: str,
    max_group_disks: int = SNAPSHOT_GROUP_MAX_DISKS,
) -> SnapshotPlan:
    """Reuse this rollout's usable snapshots; snapshot only the disks still without one.

    A failed snapshot is not reused (a new one is made). Completing a partial earlier run is done
    per disk: a group of the remaining disks would not be consistent with the others anyway.
    """
    usable = {}
    for snap in existing:
        if snapshot_status(snap) != FAILED and snap.get("SourceDiskId") not in usable:
            usable[snap.get("SourceDiskId")] = dict(snap)
    reuse = [usable[d["DiskId"]] for d in disks if d["DiskId"] in usable]
    missing = [dict(d) for d in disks if d["DiskId"] not in usable]
    if not missing:
        return SnapshotPlan(reuse=reuse, reason="this rollout's snapshots exist already")
    if reuse:
        return SnapshotPlan(
            reuse=reuse, create=missing, reason="completing an earlier partial run: one snapshot per disk"
        )
    use_group, reason = group_decision(missing, snapshot_group, max_group_disks)
    return SnapshotPlan(create=missing, use_group=use_group, reason=reason)


def usable(snapshot: Mapping[str, Any], instant_access: bool) -> bool:
    """Whether a snapshot is a rollback point: accomplished, or (opted in) ``Available`` already.

    With ESSD instant access a snapshot can be used to roll back or create a disk as soon as the
    API says ``Available: true``, long before it reaches 100 %
    (https://www.alibabacloud.com/help/en/ecs/user-guide/instant-access).
    """
    status = snapshot_status(snapshot)
    return status == ACCOMPLISHED or (
        instant_access and status != FAILED and snapshot.get("Available") is True
    )


def wait_state(
    snapshots: Sequence[Mapping[str, Any]], instant_access: bool = False
) -> tuple[bool, list[Mapping[str, Any]]]:
    """(finished, failed ones): finished when every snapshot is usable, or one failed."""
    failed = [s for s in snapshots if snapshot_status(s) == FAILED]
    pending = [s for s in snapshots if not usable(s, instant_access)]
    return (not pending or bool(failed)), failed


def parse_time(value: str | None) -> datetime | None:
    """The API's UTC times (``2024-05-01T08:00:00Z`` or ``2024-05-01T08:00Z``)."""
    if not value:
        return None
    for fmt in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%MZ"):
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    return None


def deletion_plan(
    snapshots: Sequence[Mapping[str, Any]], now: datetime, grace_minutes: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Which tagged snapshots to delete now, and which to keep with the reason.

    Kept: snapshots still being created (the API refuses to delete them) and, with a grace
    period, those younger than it, so a rollback stays possible for a while after the update.
    """
    if grace_minutes < 0:
        raise InputError("grace_minutes", f"expected a number of minutes >= 0, got {grace_minutes}")
    delete, keep = [], []
    for snap in snapshots:
        row = snapshot_row(snap)
        created = parse_time(snap.get("CreationTime"))
        if snapshot_status(snap) == PROGRESSING:
            keep.append({**row, "reason": "still being created"})
        elif grace_minutes and (created is None or (now - created).total_seconds() < grace_minutes * 60):
            keep.append({**row, "reason": f"younger than the grace period of {grace_minutes} minutes"})
        else:
            delete.append(row)
    return delete, keep


# Request builders: plain dicts in the API's parameter names (EcsClient turns them into SDK models).


def describe_instances_params(region_id: str, instance_ids: Sequence[str]) -> dict[str, Any]:
    return {"RegionId": region_id, "InstanceIds": json.dumps(list(instance_ids))}


def describe_disks_params(region_id: str, instance_id: str) -> dict[str, Any]:
    return {"RegionId": region_id, "InstanceId": instance_id}


def describe_snapshots_params(
    region_id: str,
    tags: Mapping[str, str],
    instance_id: str | None = None,
    snapshot_ids: Sequence[str] | None = None,
) -> dict[str, Any]:
    params: dict[str, Any] = {"RegionId": region_id}
    if tags:
        params["Tag"] = tag_list(tags)
    if instance_id:
        params["InstanceId"] = instance_id
    if snapshot_ids:
        params["SnapshotIds"] = json.dumps(list(snapshot_ids))
    return params


def create_snapshot_params(
    disk: Mapping[str, Any],
    name: str,
    description: str,
    tags: Mapping[str, str],
    token: str,
    retention_days: int | None = None,
    resource_group_id: str | None = None,
) -> dict[str, Any]:
    """CreateSnapshot, tagged at creation so a snapshot is findable even if the run dies next."""
    params: dict[str, Any] = {
        "DiskId": disk["DiskId"],
        "SnapshotName": snapshot_name(name, disk),
        "Description": description,
        "Tag": tag_list(tags),
        "ClientToken": token,
    }
    if retention_days:
        params["RetentionDays"] = retention_days
    if resource_group_id:
        params["ResourceGroupId"] = resource_group_id
    return params


def create_snapshot_group_params(
    region_id: str,
    instance_id: str,
    disks: Sequence[Mapping[str, Any]],
    name: str,
    description: str,
    tags: Mapping[str, str],
    token: str,
    resource_group_id: str | None = None,
) -> dict[str, Any]:
    """CreateSnapshotGroup, the group tagged at creation (it has no RetentionDays: set per snapshot)."""
    params: dict[str, Any] = {
        "RegionId": region_id,
        "InstanceId": instance_id,
        "DiskId": [d["DiskId"] for d in disks],
        "Name": name,
        "Description": description,
        "Tag": tag_list(tags),
        "ClientToken": token,
    }
    if resource_group_id:
        params["ResourceGroupId"] = resource_group_id
    return params


def describe_snapshot_groups_params(
    region_id: str,
    instance_id: str | None = None,
    tags: Mapping[str, str] | None = None,
    group_ids: Sequence[str] | None = None,
) -> dict[str, Any]:
    params: dict[str, Any] = {"RegionId": region_id}
    if instance_id:
        params["InstanceId"] = instance_id
    if tags:
        params["Tag"] = tag_list(tags)
    if group_ids:
        params["SnapshotGroupId"] = list(group_ids)
    return params


def snapshot_name(prefix: str, disk: Mapping[str, Any]) -> str:
    """``<prefix>-system-d-abc`` (2 to 128 characters, must not start with http/auto)."""
    kind = str(disk.get("Type") or "disk").lower()
    return f"{prefix}-{kind}-{disk['DiskId']}"[:128]


def name_for(rollout_id: str) -> str:
    """A readable snapshot / group name for a rollout: letters, digits, '-', '_', '.' only."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", rollout_id).strip("-") or "rollout"
    return f"winfleet-{cleaned}"[:64]


# ---------------------------------------------------------------------------------------------
# Driving the API.
# ---------------------------------------------------------------------------------------------


def describe_instance(client: EcsClient, instance_id: str) -> dict[str, Any]:
    """The instance, or AlicloudError InvalidInstanceId.NotFound naming it and the region."""
    body = client.call(
        "DescribeInstances",
        describe_instances_params(client.region_id, [instance_id]),
        context=f"instance {instance_id}",
    )
    for instance in dig(body, ("Instances", "Instance")):
        if instance.get("InstanceId") == instance_id:
            return instance
    raise AlicloudError(
        "DescribeInstances",
        NOT_FOUND,
        "InvalidInstanceId.NotFound",
        f"no instance {instance_id} in region {client.region_id}",
        context=f"instance {instance_id}",
    )


def _groups_of(
    client: EcsClient,
    context: str,
    instance_id: str | None = None,
    tags: Mapping[str, str] | None = None,
    group_ids: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Snapshot groups (paged with NextToken: DescribeSnapshotGroups has no PageNumber)."""
    return call_tokened(
        client,
        "DescribeSnapshotGroups",
        describe_snapshot_groups_params(client.region_id, instance_id, tags, group_ids),
        ("SnapshotGroups", "SnapshotGroup"),
        context=context,
        max_results=limit("describe_snapshot_groups_max_results"),
    )


def find_existing(
    client: EcsClient, instance_id: str | None, tags: Mapping[str, str]
) -> list[dict[str, Any]]:
    """This rollout's snapshots (by tag), including those of a snapshot group made earlier."""
    context = f"instance {instance_id}" if instance_id else f"tag {tags}"
    found = {
        s["SnapshotId"]: s
        for s in client.call_paged(
            "DescribeSnapshots",
            describe_snapshots_params(client.region_id, tags, instance_id),
            ("Snapshots", "Snapshot"),
            context=context,
        )
    }
    if instance_id:
        for group in _groups_of(client, context, instance_id, tags):
            if str(group.get("Status")).lower() == FAILED:
                continue
            for snap in dig(group, ("Snapshots", "Snapshot")):
                found[snap["SnapshotId"]] = {
                    **snap,
                    **found.get(snap["SnapshotId"], {}),
                    "SnapshotGroupId": group.get("SnapshotGroupId"),
                }
    return list(found.values())


@dataclass
class _Run:
    """What one ensure_snapshots call knows: the client, its bounds and the result so far."""

    client: EcsClient
    context: str
    tags: dict[str, str]
    waiting: Waiting
    result: dict[str, Any]
    deadline: float = 0.0

    def fail(self, message: str, err: AlicloudError | None = None) -> OperationFailed:
        """An OperationFailed that carries every id made so far (the operator's cleanup list)."""
        extra = {}
        if err is not None:
            extra = {"error_code": err.code or None, "error_kind": err.kind, "request_id": err.request_id}
        return OperationFailed(message, {**self.result, **extra})


def _busy_retry(run: _Run, send: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Send a creation; while the disk is busy with another snapshot, wait and retry.

    An automatic snapshot policy can be snapshotting the disk at that moment
    (IncorrectDiskStatus.CreatingSnapshot,
    https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-createsnapshot);
    it ends on its own, so it is waited for within the wait timeout instead of failing the host.
    """
    for _attempt in range(max_polls(max(0.0, run.deadline - run.waiting.clock()), run.waiting.interval) + 1):
        try:
            return send()
        except AlicloudError as err:
            if err.code != BUSY_DISK_CODE or run.waiting.clock() + run.waiting.interval > run.deadline:
                raise
            run.waiting.sleep(run.waiting.interval)
    return send()


def ensure_snapshots(
    client: EcsClient,
    instance_id: str,
    rollout_id: str,
    *,
    tag_key: str = DEFAULT_TAG_KEY,
    extra_tags: Mapping[str, Any] | None = None,
    disk_scope: str = "all",
    snapshot_group: str = "auto",
    description: str = "",
    wait: bool = True,
    waiting: Waiting | None = None,
    check_mode: bool = False,
    retention_days: int = DEFAULT_RETENTION_DAYS,
    resource_group_id: str | None = None,
    instant_access: bool = False,
) -> dict[str, Any]:
    """Snapshot the instance's disks for ``rollout_id`` (or find the ones made already).

    Every snapshot is tagged as it is made (CreateSnapshot's Tag.N; a group's snapshots right
    after CreateSnapshotGroup, before any wait), so a failure or a timeout at any later point
    leaves snapshots that a re-run adopts and ``state: absent`` finds.
    """
    waiting = waiting or Waiting()
    tags = rollout_tags(tag_key, rollout_id, extra_tags)
    retention = validate_retention_days(retention_days)
    description = validate_description(description)
    if wait:
        max_polls(waiting.timeout, waiting.interval)  # bad bounds fail before anything is created
    context = f"instance {instance_id}"
    describe_instance(client, instance_id)
    selected = select_disks(
        client.call_paged(
            "DescribeDisks",
            describe_disks_params(client.region_id, instance_id),
            ("Disks", "Disk"),
            context=context,
        ),
        disk_scope,
    )
    disks, skipped = split_snapshottable(selected)
    if not disks:
        raise InputError(
            "instance_id",
            f"instance {instance_id} has no {'system ' if disk_scope == 'system' else ''}disk to snapshot",
        )
    existing = find_existing(client, instance_id, {tag_key: rollout_id})
    plan = plan_snapshots(disks, existing, snapshot_group)
    result: dict[str, Any] = {
        "changed": False,
        "instance_id": instance_id,
        "region_id": client.region_id,
        "rollout_id": rollout_id,
        "reason": plan.reason,
        "snapshot_group_id": None,
        "created": [],
        "reused": [s["SnapshotId"] for s in plan.reuse],
        "skipped_disks": skipped,
        "retention_days": retention or 0,
        "snapshot_ids": [s["SnapshotId"] for s in plan.reuse],
    }
    if check_mode:
        result.update(
            changed=bool(plan.create),
            mode=_mode(plan),
            would_create=[
                {
                    "disk_id": d["DiskId"],
                    "disk_type": str(d.get("Type")).lower(),
                    "category": d.get("Category"),
                    "size_gib": d.get("Size"),
                }
                for d in plan.create
            ],
            snapshots=[snapshot_row(s) for s in plan.reuse],
        )
        result["snapshot_ids"] = [r["snapshot_id"] for r in result["snapshots"]]
        return result
    run = _Run(client, context, tags, waiting, result, waiting.clock() + waiting.timeout)
    name = name_for(rollout_id)
    description = description or f"winfleet.updates: before the virtio driver update, rollout {rollout_id}"
    snapshots = list(plan.reuse)
    group_id = next((s.get("SnapshotGroupId") for s in plan.reuse if s.get("SnapshotGroupId")), None)
    result.update(changed=bool(plan.create), mode=_mode(plan))
    if plan.use_group:
        group_id, made = _create_group(
            run, instance_id, plan.create, name, description, resource_group_id, retention
        )
        snapshots.extend(made)
    else:
        snapshots.extend(_create_per_disk(run, plan.create, name, description, retention, resource_group_id))
    result["snapshot_group_id"] = group_id
    _missing_disks_fail(run, disks, snapshots)
    if wait:
        snapshots = _wait_for_snapshots(
            client, snapshots, group_id if plan.use_group else None, waiting, context, result, instant_access
        )
    _ensure_tagged(client, [s for s in snapshots if s.get("SnapshotGroupId")], tags, context)
    result["snapshots"] = [snapshot_row(s) for s in snapshots]
    result["snapshot_ids"] = [r["snapshot_id"] for r in result["snapshots"]]
    return result


def _record(run: _Run, snapshot_ids: Sequence[str]) -> None:
    """Add made snapshots to the result at once, so any later failure still reports them."""
    run.result["created"] = [*run.result["created"], *snapshot_ids]
    run.result["snapshot_ids"] = [*run.result["snapshot_ids"], *snapshot_ids]


def _create_per_disk(
    run: _Run,
    disks: Sequence[Mapping[str, Any]],
    name: str,
    description: str,
    retention: int | None,
    resource_group_id: str | None,
) -> list[dict[str, Any]]:
    """CreateSnapshot per disk; a refusal fails with the ids already made (to keep or delete)."""
    made = []
    for disk in disks:
        params = create_snapshot_params(
            disk, name, description, run.tags, client_token(), retention, resource_group_id
        )
        where = f"disk {disk['DiskId']} of {run.context}"
        try:
            body = _busy_retry(run, lambda p=params, w=where: run.client.call("CreateSnapshot", p, context=w))
        except AlicloudError as err:
            done = ", ".join(run.result["created"]) or "none"
            raise run.fail(
                f"{err}; snapshots made before it for this rollout: {done} (they carry the rollout tag: "
                "run again to complete them, or delete them with ecs_snapshot state=absent and this rollout id)",
                err,
            ) from None
        _record(run, [body.get("SnapshotId")])
        made.append(
            {
                "SnapshotId": body.get("SnapshotId"),
                "SourceDiskId": disk["DiskId"],
                "SourceDiskType": disk.get("Type"),
                "Status": PROGRESSING,
                "Progress": "0%",
            }
        )
    return made


def _create_group(
    run: _Run,
    instance_id: str,
    disks: Sequence[Mapping[str, Any]],
    name: str,
    description: str,
    resource_group_id: str | None,
    retention: int | None,
) -> tuple[str, list[dict[str, Any]]]:
    """CreateSnapshotGroup, then its snapshots once listed, tagged and given their retention."""
    params = create_snapshot_group_params(
        run.client.region_id,
        instance_id,
        disks,
        name,
        description,
        run.tags,
        client_token(),
        resource_group_id,
    )
    body = _busy_retry(run, lambda: run.client.call("CreateSnapshotGroup", params, context=run.context))
    group_id = str(body.get("SnapshotGroupId"))
    run.result["snapshot_group_id"] = group_id
    snapshots = _group_snapshots_once_listed(run, group_id, {d["DiskId"] for d in disks})
    _record(run, [s["SnapshotId"] for s in snapshots])
    _ensure_tagged(run.client, snapshots, run.tags, run.context)
    if retention:
        for snap in snapshots:
            run.client.call(
                "ModifySnapshotAttribute",
                {"SnapshotId": snap["SnapshotId"], "RetentionDays": retention},
                context=f"snapshot {snap['SnapshotId']} of {run.context}",
                idempotent=True,
            )
    return group_id, snapshots


def _group_snapshots_once_listed(run: _Run, group_id: str, disk_ids: set[str]) -> list[dict[str, Any]]:
    """The new group's snapshots, waiting out the read-after-create lag of DescribeSnapshotGroups.

    A group just made may not be listed yet, or list fewer snapshots than it has disks: both are
    polled within the wait timeout. Still missing then is an error naming the group (tagged at
    creation, so ``state: absent`` with the rollout id finds it), never a success.
    """

    def poll() -> list[dict[str, Any]] | None:
        try:
            return _group_snapshots(run.client, group_id, run.context)
        except AlicloudError as err:
            if err.kind == NOT_FOUND:
                return None
            raise

    outcome = wait_until(
        poll,
        lambda snaps: snaps is not None and disk_ids <= {s.get("SourceDiskId") for s in snaps},
        max(0.0, run.deadline - run.waiting.clock()),
        run.waiting.interval,
        run.waiting.clock,
        run.waiting.sleep,
    )
    if outcome.value is None:
        raise run.fail(
            f"{run.context}: snapshot group {group_id} was created but is not listed by DescribeSnapshotGroups "
            f"after {outcome.elapsed:.0f} s; run again with the same rollout id (the group is adopted), or delete "
            "it with ecs_snapshot state=absent and this rollout id"
        )
    if not outcome.done:
        listed = sorted(str(s.get("SourceDiskId")) for s in outcome.value)
        missing = sorted(disk_ids - set(listed))
        raise run.fail(
            f"{run.context}: snapshot group {group_id} lists {len(listed)} snapshot(s) for {len(disk_ids)} disk(s); "
            f"no snapshot of {', '.join(missing)}. Delete the group with ecs_snapshot state=absent and this "
            "rollout id and run again"
        )
    return outcome.value


def _missing_disks_fail(
    run: _Run, disks: Sequence[Mapping[str, Any]], snapshots: Sequence[Mapping[str, Any]]
) -> None:
    """Never report success for an instance with a disk left without a snapshot."""
    covered = {s.get("SourceDiskId") for s in snapshots}
    missing = [d["DiskId"] for d in disks if d["DiskId"] not in covered]
    if missing:
        raise run.fail(
            f"{run.context}: no snapshot of disk(s) {', '.join(missing)} was made; run again with the same "
            "rollout id to complete them"
        )


def _mode(plan: SnapshotPlan) -> str:
    if not plan.create:
        return "existing"
    return "group" if plan.use_group else "per_disk"


def _group_snapshots(client: EcsClient, group_id: str, context: str) -> list[dict[str, Any]]:
    """The snapshots of one group; each carries the group's Status while the group decides it."""
    for group in _groups_of(client, context, group_ids=[group_id]):
        if group.get("SnapshotGroupId") == group_id:
            return _snapshots_in(group)
    raise AlicloudError(
        "DescribeSnapshotGroups",
        NOT_FOUND,
        "InvalidSnapshotGroupId.NotFound",
        f"snapshot group {group_id} is not listed",
        context=context,
    )


def _snapshots_in(group: Mapping[str, Any]) -> list[dict[str, Any]]:
    group_id = group.get("SnapshotGroupId")
    status = str(group.get("Status") or "").lower()
    snaps = []
    for snap in dig(group, ("Snapshots", "Snapshot")):
        own = ACCOMPLISHED if progress_percent(snap.get("Progress")) >= 100 else PROGRESSING
        if status == FAILED and own != ACCOMPLISHED:
            own = FAILED
        snaps.append(
            {
                "CreationTime": group.get("CreationTime"),
                **snap,
                "Status": ACCOMPLISHED if status == ACCOMPLISHED else own,
                "SnapshotGroupId": group_id,
            }
        )
    return snaps


def _wait_for_snapshots(
    client: EcsClient,
    snapshots: list[dict[str, Any]],
    group_id: str | None,
    waiting: Waiting,
    context: str,
    result: dict[str, Any],
    instant_access: bool = False,
) -> list[dict[str, Any]]:
    """Poll until every snapshot is accomplished; OperationFailed on a failure or the timeout.

    A group is polled through DescribeSnapshotGroups (its status is the group's); snapshots
    made one per disk, and snapshots reused from an earlier run, through DescribeSnapshots.
    """
    grouped = {s["SnapshotId"] for s in snapshots if group_id and s.get("SnapshotGroupId") == group_id}
    singles = [s["SnapshotId"] for s in snapshots if s["SnapshotId"] not in grouped]

    def poll() -> list[dict[str, Any]]:
        latest: dict[str, dict[str, Any]] = {}
        if singles:
            latest.update(
                {
                    s["SnapshotId"]: s
                    for s in client.call_paged(
                        "DescribeSnapshots",
                        describe_snapshots_params(client.region_id, {}, snapshot_ids=singles),
                        ("Snapshots", "Snapshot"),
                        context=context,
                    )
                }
            )
        if group_id and grouped:
            latest.update({s["SnapshotId"]: s for s in _group_snapshots(client, group_id, context)})
        return [
            {**s, **latest[s["SnapshotId"]]} if s["SnapshotId"] in latest else {**s, "Status": PROGRESSING}
            for s in snapshots
        ]

    outcome = wait_until(
        poll,
        lambda snaps: wait_state(snaps, instant_access)[0],
        waiting.timeout,
        waiting.interval,
        waiting.clock,
        waiting.sleep,
    )
    snaps = outcome.value
    result["snapshots"] = [snapshot_row(s) for s in snaps]
    result["snapshot_ids"] = [s["SnapshotId"] for s in snaps]
    _finished, failed = wait_state(snaps, instant_access)
    if failed:
        names = ", ".join(f"{s['SnapshotId']} of disk {s.get('SourceDiskId')}" for s in failed)
        what = (
            f"snapshot group {group_id} failed (snapshot {names})"
            if group_id and grouped
            else f"snapshot {names} failed"
        )
        raise OperationFailed(
            f"{context}: {what}; nothing was changed on the host. Delete the failed "
            "snapshot(s) (ecs_snapshot state=absent with this rollout id) and run again",
            result,
        )
    if not outcome.done:
        pending = ", ".join(
            f"{s['SnapshotId']} ({progress_percent(s.get('Progress'))}%)"
            for s in snaps
            if not usable(s, instant_access)
        )
        raise OperationFailed(
            f"{context}: snapshots still being created after {waiting.timeout:g} s: {pending}; "
            "raise wait_timeout (large disks take long) and run again: the existing snapshots are "
            "found by their rollout tag and not made twice",
            result,
        )
    return snaps


def _ensure_tagged(
    client: EcsClient, snapshots: Sequence[Mapping[str, Any]], tags: Mapping[str, str], context: str
) -> None:
    """Tag a group's snapshots that do not carry the rollout tags yet (TagResources).

    CreateSnapshotGroup tags the group; the tags on its snapshots are what a re-run and the
    cleanup search for, so they are checked rather than assumed.
    """
    untagged = [s["SnapshotId"] for s in snapshots if any(tags_of(s).get(k) != v for k, v in tags.items())]
    size = limit("tag_resources_max_ids")
    for start in range(0, len(untagged), size):
        client.call(
            "TagResources",
            {
                "RegionId": client.region_id,
                "ResourceType": "snapshot",
                "ResourceId": untagged[start : start + size],
                "Tag": tag_list(tags),
            },
            context=context,
            idempotent=True,
        )


def remove_snapshots(
    client: EcsClient,
    rollout_id: str,
    *,
    tag_key: str = DEFAULT_TAG_KEY,
    instance_id: str | None = None,
    grace_minutes: int = 0,
    now: datetime | None = None,
    check_mode: bool = False,
) -> dict[str, Any]:
    """Delete this rollout's snapshots (of one instance, or all in the region).

    Found by the rollout tag on the snapshots AND through the snapshot groups carrying it (a
    group's snapshots are tagged just after it is made: a run that died in between, or a failed
    or timed-out group, leaves snapshots only its group identifies). Emptied groups go too.
    """
    rollout_tags(tag_key, rollout_id)
    if instance_id:
        describe_instance(client, instance_id)
    context = f"instance {instance_id}" if instance_id else f"rollout {rollout_id}"
    found = {
        s["SnapshotId"]: s
        for s in client.call_paged(
            "DescribeSnapshots",
            describe_snapshots_params(client.region_id, {tag_key: rollout_id}, instance_id),
            ("Snapshots", "Snapshot"),
            context=context,
        )
    }
    groups = _groups_of(client, context, instance_id, {tag_key: rollout_id})
    in_groups = {s["SnapshotId"]: s for g in groups for s in _snapshots_in(g)}
    unseen = [i for i in in_groups if i not in found]
    for start in range(0, len(unseen), 100):
        for snap in client.call_paged(
            "DescribeSnapshots",
            describe_snapshots_params(client.region_id, {}, snapshot_ids=unseen[start : start + 100]),
            ("Snapshots", "Snapshot"),
            context=context,
        ):
            found[snap["SnapshotId"]] = snap
    for snapshot_id in unseen:
        found.setdefault(snapshot_id, in_groups[snapshot_id])
    delete, keep = deletion_plan(list(found.values()), now or datetime.now(timezone.utc), grace_minutes)
    result: dict[str, Any] = {
        "changed": bool(delete),
        "rollout_id": rollout_id,
        "instance_id": instance_id,
        "region_id": client.region_id,
        "kept": keep,
        "deleted_groups": [],
    }
    if check_mode:
        result.update(would_delete=[r["snapshot_id"] for r in delete], deleted=[])
        return result
    deleted = []
    for row in delete:
        try:
            client.call(
                "DeleteSnapshot",
                {"SnapshotId": row["snapshot_id"]},
                context=f"snapshot {row['snapshot_id']}",
                idempotent=True,
            )
        except AlicloudError as err:
            if err.kind != NOT_FOUND:
                result["deleted"] = deleted
                raise OperationFailed(str(err), result) from None
        deleted.append(row["snapshot_id"])
    result["deleted"] = deleted
    kept_ids = {row["snapshot_id"] for row in keep}
    for group in groups:
        group_id = group.get("SnapshotGroupId")
        if not any(s["SnapshotId"] in kept_ids for s in _snapshots_in(group)):
            try:
                client.call(
                    "DeleteSnapshotGroup",
                    {"RegionId": client.region_id, "SnapshotGroupId": group_id},
                    context=f"snapshot group {group_id}",
                    idempotent=True,
                )
            except AlicloudError as err:
                if err.kind != NOT_FOUND:
                    raise OperationFailed(str(err), result) from None
            result["deleted_groups"].append(group_id)
    result["changed"] = bool(deleted or result["deleted_groups"])
    return result
