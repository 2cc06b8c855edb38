"""Snapshot behaviours of the fake ECS beyond create/describe/delete (test code only).

Each follows the Alibaba Cloud page named beside it; nothing here imports product code.
:class:`SnapshotLifecycle` is mixed into :class:`tests.fakeecs.api.EcsWorld`.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Mapping

from tests.fakeecs.errors import ApiError

#: Categories with instant access: an ESSD snapshot is usable (Available: true) long before it
#: reaches 100 % (https://www.alibabacloud.com/help/en/ecs/user-guide/instant-access).
INSTANT_ACCESS_CATEGORIES = {"cloud_essd", "cloud_auto", "cloud_essd_entry"}


def token_page(
    params: Mapping[str, str], items: list[Any], default_size: int, max_size: int
) -> tuple[list[Any], dict[str, Any]]:
    """NextToken / MaxResults paging, as DescribeSnapshotGroups pages
    (https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-describesnapshotgroups).

    The token is opaque to the caller; a MaxResults above the maximum is refused.
    """
    size = int(params.get("MaxResults") or default_size)
    if size < 1 or size > max_size:
        raise ApiError("InvalidParameter.MaxResults", f"MaxResults must be 1 to {max_size}.")
    start = 0
    if params.get("NextToken"):
        try:
            start = int(json.loads(base64.b64decode(params["NextToken"]))["offset"])
        except (ValueError, KeyError, TypeError):
            raise ApiError("InvalidParameter.NextToken", "The specified NextToken is not valid.") from None
    chunk = items[start : start + size]
    following = start + size
    token = (
        base64.b64encode(json.dumps({"offset": following}).encode()).decode()
        if following < len(items)
        else ""
    )
    return chunk, {"NextToken": token}


class SnapshotLifecycle:
    """ModifySnapshotAttribute, DeleteSnapshotGroup, read-after-create lag, instant access."""

    #: Simulated seconds during which a new snapshot or group is not listed yet (0: at once).
    #: Describe* calls are eventually consistent with creations: tests switch the lag on.
    read_lag_seconds: float = 0.0
    #: Simulated seconds after which an ESSD snapshot is Available (instant access).
    instant_access_seconds: float = 5.0

    def listed_yet(self, created: float) -> bool:
        return self.clock() >= created + self.real(self.read_lag_seconds)  # type: ignore[attr-defined]

    def available(self, snap: dict[str, Any], status: str) -> bool:
        if status == "accomplished":
            return True
        if status == "failed" or snap.get("disk_category") not in INSTANT_ACCESS_CATEGORIES:
            return False
        return self.clock() - snap["created"] >= self.real(self.instant_access_seconds)  # type: ignore[attr-defined]

    def modify_snapshot_attribute(self, p: Mapping[str, str]) -> dict[str, Any]:
        """RetentionDays 1 to 65536, counted from creation; it can only be extended
        (https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-modifysnapshotattribute).
        """
        snapshot_id = p.get("SnapshotId", "")
        host = self._owner(lambda ecs: any(s["SnapshotId"] == snapshot_id for s in ecs.get("snapshots", [])))  # type: ignore[attr-defined]
        if host is None:
            raise ApiError("InvalidSnapshotId.NotFound", "The specified snapshot does not exist.", 404)
        with self.lab.host(host) as state:  # type: ignore[attr-defined]
            snap = next(s for s in state["ecs"]["snapshots"] if s["SnapshotId"] == snapshot_id)
            if "RetentionDays" in p:
                days = retention_days(p["RetentionDays"])
                if snap.get("RetentionDays") and days < int(snap["RetentionDays"]):
                    raise ApiError(
                        "InvalidRetentionDays.Shortened",
                        "The retention period of a snapshot can only be extended.",
                    )
                snap["RetentionDays"] = days
            for name in ("SnapshotName", "Description"):
                if name in p:
                    snap[name] = p[name]
        return {}

    def delete_snapshot_group(self, p: Mapping[str, str]) -> dict[str, Any]:
        """Deletes the group and the snapshots in it
        (https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-deletesnapshotgroup).
        """
        group_id = p.get("SnapshotGroupId", "")
        host = self._owner(  # type: ignore[attr-defined]
            lambda ecs: any(g["SnapshotGroupId"] == group_id for g in ecs.get("snapshot_groups", []))
        )
        if host is None:
            raise ApiError(
                "InvalidSnapshotGroupId.NotFound", "The specified snapshot group does not exist.", 404
            )
        with self.lab.host(host) as state:  # type: ignore[attr-defined]
            ecs = state["ecs"]
            group = next(g for g in ecs["snapshot_groups"] if g["SnapshotGroupId"] == group_id)
            members = [s for s in ecs.get("snapshots", []) if s["SnapshotId"] in group["snapshot_ids"]]
            if any(self._snapshot_progress(s)[0] == "progressing" for s in members):  # type: ignore[attr-defined]
                raise ApiError(
                    "IncorrectSnapshotStatus",
                    "The current status of the snapshot does not support this operation.",
                    403,
                )
            ecs["snapshots"] = [s for s in ecs.get("snapshots", []) if s not in members]
            ecs["snapshot_groups"].remove(group)
            state.setdefault("events", []).append(
                {"event": "ecs_snapshot_group_deleted", "group_id": group_id}
            )
        return {}


def retention_days(value: str) -> int:
    """CreateSnapshot / ModifySnapshotAttribute RetentionDays: 1 to 65536
    (https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-createsnapshot)."""
    try:
        days = int(value)
    except ValueError:
        days = 0
    if not 1 <= days <= 65536:
        raise ApiError("InvalidRetentionDays.Malformed", "RetentionDays must be 1 to 65536.")
    return days
