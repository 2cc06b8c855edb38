"""Which disks, group or per disk, what to reuse, when a wait is over, what may be deleted."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.winfleet.updates.plugins.module_utils import _ecs_snapshot as s
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError

SYS = {"DiskId": "d-sys", "Type": "system", "Category": "cloud_essd", "Size": 40, "Device": "/dev/xvda"}
DATA1 = {"DiskId": "d-data1", "Type": "data", "Category": "cloud_essd", "Size": 100, "Device": "/dev/xvdb"}
DATA2 = {
    "DiskId": "d-data2",
    "Type": "data",
    "Category": "cloud_efficiency",
    "Size": 200,
    "Device": "/dev/xvdc",
}


def essd(n, size=100):
    return {
        "DiskId": f"d-{n:02d}",
        "Type": "data",
        "Category": "cloud_auto",
        "Size": size,
        "Device": f"/dev/vd{n:02d}",
    }


@pytest.mark.parametrize(
    ("disks", "scope", "expected"),
    [
        ([DATA1, SYS, DATA2], "all", ["d-sys", "d-data1", "d-data2"]),
        ([DATA1, SYS, DATA2], "system", ["d-sys"]),
        ([DATA1], "system", []),
        ([{**SYS, "Type": "System"}], "system", ["d-sys"]),
    ],
)
def test_select_disks(disks, scope, expected):
    assert [d["DiskId"] for d in s.select_disks(disks, scope)] == expected


@pytest.mark.parametrize(
    ("disks", "mode", "use_group", "reason"),
    [
        ([SYS, DATA1], "auto", True, "2 ESSD disk(s): one crash-consistent snapshot group"),
        ([SYS, DATA1], "never", False, "snapshot_group=never"),
        ([SYS, DATA1, DATA2], "auto", False, "not all disks are ESSD (also cloud_efficiency)"),
        # CreateSnapshotGroupRequest.disk_id of the pinned SDK: up to 128 disks, 256 TiB in total
        ([SYS] + [essd(n) for n in range(10)], "auto", True, "11 ESSD disk(s)"),
        ([SYS] + [essd(n) for n in range(127)], "auto", True, "128 ESSD disk(s)"),
        ([SYS] + [essd(n) for n in range(128)], "auto", False, "129 disks, more than a snapshot group's 128"),
        ([SYS, essd(1, 32 * 1024)], "auto", True, "2 ESSD disk(s)"),
        ([SYS, essd(1, 256 * 1024)], "auto", False, "262184 GiB in total, more than a snapshot group's 256 TiB"),
        ([], "auto", False, "no disks"),
    ],
)
def test_group_decision(disks, mode, use_group, reason):
    decided, why = s.group_decision(disks, mode)
    assert decided is use_group
    assert reason in why


def test_group_decision_rejects_unknown_mode():
    with pytest.raises(InputError) as err:
        s.group_decision([SYS], "always")
    assert err.value.field == "snapshot_group"


def snap(disk, status="accomplished", sid=None, **extra):
    return {
        "SnapshotId": sid or f"s-{disk}",
        "SourceDiskId": disk,
        "Status": status,
        "Progress": "100%",
        **extra,
    }


@pytest.mark.parametrize(
    ("existing", "reuse", "create", "use_group", "reason"),
    [
        ([], [], ["d-sys", "d-data1"], True, "one crash-consistent snapshot group"),
        ([snap("d-sys"), snap("d-data1")], ["s-d-sys", "s-d-data1"], [], False, "exist already"),
        (
            [snap("d-sys", "progressing")],
            ["s-d-sys"],
            ["d-data1"],
            False,
            "completing an earlier partial run",
        ),
        ([snap("d-sys", "failed"), snap("d-data1", "failed")], [], ["d-sys", "d-data1"], True, "group"),
        ([snap("d-other")], [], ["d-sys", "d-data1"], True, "group"),
        ([snap("d-sys", sid="s-1"), snap("d-sys", sid="s-2")], ["s-1"], ["d-data1"], False, "partial"),
    ],
)
def test_plan_snapshots(existing, reuse, create, use_group, reason):
    plan = s.plan_snapshots([SYS, DATA1], existing, "auto")
    assert [x["SnapshotId"] for x in plan.reuse] == reuse
    assert [d["DiskId"] for d in plan.create] == create
    assert plan.use_group is use_group
    assert reason in plan.reason


@pytest.mark.parametrize(
    ("snapshot", "status", "progress"),
    [
        ({"Status": "accomplished", "Progress": "100%"}, "accomplished", 100),
        ({"Status": "progressing", "Progress": "45%"}, "progressing", 45),
        ({"Status": "failed", "Progress": "50%"}, "failed", 50),
        ({"Status": "Accomplished"}, "accomplished", 0),
        ({"Progress": "100%"}, "accomplished", 100),
        ({"Progress": "99%"}, "progressing", 99),
        ({}, "progressing", 0),
        ({"Status": "progressing", "Progress": "n/a"}, "progressing", 0),
    ],
)
def test_status_and_progress(snapshot, status, progress):
    assert s.snapshot_status(snapshot) == status
    assert s.progress_percent(snapshot.get("Progress")) == progress


@pytest.mark.parametrize(
    ("statuses", "finished", "failed"),
    [
        (["accomplished", "accomplished"], True, 0),
        (["accomplished", "progressing"], False, 0),
        (["failed", "progressing"], True, 1),
        ([], True, 0),
    ],
)
def test_wait_state(statuses, finished, failed):
    done, failures = s.wait_state([{"Status": x} for x in statuses])
    assert (done, len(failures)) == (finished, failed)


NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def created(minutes_ago):
    return (NOW - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize(
    ("snapshots", "grace", "deleted", "kept"),
    [
        ([snap("a", CreationTime=created(5)), snap("b", CreationTime=created(120))], 0, ["s-a", "s-b"], []),
        (
            [snap("a", CreationTime=created(5)), snap("b", CreationTime=created(120))],
            60,
            ["s-b"],
            [("s-a", "younger than the grace period of 60 minutes")],
        ),
        ([snap("a", "progressing", CreationTime=created(500))], 0, [], [("s-a", "still being created")]),
        ([snap("a", CreationTime=None)], 60, [], [("s-a", "younger than the grace period of 60 minutes")]),
        ([snap("a", "failed", CreationTime=created(1))], 0, ["s-a"], []),
    ],
)
def test_deletion_plan(snapshots, grace, deleted, kept):
    delete, keep = s.deletion_plan(snapshots, NOW, grace)
    assert [r["snapshot_id"] for r in delete] == deleted
    assert [(r["snapshot_id"], r["reason"]) for r in keep] == kept


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01T08:00:00Z", datetime(2024, 5, 1, 8, 0, tzinfo=timezone.utc)),
        ("2024-05-01T08:00Z", datetime(2024, 5, 1, 8, 0, tzinfo=timezone.utc)),
        ("yesterday", None),
        (None, None),
    ],
)
def test_parse_time(value, expected):
    assert s.parse_time(value) == expected


@pytest.mark.parametrize(
    ("key", "rollout", "extra", "field", "message"),
    [
        ("winfleet:rollout-id", "", None, "rollout_id", "expected 1 to 128 characters"),
        ("winfleet:rollout-id", "x" * 129, None, "rollout_id", "expected 1 to 128 characters"),
        ("winfleet:rollout-id", "http://x", None, "rollout_id", "without '://'"),
        ("aliyun:rollout", "r1", None, "tag_key", "not starting with 'aliyun' or 'acs:'"),
        ("acs:rollout", "r1", None, "tag_key", "not starting with 'aliyun' or 'acs:'"),
        ("winfleet:rollout-id", "r1", {"owner": "y" * 129}, "tags.owner", "at most 128 characters"),
        ("winfleet:rollout-id", "r1", {f"k{i}": "v" for i in range(20)}, "tags", "at most 20 tags"),
    ],
)
def test_rollout_tags_are_validated_like_the_api(key, rollout, extra, field, message):
    with pytest.raises(InputError) as err:
        s.rollout_tags(key, rollout, extra)
    assert err.value.field == field
    assert message in str(err.value)


def test_rollout_tags_merge_extra_tags():
    assert s.rollout_tags("winfleet:rollout-id", "r1", {"change": 42}) == {
        "change": "42",
        "winfleet:rollout-id": "r1",
    }


@pytest.mark.parametrize(
    ("rollout", "name"),
    [
        ("virtio-2024-05", "winfleet-virtio-2024-05"),
        ("CHG 0012/a", "winfleet-CHG-0012-a"),
        ("///", "winfleet-rollout"),
    ],
)
def test_names_are_safe_for_the_api(rollout, name):
    assert s.name_for(rollout) == name
    assert s.snapshot_name(name, SYS) == f"{name}-system-d-sys"
