"""The rollout playbook with the Alibaba Cloud pieces, end to end against the fake ECS endpoint.

Snapshots with ``virtio_snapshot_provider=alicloud_ecs`` (and ``custom``), their retention after
a verified update, and the install through the ECS API (``virtio_source=cloud_assistant_api``).
Role options the playbook does not pass itself are set as extra vars (they override role
defaults), which is how a user sets them too. Credentials come from the environment; the secret
must appear nowhere in the output.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ansible_collections.winfleet.updates.plugins.module_utils._ecs_snapshot import ensure_snapshots
from tests.fakeecs import TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET
from tests.integration.ecs_helpers import FAST, client_for
from tests.integration.conftest import PlaybookRun, run_playbook

ROLLOUT = "winfleet.updates.virtio_rollout"
OLD = "62.77.104.58011"
NEW = "62.77.104.58017"
ENV = {
    "ALIBABA_CLOUD_ACCESS_KEY_ID": TEST_ACCESS_KEY_ID,
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET": TEST_ACCESS_KEY_SECRET,
    # never the instance metadata address from a test
    "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
}


def fleet(*names: str, **per_host: dict[str, Any]) -> dict[str, Any]:
    hosts = {}
    for name in names:
        hosts[name] = {
            "ecs": {
                "instance_id": f"i-{name}",
                "disks": [
                    {"disk_id": f"d-{name}sys", "type": "system"},
                    {"disk_id": f"d-{name}data", "type": "data"},
                ],
            },
            "drivers": {"viostor.sys": OLD, "netkvm.sys": OLD},
            "update": {"to": NEW},
            **per_host.get(name, {}),
        }
    return {"hosts": hosts}


def rollout(lab, fake, tmp_path: Path, script: bool = True, **variables: Any) -> PlaybookRun:
    base: dict[str, Any] = {
        "virtio_source": "script",
        "virtio_poll_interval": 0.05,
        "virtio_reboot_timeout": 30,
        "virtio_snapshot_provider": "alicloud_ecs",
        "alicloud_ecs_endpoint": fake.url,
        "snapshot_poll_interval": 0.05,
        "snapshot_api_retry_delay": 0.01,
        "virtio_rollout_id": "test-rollout",
    }
    if script and variables.get("virtio_source", "script") == "script":
        path = tmp_path / "InstallVirtIo.ps1"
        path.write_text("# stand-in for InstallVirtIo.ps1\n", encoding="utf-8")
        base["virtio_script_src"] = str(path)
    run = run_playbook(
        ROLLOUT, lab.root / "inventory.yml", tmp_path / "reports", {**base, **variables}, env=ENV, timeout=300
    )
    assert TEST_ACCESS_KEY_SECRET not in run.output
    assert "Traceback" not in run.output
    return run


def snapshots(lab, host: str) -> list[dict[str, Any]]:
    return lab.read_host(host)["ecs"].get("snapshots", [])


def test_snapshots_before_the_update_are_listed_in_the_report(ecs_lab, tmp_path):
    lab, fake = ecs_lab(fleet("web01", "web02"))
    run = rollout(lab, fake, tmp_path)
    assert run.returncode == 0, run.output
    rows = run.rows("virtio_rollout")
    for name in ("web01", "web02"):
        made = snapshots(lab, name)
        ids = sorted(s["SnapshotId"] for s in made)
        assert len(ids) == 2
        assert rows[name]["status"] == "updated", rows[name]
        assert sorted(rows[name]["snapshot_ids"]) == ids
        for snap in made:
            assert {"Key": "winfleet:rollout-id", "Value": "test-rollout"} in snap["Tags"]
        state = lab.read_host(name)
        (started,) = [e["at"] for e in state["events"] if e["event"] == "install_started"]
        # usable (accomplished) before anything changed on the host
        assert all(snap["created"] + snap["duration"] <= started for snap in made)
        assert state["drivers"]["viostor.sys"]["file_version"] == NEW
    assert run.report("virtio_rollout")["snapshot_provider"] == "alicloud_ecs"


def test_a_failed_snapshot_leaves_the_host_untouched_and_stops_the_rollout(ecs_lab, tmp_path):
    lab, fake = ecs_lab(fleet("web01", "web02"))
    fake.fail_snapshots_of("d-web01data")
    run = rollout(lab, fake, tmp_path)
    assert run.returncode != 0
    rows = run.rows("virtio_rollout")
    assert rows["web01"]["status"] == "failed", rows["web01"]
    assert "the snapshot before the update failed, so web01 was not changed" in rows["web01"]["error"]
    assert rows["web02"]["status"] == "not_attempted"
    state = lab.read_host("web01")
    assert "virtio_runs" not in state and state["drivers"]["viostor.sys"]["file_version"] == OLD
    assert not any(e["event"] in ("install_started", "service_stopped") for e in state.get("events", []))
    assert snapshots(lab, "web02") == []


def test_throttling_during_the_snapshot_is_retried(ecs_lab, tmp_path):
    lab, fake = ecs_lab(fleet("web01"))
    fake.throttle(3, action="CreateSnapshotGroup")
    run = rollout(lab, fake, tmp_path)
    assert run.returncode == 0, run.output
    row = run.rows("virtio_rollout")["web01"]
    assert row["status"] == "updated" and len(row["snapshot_ids"]) == 2
    assert fake.count("CreateSnapshotGroup") >= 1 and len(snapshots(lab, "web01")) == 2


def test_retention_deletes_the_rollouts_snapshots_after_the_verified_update(ecs_lab, tmp_path):
    lab, fake = ecs_lab(fleet("web01", "web02"))
    # a snapshot of another rollout on the same instance must survive the cleanup
    earlier = ensure_snapshots(client_for(fake), "i-web01", "earlier", disk_scope="system", waiting=FAST)
    run = rollout(lab, fake, tmp_path, virtio_update_snapshot_retention="delete_after_verify")
    assert run.returncode == 0, run.output
    rows = run.rows("virtio_rollout")
    for name in ("web01", "web02"):
        assert rows[name]["status"] == "updated" and len(rows[name]["snapshot_ids"]) == 2
        left = [snap["SnapshotId"] for snap in snapshots(lab, name)]
        assert left == (earlier["snapshot_ids"] if name == "web01" else [])
        assert lab.read_host(name)["drivers"]["viostor.sys"]["file_version"] == NEW
    deleted = [p["SnapshotId"] for n, p in fake.calls if n == "DeleteSnapshot"]
    assert sorted(deleted) == sorted(rows["web01"]["snapshot_ids"] + rows["web02"]["snapshot_ids"])


def test_retention_with_a_grace_period_keeps_the_young_snapshots(ecs_lab, tmp_path):
    lab, fake = ecs_lab(fleet("web01"))
    run = rollout(
        lab, fake, tmp_path,
        virtio_update_snapshot_retention="delete_after_verify", virtio_update_snapshot_grace_minutes=60,
    )
    assert run.returncode == 0, run.output
    assert len(snapshots(lab, "web01")) == 2 and fake.count("DeleteSnapshot") == 0


def api_rollout(lab, fake, tmp_path, **variables):
    return rollout(
        lab, fake, tmp_path,
        virtio_source="cloud_assistant_api",
        virtio_update_api_retry_delay=0.01,
        reboot_verify_api_poll_interval=0.05,
        **variables,
    )


def test_the_cloud_assistant_api_path_updates_and_verifies_the_hosts(ecs_lab, tmp_path):
    lab, fake = ecs_lab(fleet("web01", "web02", web02={"antivirus": [{"service": "SAVService", "running": True}]}))
    run = api_rollout(lab, fake, tmp_path, virtio_antivirus_services=["SAVService"])
    assert run.returncode == 0, run.output
    rows = run.rows("virtio_rollout")
    for name in ("web01", "web02"):
        row = rows[name]
        assert (row["status"], row["build_before"], row["build_after"], row["rebooted"]) == (
            "updated", 58011, 58017, True
        ), row
        assert len(row["snapshot_ids"]) == 2
        state = lab.read_host(name)
        # the host's last run record is the one the role wrote over WinRM after the API install
        run_record = state["virtio_runs"][state["virtio_last_run"]]
        assert (run_record["source"], run_record["state"], run_record["rollout_id"]) == (
            "cloud_assistant_api", "finished", "test-rollout"), run_record
        assert (run_record["exit_code"], run_record["build_before"], run_record["version_before"]) == (0, 58011, OLD)
        events = [e["event"] for e in state["events"]]
        assert events.index("install_started") < events.index("ecs_reboot") < events.index("booted")
        assert "reboot_requested" in events and state["boots"] == 1
    # one invocation and one API reboot per host; no win_reboot
    assert fake.count("InvokeCommand") == 2 and fake.count("RebootInstances") == 2
    assert run.report("virtio_rollout")["source"] == "cloud_assistant_api"


def test_a_failed_api_install_fails_the_host_and_stops_the_rollout(ecs_lab, tmp_path):
    lab, fake = ecs_lab(fleet("web01", "web02", web01={"update": {"exit_code": 1603}}))
    run = api_rollout(lab, fake, tmp_path, virtio_snapshot_provider="none")
    assert run.returncode != 0
    rows = run.rows("virtio_rollout")
    assert rows["web01"]["status"] == "failed", rows["web01"]
    assert "the virtio install through Cloud Assistant failed on web01 (i-web01)" in rows["web01"]["error"]
    assert "exit code 1603" in rows["web01"]["error"]
    assert rows["web02"]["status"] == "not_attempted"
    assert fake.count("RebootInstances") == 0


def test_the_api_path_refuses_a_host_without_the_agent(ecs_lab, tmp_path):
    lab, fake = ecs_lab(fleet("web01", web01={"cloud_assistant": False}))
    run = api_rollout(lab, fake, tmp_path, virtio_snapshot_provider="none")
    assert run.returncode != 0
    row = run.rows("virtio_rollout")["web01"]
    assert row["status"] == "failed" and "Cloud Assistant agent is not installed" in row["error"], row
    assert fake.count("InvokeCommand") == 0


def test_a_custom_provider_returns_its_snapshot_ids_to_the_report(ecs_lab, tmp_path):
    lab, fake = ecs_lab(fleet("web01"))
    tasks = tmp_path / "my_snapshot.yml"
    tasks.write_text(
        "- name: My snapshot\n"
        "  ansible.builtin.set_fact:\n"
        "    snapshot_ids: ['snap-{{ inventory_hostname }}-1']\n",
        encoding="utf-8",
    )
    run = rollout(lab, fake, tmp_path, virtio_snapshot_provider="custom", snapshot_custom_tasks=str(tasks))
    assert run.returncode == 0, run.output
    row = run.rows("virtio_rollout")["web01"]
    assert row["status"] == "updated" and row["snapshot_ids"] == ["snap-web01-1"]
    assert fake.count("CreateSnapshotGroup") == 0 and fake.count("CreateSnapshot") == 0
