"""ecs_snapshot after partial failures: nothing leaks, re-runs adopt, limits and cost safety nets.

Real SDK against the fake ECS endpoint (signatures verified).
"""

from __future__ import annotations

import time

import pytest

from ansible_collections.winfleet.updates.plugins.module_utils._alicloud import OperationFailed, Waiting
from ansible_collections.winfleet.updates.plugins.module_utils._ecs_snapshot import (
    ensure_snapshots,
    remove_snapshots,
)
from tests.integration.ecs_helpers import FAST, client_for, disk, host

TAG = "winfleet:rollout-id"
TWO_ESSD = [disk("d-sys", "system"), disk("d-data")]
SHORT = Waiting(timeout=0.4, interval=0.05)


def web01(disks=TWO_ESSD):
    return {"hosts": host("web01", "i-web01", disks)}


def snapshots_of(lab):
    return lab.read_host("web01")["ecs"].get("snapshots", [])


def groups_of(lab):
    return lab.read_host("web01")["ecs"].get("snapshot_groups", [])


def tags(snapshot):
    return {t["Key"]: t["Value"] for t in snapshot.get("Tags", [])}


def test_a_failed_group_is_tagged_and_state_absent_cleans_it_up(ecs_lab):
    lab, fake = ecs_lab(web01())
    fake.fail_snapshots_of("d-data")
    client = client_for(fake)
    with pytest.raises(OperationFailed) as err:
        ensure_snapshots(client, "i-web01", "r1", waiting=FAST)
    assert "ecs_snapshot state=absent with this rollout id" in str(err.value)
    assert len(err.value.result["snapshot_ids"]) == 2
    # tagged before the wait, so the rollout id finds them ...
    assert all(tags(s)[TAG] == "r1" for s in snapshots_of(lab))
    # ... and the cleanup the message recommends deletes them and their group once the other
    # snapshot of the group has finished (30 simulated seconds: 0.3 s)
    time.sleep(0.35)
    cleanup = remove_snapshots(client, "r1", instance_id="i-web01")
    assert sorted(cleanup["deleted"]) == sorted(err.value.result["snapshot_ids"])
    assert cleanup["deleted_groups"] == [err.value.result["snapshot_group_id"]]
    assert snapshots_of(lab) == [] and groups_of(lab) == []


def test_a_timed_out_group_is_found_by_state_absent(ecs_lab):
    lab, fake = ecs_lab(web01())
    fake.world.snapshot_seconds = 100000
    client = client_for(fake)
    with pytest.raises(OperationFailed, match="snapshots still being created"):
        ensure_snapshots(client, "i-web01", "r1", waiting=SHORT)
    made = {s["SnapshotId"] for s in snapshots_of(lab)}
    cleanup = remove_snapshots(client, "r1", instance_id="i-web01")
    # still being created: the API refuses to delete them, so they are kept and named, not missed
    assert {row["snapshot_id"] for row in cleanup["kept"]} == made
    assert all(row["reason"] == "still being created" for row in cleanup["kept"])


def test_snapshots_only_a_tagged_group_identifies_are_cleaned_up(ecs_lab):
    # a run that died between CreateSnapshotGroup and tagging its snapshots
    lab, fake = ecs_lab(web01())
    fake.world.snapshot_seconds = 0
    client = client_for(fake)
    client.call(
        "CreateSnapshotGroup",
        {"RegionId": "cn-hangzhou", "InstanceId": "i-web01", "Tag": [{"Key": TAG, "Value": "r1"}]},
    )
    assert not any(tags(s) for s in snapshots_of(lab))
    ids = {s["SnapshotId"] for s in snapshots_of(lab)}
    cleanup = remove_snapshots(client, "r1", instance_id="i-web01")
    assert set(cleanup["deleted"]) == ids


def test_a_group_not_yet_listed_after_creation_is_waited_for(ecs_lab):
    lab, fake = ecs_lab(web01())
    fake.world.read_lag_seconds = 30  # 0.3 s at the lab's time scale
    result = ensure_snapshots(client_for(fake), "i-web01", "r1", waiting=FAST)
    assert result["mode"] == "group" and len(result["snapshot_ids"]) == 2
    assert fake.count("CreateSnapshotGroup") == 1


def test_a_group_listing_fewer_snapshots_than_disks_is_an_error(ecs_lab):
    lab, fake = ecs_lab(web01())
    fake.world.group_omits_disks = {"d-data"}
    with pytest.raises(OperationFailed) as err:
        ensure_snapshots(client_for(fake), "i-web01", "r1", waiting=SHORT)
    assert "lists 1 snapshot(s) for 2 disk(s); no snapshot of d-data" in str(err.value)
    assert err.value.result["snapshot_group_id"].startswith("ssg-")


def test_a_re_run_adopts_the_group_a_failed_wait_left(ecs_lab):
    lab, fake = ecs_lab(web01())
    fake.world.snapshot_seconds = 60  # 0.6 s
    client = client_for(fake)
    with pytest.raises(OperationFailed):
        ensure_snapshots(client, "i-web01", "r1", waiting=Waiting(timeout=0.1, interval=0.05))
    again = ensure_snapshots(client, "i-web01", "r1", waiting=FAST)
    assert again["mode"] == "existing" and again["changed"] is False
    assert fake.count("CreateSnapshotGroup") == 1 and len(snapshots_of(lab)) == 2


def test_a_per_disk_failure_reports_the_snapshots_already_made(ecs_lab):
    lab, fake = ecs_lab(web01())
    fake.fail("CreateSnapshot", "QuotaExceed.Snapshot", status=403, skip=1)
    with pytest.raises(OperationFailed) as err:
        ensure_snapshots(client_for(fake), "i-web01", "r1", snapshot_group="never", waiting=FAST)
    (made,) = [s["SnapshotId"] for s in snapshots_of(lab)]
    assert err.value.result["snapshot_ids"] == [made] == err.value.result["created"]
    assert err.value.result["error_code"] == "QuotaExceed.Snapshot"
    assert f"snapshots made before it for this rollout: {made}" in str(err.value)


def test_retention_days_default_and_resource_group(ecs_lab):
    lab, fake = ecs_lab(web01())
    client = client_for(fake)
    ensure_snapshots(
        client, "i-web01", "r1", snapshot_group="never", resource_group_id="rg-ops", waiting=FAST
    )
    creates = [p for n, p in fake.calls if n == "CreateSnapshot"]
    assert [(p["RetentionDays"], p["ResourceGroupId"]) for p in creates] == [("7", "rg-ops")] * 2
    ensure_snapshots(client, "i-web01", "r2", waiting=FAST)  # a group: retention set per snapshot
    modified = [p for n, p in fake.calls if n == "ModifySnapshotAttribute"]
    assert [p["RetentionDays"] for p in modified] == ["7", "7"]
    assert all(s.get("RetentionDays") == 7 for s in snapshots_of(lab))


def test_retention_days_zero_keeps_the_snapshots(ecs_lab):
    lab, fake = ecs_lab(web01())
    ensure_snapshots(
        client_for(fake), "i-web01", "r1", snapshot_group="never", retention_days=0, waiting=FAST
    )
    assert all("RetentionDays" not in p for n, p in fake.calls if n == "CreateSnapshot")


def test_instant_access_returns_once_available(ecs_lab):
    lab, fake = ecs_lab(web01())
    fake.world.snapshot_seconds = 100000  # 100 % would take far longer than the wait
    result = ensure_snapshots(client_for(fake), "i-web01", "r1", instant_access=True, waiting=FAST)
    assert all(s["available"] and s["status"] == "progressing" for s in result["snapshots"])


def test_local_disks_are_skipped_with_a_note(ecs_lab):
    lab, fake = ecs_lab(web01(TWO_ESSD + [disk("d-local", category="local_ssd_pro")]))
    result = ensure_snapshots(client_for(fake), "i-web01", "r1", waiting=FAST)
    assert result["mode"] == "group"
    assert [d["disk_id"] for d in result["skipped_disks"]] == ["d-local"]
    assert "cannot be snapshotted" in result["skipped_disks"][0]["reason"]
    assert sorted(s["disk_id"] for s in result["snapshots"]) == ["d-data", "d-sys"]


def test_a_disk_busy_with_an_automatic_snapshot_is_waited_for(ecs_lab):
    lab, fake = ecs_lab(web01())
    fake.fail("CreateSnapshot", "IncorrectDiskStatus.CreatingSnapshot", status=403, count=2)
    result = ensure_snapshots(client_for(fake), "i-web01", "r1", snapshot_group="never", waiting=FAST)
    assert len(result["snapshot_ids"]) == 2
    assert fake.count("CreateSnapshot") == 4
