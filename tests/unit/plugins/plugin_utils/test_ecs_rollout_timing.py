"""The rollout through the ECS API: a batch's snapshots at once, and one reboot_timeout for the whole reboot."""

from __future__ import annotations

import threading
import time

import pytest

from ansible_collections.winfleet.updates.plugins.module_utils import _virtio
from ansible_collections.winfleet.updates.plugins.module_utils._alicloud import Waiting
from ansible_collections.winfleet.updates.plugins.module_utils._ecs_rollout import InstallCommand
from ansible_collections.winfleet.updates.plugins.plugin_utils import _ecs_audit
from ansible_collections.winfleet.updates.plugins.plugin_utils import _ecs_rollout as rollout
from tests.unit.plugins.plugin_utils.fake_clock import FakeClock


def settings(**extra):
    return rollout.Settings(
        probe=_ecs_audit.Settings(["online_resize"], dict(_virtio.CAPABILITY_THRESHOLDS)),
        install=InstallCommand("Write-Output 'x'", None, "test"),
        source="cloud_assistant_api",
        antivirus_services=[],
        install_timeout=60,
        reboot_timeout=extra.pop("reboot_timeout", 1.0),
        poll_interval=0.05,
        snapshot=rollout.SnapshotSettings(provider="alicloud_ecs", rollout_id="r1", waiting=Waiting(timeout=5, interval=0.05)),
        **extra,
    )


def hosts(count):
    return [rollout._Host(_ecs_audit.Target(f"web{n}", f"i-web{n}", "cn-hangzhou"), {"decision": "install"})
            for n in range(count)]


def test_the_hosts_of_a_batch_are_snapshotted_at_the_same_time(monkeypatch):
    """Each snapshot waits for the others: one after another, the first would wait forever (here: 2 s, then break)."""
    barrier = threading.Barrier(3, timeout=2)
    made = []

    def ensure_snapshots(client, instance_id, rollout_id, **_kwargs):
        barrier.wait()
        made.append(instance_id)
        return {"snapshot_ids": [f"s-{instance_id}"]}

    monkeypatch.setattr(rollout, "ensure_snapshots", ensure_snapshots)
    for step in ("_install", "_reboot", "_verify"):
        monkeypatch.setattr(rollout, step, lambda *args, **kwargs: None)
    batch = hosts(3)
    rollout._update_region(lambda region: object(), "cn-hangzhou", batch, settings())
    assert sorted(made) == ["i-web0", "i-web1", "i-web2"]
    assert [h.snapshot_ids for h in batch] == [["s-i-web0"], ["s-i-web1"], ["s-i-web2"]]
    assert all(h.error is None for h in batch)


def test_a_failed_snapshot_fails_only_its_host(monkeypatch):
    from ansible_collections.winfleet.updates.plugins.module_utils._alicloud import AlicloudError

    def ensure_snapshots(client, instance_id, rollout_id, **_kwargs):
        if instance_id == "i-web1":
            raise AlicloudError("CreateSnapshot", "QuotaExceed.Snapshot", "quota", 403)
        return {"snapshot_ids": [f"s-{instance_id}"]}

    monkeypatch.setattr(rollout, "ensure_snapshots", ensure_snapshots)
    batch = hosts(3)
    rollout._snapshot_in_parallel(lambda region: object(), "cn-hangzhou", batch, settings().snapshot)
    assert [h.error is None for h in batch] == [True, False, True]
    assert "the snapshot before the update failed, so web1 was not changed" in batch[1].error


def test_running_again_and_the_agent_share_one_reboot_timeout(monkeypatch):
    """Running again after 0.8 s of a 1 s reboot_timeout leaves 0.2 s for the agent, not another full second."""

    def reboot(client, ids, waiting):
        time.sleep(0.8)
        return {"results": [{"instance_id": i, "rebooted": True, "succeeded": True} for i in ids]}

    monkeypatch.setattr(rollout.ca, "reboot", reboot)
    monkeypatch.setattr(rollout.ca, "agent_states", lambda client, ids: {i: False for i in ids})
    batch = hosts(2)
    started = time.monotonic()
    rollout._reboot(object(), batch, settings(reboot_timeout=1.0))
    elapsed = time.monotonic() - started
    assert elapsed < 1.2, f"the reboot waited {elapsed:.2f} s with reboot_timeout=1"
    assert all(h.unreachable and "agent did not come online" in h.error for h in batch)


@pytest.mark.parametrize(("running_after", "agent_after", "online"), [(30, 20, True), (30, 31, False), (61, 0, False)])
def test_the_reboot_deadline_on_a_fake_clock(monkeypatch, running_after, agent_after, online):
    clock = FakeClock()

    def reboot(client, ids, waiting):
        assert waiting.timeout == 60
        clock.now += running_after
        ok = running_after <= 60
        return {"results": [{"instance_id": i, "rebooted": ok, "succeeded": ok, "status": "Running" if ok else "Stopping"}
                            for i in ids]}

    since = {}

    def agent_states(client, ids):
        since.setdefault("t", clock.now)
        return {i: clock.now - since["t"] >= agent_after for i in ids}

    monkeypatch.setattr(rollout.ca, "reboot", reboot)
    monkeypatch.setattr(rollout.ca, "agent_states", agent_states)
    batch = hosts(1)
    rollout._reboot(object(), batch, settings(reboot_timeout=60, clock=clock, sleep=clock.sleep))
    assert (batch[0].error is None) is online, batch[0].error
    assert clock.now <= 60 or running_after > 60
    assert sum(clock.sleeps) <= max(0, 60 - running_after) + 1e-6
