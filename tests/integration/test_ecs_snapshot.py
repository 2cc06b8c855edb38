"""ecs_snapshot's logic with the real SDK against the fake ECS endpoint (signatures verified)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from ansible_collections.winfleet.updates.plugins.module_utils._alicloud import (
    NOT_FOUND,
    PERMISSION,
    QUOTA,
    THROTTLING,
    AlicloudError,
    OperationFailed,
    Waiting,
)
from ansible_collections.winfleet.updates.plugins.module_utils._ecs_snapshot import (
    ensure_snapshots,
    remove_snapshots,
)
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError

from tests.integration.ecs_helpers import FAST, client_for, disk, host

TAG = "winfleet:rollout-id"
TWO_ESSD = [disk("d-web01sys", "system"), disk("d-web01data")]


def web01(disks=TWO_ESSD, **extra):
    return {"hosts": host("web01", "i-web01", disks, **extra)}


def snapshots_of(lab, name="web01"):
    return lab.read_host(name)["ecs"].get("snapshots", [])


def tags(snapshot):
    return {t["Key"]: t["Value"] for t in snapshot.get("Tags", [])}


def test_all_essd_disks_get_one_snapshot_group_tagged_with_the_rollout(ecs_lab):
    lab, fake = ecs_lab(web01())
    result = ensure_snapshots(client_for(fake), "i-web01", "r1", waiting=FAST)
    assert result["changed"] is True
    assert result["mode"] == "group"
    assert result["snapshot_group_id"].startswith("ssg-")
    assert [s["disk_id"] for s in result["snapshots"]] == ["d-web01sys", "d-web01data"]
    assert [s["disk_type"] for s in result["snapshots"]] == ["system", "data"]
    assert all(s["status"] == "accomplished" and s["progress"] == 100 for s in result["snapshots"])
    assert result["snapshot_ids"] == result["created"] == [s["SnapshotId"] for s in snapshots_of(lab)]
    assert fake.count("CreateSnapshotGroup") == 1 and fake.count("CreateSnapshot") == 0
    # the fake does not copy the group's tags to its snapshots: the module tags them itself
    assert fake.count("TagResources") == 1
    assert all(tags(s)[TAG] == "r1" for s in snapshots_of(lab))
    assert [s["SnapshotGroupId"] for s in snapshots_of(lab)] == [result["snapshot_group_id"]] * 2


def test_system_disk_only(ecs_lab):
    lab, fake = ecs_lab(web01())
    result = ensure_snapshots(client_for(fake), "i-web01", "r1", disk_scope="system", waiting=FAST)
    assert [s["disk_id"] for s in result["snapshots"]] == ["d-web01sys"]
    assert len(snapshots_of(lab)) == 1


@pytest.mark.parametrize(
    ("disks", "snapshot_group", "reason"),
    [
        (
            [disk("d-web01sys", "system"), disk("d-web01data", category="cloud_efficiency")],
            "auto",
            "not all disks are ESSD (also cloud_efficiency)",
        ),
        (TWO_ESSD, "never", "snapshot_group=never"),
        (
            [disk("d-web01sys", "system"), disk("d-web01data", size=256 * 1024)],
            "auto",
            "262244 GiB in total, more than a snapshot group's 256 TiB",
        ),
    ],
)
def test_one_snapshot_per_disk_when_a_group_does_not_fit(ecs_lab, disks, snapshot_group, reason):
    lab, fake = ecs_lab(web01(disks))
    result = ensure_snapshots(client_for(fake), "i-web01", "r1", snapshot_group=snapshot_group, waiting=FAST)
    assert result["mode"] == "per_disk"
    assert reason in result["reason"]
    assert result["snapshot_group_id"] is None
    assert fake.count("CreateSnapshot") == len(disks) and fake.count("CreateSnapshotGroup") == 0
    assert all(tags(s) == {TAG: "r1"} for s in snapshots_of(lab))
    assert len(result["snapshot_ids"]) == len(disks)


def test_waits_until_every_snapshot_is_accomplished(ecs_lab):
    lab, fake = ecs_lab(web01())
    fake.world.snapshot_seconds = 40  # 0.4 s at the lab's time scale
    result = ensure_snapshots(client_for(fake), "i-web01", "r1", waiting=Waiting(timeout=30, interval=0.05))
    assert all(s["status"] == "accomplished" for s in result["snapshots"])
    assert fake.count("DescribeSnapshotGroups") >= 4  # it polled while they were progressing


def test_re_running_returns_the_same_snapshots_without_creating_any(ecs_lab):
    lab, fake = ecs_lab(web01())
    client = client_for(fake)
    first = ensure_snapshots(client, "i-web01", "r1", waiting=FAST)
    creations = fake.count("CreateSnapshotGroup") + fake.count("CreateSnapshot")
    second = ensure_snapshots(client, "i-web01", "r1", waiting=FAST)
    assert second["changed"] is False
    assert second["mode"] == "existing"
    assert sorted(second["snapshot_ids"]) == sorted(first["snapshot_ids"])
    assert second["snapshot_group_id"] == first["snapshot_group_id"]
    assert fake.count("CreateSnapshotGroup") + fake.count("CreateSnapshot") == creations
    # another rollout id is another set of snapshots
    third = ensure_snapshots(client, "i-web01", "r2", waiting=FAST)
    assert third["changed"] is True and not set(third["snapshot_ids"]) & set(first["snapshot_ids"])


def test_a_group_left_untagged_by_an_interrupted_run_is_found_and_tagged(ecs_lab):
    lab, fake = ecs_lab(web01())
    client = client_for(fake)
    body = client.call(
        "CreateSnapshotGroup",
        {"RegionId": "cn-hangzhou", "InstanceId": "i-web01", "Tag": [{"Key": TAG, "Value": "r1"}]},
    )
    result = ensure_snapshots(client, "i-web01", "r1", waiting=FAST)
    assert result["mode"] == "existing"
    assert result["snapshot_group_id"] == body["SnapshotGroupId"]
    assert fake.count("CreateSnapshotGroup") == 1
    assert all(tags(s)[TAG] == "r1" for s in snapshots_of(lab))


def test_a_partial_earlier_run_is_completed_per_disk(ecs_lab):
    lab, fake = ecs_lab(web01())
    client = client_for(fake)
    client.call("CreateSnapshot", {"DiskId": "d-web01sys", "Tag": [{"Key": TAG, "Value": "r1"}]})
    result = ensure_snapshots(client, "i-web01", "r1", waiting=FAST)
    assert result["mode"] == "per_disk"
    assert "completing an earlier partial run" in result["reason"]
    assert len(result["reused"]) == 1 and len(result["created"]) == 1
    assert sorted(s["disk_id"] for s in result["snapshots"]) == ["d-web01data", "d-web01sys"]


def test_check_mode_reports_what_would_be_created_and_creates_nothing(ecs_lab):
    lab, fake = ecs_lab(web01())
    result = ensure_snapshots(client_for(fake), "i-web01", "r1", waiting=FAST, check_mode=True)
    assert result["changed"] is True
    assert result["mode"] == "group"
    assert [d["disk_id"] for d in result["would_create"]] == ["d-web01sys", "d-web01data"]
    assert snapshots_of(lab) == []
    assert not {name for name, _p in fake.calls} - {
        "DescribeInstances",
        "DescribeDisks",
        "DescribeSnapshots",
        "DescribeSnapshotGroups",
    }


def test_cleanup_deletes_this_rollouts_snapshots_only(ecs_lab):
    lab, fake = ecs_lab(web01())
    client = client_for(fake)
    made = ensure_snapshots(client, "i-web01", "r1", waiting=FAST)
    other = ensure_snapshots(client, "i-web01", "r2", snapshot_group="never", waiting=FAST)
    preview = remove_snapshots(client, "r1", instance_id="i-web01", check_mode=True)
    assert sorted(preview["would_delete"]) == sorted(made["snapshot_ids"]) and len(snapshots_of(lab)) == 4
    result = remove_snapshots(client, "r1", instance_id="i-web01")
    assert result["changed"] is True
    assert sorted(result["deleted"]) == sorted(made["snapshot_ids"])
    assert sorted(s["SnapshotId"] for s in snapshots_of(lab)) == sorted(other["snapshot_ids"])
    again = remove_snapshots(client, "r1", instance_id="i-web01")
    assert (again["changed"], again["deleted"]) == (False, [])
    # without an instance: every snapshot of the rollout in the region
    assert sorted(remove_snapshots(client, "r2")["deleted"]) == sorted(other["snapshot_ids"])


def test_cleanup_keeps_snapshots_younger_than_the_grace_period(ecs_lab):
    lab, fake = ecs_lab(web01())
    client = client_for(fake)
    ensure_snapshots(client, "i-web01", "r1", waiting=FAST)
    later = datetime.now(timezone.utc) + timedelta(minutes=30)
    kept = remove_snapshots(client, "r1", instance_id="i-web01", grace_minutes=60, now=later)
    assert kept["deleted"] == [] and len(kept["kept"]) == 2
    assert "younger than the grace period of 60 minutes" in kept["kept"][0]["reason"]
    much_later = datetime.now(timezone.utc) + timedelta(minutes=90)
    assert (
        len(
            remove_snapshots(client, "r1", instance_id="i-web01", grace_minutes=60, now=much_later)["deleted"]
        )
        == 2
    )


def test_throttling_is_retried_then_succeeds(ecs_lab):
    lab, fake = ecs_lab(web01())
    fake.throttle(3, action="DescribeInstances")
    result = ensure_snapshots(client_for(fake), "i-web01", "r1", waiting=FAST)
    assert result["changed"] is True
    assert fake.count("DescribeInstances") == 4


def test_throttling_exhausted_is_a_clear_error(ecs_lab):
    lab, fake = ecs_lab(web01())
    fake.throttle(100, action="DescribeDisks")
    with pytest.raises(AlicloudError) as err:
        ensure_snapshots(client_for(fake, api_retries=3), "i-web01", "r1", waiting=FAST)
    assert err.value.kind == THROTTLING
    assert fake.count("DescribeDisks") == 4
    assert str(err.value).startswith(
        "DescribeDisks (instance i-web01) failed: the API kept throttling the request after "
        "4 attempts; lower the rollout's batch size (serial) or raise api_retries"
    )
    assert "Throttling.User" in str(err.value)
    assert snapshots_of(lab) == []


def test_a_missing_permission_names_the_ram_action(ecs_lab):
    lab, fake = ecs_lab(web01())
    fake.deny("CreateSnapshotGroup")
    with pytest.raises(AlicloudError) as err:
        ensure_snapshots(client_for(fake), "i-web01", "r1", waiting=FAST)
    assert err.value.kind == PERMISSION
    assert err.value.missing_permission == "ecs:CreateSnapshotGroup"
    assert (
        "the RAM identity is not allowed to call ecs:CreateSnapshotGroup; grant ecs:CreateSnapshotGroup"
        in str(err.value)
    )


def test_a_failed_snapshot_fails_with_the_disk_named(ecs_lab):
    lab, fake = ecs_lab(web01())
    fake.fail_snapshots_of("d-web01data")
    with pytest.raises(OperationFailed) as err:
        ensure_snapshots(client_for(fake), "i-web01", "r1", snapshot_group="never", waiting=FAST)
    message = str(err.value)
    assert (
        "instance i-web01: snapshot s-" in message
        and "of disk d-web01data failed; nothing was changed on the host" in message
    )
    assert len(err.value.result["snapshot_ids"]) == 2  # what to clean up is reported
    assert [s["status"] for s in err.value.result["snapshots"]][
        1
    ] == "failed"  # it stops at the first failure


def test_a_failed_group_fails_too(ecs_lab):
    lab, fake = ecs_lab(web01())
    fake.fail_snapshots_of("d-web01sys")
    with pytest.raises(OperationFailed) as err:
        ensure_snapshots(client_for(fake), "i-web01", "r1", waiting=FAST)
    assert "instance i-web01: snapshot group ssg-" in str(err.value)
    assert "of disk d-web01sys" in str(err.value) and "nothing was changed on the host" in str(err.value)


def test_snapshots_still_progressing_at_the_timeout(ecs_lab):
    lab, fake = ecs_lab(web01())
    fake.world.snapshot_seconds = 100000
    with pytest.raises(OperationFailed) as err:
        ensure_snapshots(client_for(fake), "i-web01", "r1", waiting=Waiting(timeout=0.3, interval=0.05))
    assert "snapshots still being created after 0.3 s" in str(err.value)
    assert "raise wait_timeout" in str(err.value)


def test_api_refusals_are_explained(ecs_lab):
    lab, fake = ecs_lab(web01())
    fake.fail("CreateSnapshot", "QuotaExceed.Snapshot", status=403)
    with pytest.raises(OperationFailed) as err:
        ensure_snapshots(client_for(fake), "i-web01", "r1", snapshot_group="never", waiting=FAST)
    assert err.value.result["error_kind"] == QUOTA
    assert err.value.result["error_code"] == "QuotaExceed.Snapshot"
    assert "the snapshot quota is reached; delete snapshots no longer needed" in str(err.value)
    assert "disk d-web01sys of instance i-web01" in str(err.value)


def test_a_snapshot_in_progress_on_the_disk_is_waited_for_until_the_timeout(ecs_lab):
    lab, fake = ecs_lab(web01())
    fake.world.snapshot_seconds = 100000
    client = client_for(fake)
    client.call("CreateSnapshot", {"DiskId": "d-web01sys"})  # someone else's snapshot, still running
    with pytest.raises(OperationFailed, match="IncorrectDiskStatus.CreatingSnapshot"):
        ensure_snapshots(
            client, "i-web01", "r1", snapshot_group="never", waiting=Waiting(timeout=0.4, interval=0.05)
        )
    assert fake.count("CreateSnapshot") > 2  # retried while waiting, not failed at the first refusal


@pytest.mark.parametrize(("instance_id", "region"), [("i-nothere", "cn-hangzhou"), ("i-web01", "cn-beijing")])
def test_an_unknown_instance_or_wrong_region_is_named(ecs_lab, instance_id, region):
    lab, fake = ecs_lab(web01())
    with pytest.raises(AlicloudError) as err:
        ensure_snapshots(client_for(fake, region=region), instance_id, "r1", waiting=FAST)
    assert err.value.kind == NOT_FOUND
    assert (
        f"DescribeInstances (instance {instance_id}) failed: the instance does not exist in this region; check the "
        f"ecs_instance_id and alicloud_region host variables" in str(err.value)
    )
    assert region in str(err.value)


def test_bad_wait_bounds_fail_before_anything_is_created(ecs_lab):
    lab, fake = ecs_lab(web01())
    with pytest.raises(InputError) as err:
        ensure_snapshots(client_for(fake), "i-web01", "r1", waiting=Waiting(timeout=60, interval=0))
    assert err.value.field == "poll_interval"
    assert fake.calls == []
