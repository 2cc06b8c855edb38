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
from typing import Any, Mapping, Sequence

from ansible_collections.winfleet.updates.plugins.module_utils._alicloud import (
    NOT_FOUND,
    AlicloudError,
    EcsClient,
    OperationFailed,
    Waiting,
    client_token,
    dig,
    max_polls,
    tag_list,
    tags_of,
    wait_until,
)
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._strings import check_text

DEFAULT_TAG_KEY = "winfleet:rollout-id"
#: Disk categories a snapshot-consistent group accepts (the ESSD family).
ESSD_CATEGORIES = frozenset({"cloud_essd", "cloud_auto", "cloud_essd_entry"})
#: Disks per snapshot group. Alibaba's current page allows 16 (and 32 TiB); 10 is the figure of
#: the page this collection was specified from, kept as the conservative default: a larger
#: instance falls back to one snapshot per disk, which is always valid.
SNAPSHOT_GROUP_MAX_DISKS = 10
SNAPSHOT_GROUP_MAX_TIB = 32

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


def wait_state(snapshots: Sequence[Mapping[str, Any]]) -> tuple[bool, list[Mapping[str, Any]]]:
    """(finished, failed ones): finished when none is progressing any more."""
    failed = [s for s in snapshots if snapshot_status(s) == FAILED]
    pending = [s for s in snapshots if snapshot_status(s) == PROGRESSING]
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
    disk: Mapping[str, Any], name: str, description: str, tags: Mapping[str, str], token: str
) -> dict[str, Any]:
    return {
        "DiskId": disk["DiskId"],
        "SnapshotName": snapshot_name(name, disk),
        "Description": description,
        "Tag": tag_list(tags),
        "ClientToken": token,
    }


def create_snapshot_group_params(
    region_id: str,
    instance_id: str,
    disks: Sequence[Mapping[str, Any]],
    name: str,
    description: str,
    tags: Mapping[str, str],
    token: str,
) -> dict[str, Any]:
    return {
        "RegionId": region_id,
        "InstanceId": instance_id,
        "DiskId": [d["DiskId"] for d in disks],
        "Name": name,
        "Description": description,
        "Tag": tag_list(tags),
        "ClientToken": token,
    }


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
        groups = client.call(
            "DescribeSnapshotGroups",
            describe_snapshot_groups_params(client.region_id, instance_id, tags),
            context=context,
        )
        for group in dig(groups, ("SnapshotGroups", "SnapshotGroup")):
            if str(group.get("Status")).lower() == FAILED:
                continue
            for snap in dig(group, ("Snapshots", "Snapshot")):
                found[snap["SnapshotId"]] = {
                    **snap,
                    **found.get(snap["SnapshotId"], {}),
                    "SnapshotGroupId": group.get("SnapshotGroupId"),
                }
    return list(found.values())


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
) -> dict[str, Any]:
    """Snapshot the instance's disks for ``rollout_id`` (or find the ones made already)."""
    waiting = waiting or Waiting()
    tags = rollout_tags(tag_key, rollout_id, extra_tags)
    description = validate_description(description)
    if wait:
        max_polls(waiting.timeout, waiting.interval)  # bad bounds fail before anything is created
    context = f"instance {instance_id}"
    describe_instance(client, instance_id)
    disks = select_disks(
        client.call_paged(
            "DescribeDisks",
            describe_disks_params(client.region_id, instance_id),
            ("Disks", "Disk"),
            context=context,
        ),
        disk_scope,
    )
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
    name = name_for(rollout_id)
    description = description or f"winfleet.updates: before the virtio driver update, rollout {rollout_id}"
    snapshots = list(plan.reuse)
    group_id = next((s.get("SnapshotGroupId") for s in plan.reuse if s.get("SnapshotGroupId")), None)
    if plan.use_group:
        body = client.call(
            "CreateSnapshotGroup",
            create_snapshot_group_params(
                client.region_id, instance_id, plan.create, name, description, tags, client_token()
            ),
            context=context,
        )
        group_id = body.get("SnapshotGroupId")
        snapshots.extend(_group_snapshots(client, group_id, context))
    else:
        for disk in plan.create:
            body = client.call(
                "CreateSnapshot",
                create_snapshot_params(disk, name, description, tags, client_token()),
                context=f"disk {disk['DiskId']} of {context}",
            )
            snapshots.append(
                {
                    "SnapshotId": body.get("SnapshotId"),
                    "SourceDiskId": disk["DiskId"],
                    "SourceDiskType": disk.get("Type"),
                    "Status": PROGRESSING,
                    "Progress": "0%",
                }
            )
    result.update(
        changed=bool(plan.create),
        mode=_mode(plan),
        snapshot_group_id=group_id,
        created=[s["SnapshotId"] for s in snapshots if s["SnapshotId"] not in result["reused"]],
    )
    if wait:
        snapshots = _wait_for_snapshots(
            client, snapshots, group_id if plan.use_group else None, waiting, context, result
        )
    _ensure_tagged(client, [s for s in snapshots if s.get("SnapshotGroupId")], tags, context)
    result["snapshots"] = [snapshot_row(s) for s in snapshots]
    result["snapshot_ids"] = [r["snapshot_id"] for r in result["snapshots"]]
    return result


def _mode(plan: SnapshotPlan) -> str:
    if not plan.create:
        return "existing"
    return "group" if plan.use_group else "per_disk"


def _group_snapshots(client: EcsClient, group_id: str, context: str) -> list[dict[str, Any]]:
    """The snapshots of one group; each carries the group's Status while the group decides it."""
    body = client.call(
        "DescribeSnapshotGroups",
        describe_snapshot_groups_params(client.region_id, group_ids=[group_id]),
        context=context,
    )
    for group in dig(body, ("SnapshotGroups", "SnapshotGroup")):
        if group.get("SnapshotGroupId") == group_id:
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
    raise AlicloudError(
        "DescribeSnapshotGroups",
        NOT_FOUND,
        "InvalidSnapshotGroupId.NotFound",
        f"snapshot group {group_id} is not listed",
        context=context,
    )


def _wait_for_snapshots(
    client: EcsClient,
    snapshots: list[dict[str, Any]],
    group_id: str | None,
    waiting: Waiting,
    context: str,
    result: dict[str, Any],
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
        lambda snaps: wait_state(snaps)[0],
        waiting.timeout,
        waiting.interval,
        waiting.clock,
        waiting.sleep,
    )
    snaps = outcome.value
    result["snapshots"] = [snapshot_row(s) for s in snaps]
    result["snapshot_ids"] = [s["SnapshotId"] for s in snaps]
    _finished, failed = wait_state(snaps)
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
            if snapshot_status(s) != ACCOMPLISHED
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
    if untagged:
        client.call(
            "TagResources",
            {
                "RegionId": client.region_id,
                "ResourceType": "snapshot",
                "ResourceId": untagged,
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
    """Delete this rollout's snapshots (of one instance, or all in the region)."""
    rollout_tags(tag_key, rollout_id)
    if instance_id:
        describe_instance(client, instance_id)
    found = client.call_paged(
        "DescribeSnapshots",
        describe_snapshots_params(client.region_id, {tag_key: rollout_id}, instance_id),
        ("Snapshots", "Snapshot"),
        context=f"instance {instance_id}" if instance_id else f"rollout {rollout_id}",
    )
    delete, keep = deletion_plan(found, now or datetime.now(timezone.utc), grace_minutes)
    result: dict[str, Any] = {
        "changed": bool(delete),
        "rollout_id": rollout_id,
        "instance_id": instance_id,
        "region_id": client.region_id,
        "kept": keep,
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
    result["changed"] = bool(deleted)
    return result
