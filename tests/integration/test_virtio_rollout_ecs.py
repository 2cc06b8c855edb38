"""The rollout with virtio_transport=ecs_api: every host step through the ECS API in batches, no WinRM.

Real ansible-playbook against the lab and the fake ECS endpoint. The lab counts every WinRM round
trip (``round_trips``): on this path there must be none. The fake runs the collection's scripts
(probe, antivirus) against the lab host's state and the install as the lab's install model.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from tests.fakeecs import TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET
from tests.integration.conftest import PlaybookRun, run_playbook

ROLLOUT = "winfleet.updates.virtio_rollout"
OLD = "62.77.104.58011"
NEW = "62.77.104.58017"
ENV = {
    "ALIBABA_CLOUD_ACCESS_KEY_ID": TEST_ACCESS_KEY_ID,
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET": TEST_ACCESS_KEY_SECRET,
    "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
}
# Calls that change an instance or create a resource (the probe's RunCommand only reads).
WRITES = ("CreateSnapshot", "CreateSnapshotGroup", "RebootInstances", "InvokeCommand", "DeleteSnapshot", "TagResources")


def fleet(*names: str, **per_host: dict[str, Any]) -> dict[str, Any]:
    hosts = {}
    for name in names:
        hosts[name] = {
            "ecs": {"instance_id": f"i-{name}",
                    "disks": [{"disk_id": f"d-{name}sys", "type": "system"}, {"disk_id": f"d-{name}data", "type": "data"}]},
            "drivers": {"viostor.sys": OLD, "netkvm.sys": OLD},
            "update": {"to": NEW},
            **per_host.get(name, {}),
        }
    return {"hosts": hosts}


def rollout(lab, fake, tmp_path: Path, check: bool = False, **variables: Any) -> PlaybookRun:
    fake.world.script_seconds = 0.05  # the fake's script run time, lowered for functional tests
    base: dict[str, Any] = {
        "virtio_transport": "ecs_api",
        "virtio_source": "cloud_assistant_api",
        "virtio_serial": 2,
        "virtio_poll_interval": 0.05,
        "virtio_reboot_timeout": 30,
        "virtio_install_timeout": 120,
        "virtio_snapshot_provider": "alicloud_ecs",
        "alicloud_ecs_endpoint": fake.url,
        "virtio_update_api_retry_delay": 0.01,
        "snapshot_timeout": 30,
        "virtio_rollout_id": "test-ecs-rollout",
    }
    run = run_playbook(ROLLOUT, lab.root / "inventory.yml", tmp_path / "reports", {**base, **variables},
                       env=ENV, timeout=180, check=check)
    assert TEST_ACCESS_KEY_SECRET not in run.output
    assert "Traceback" not in run.output
    return run


def winrm_round_trips(lab) -> dict[str, int]:
    return {name: lab.read_host(name)["round_trips"] for name in lab.host_names() if lab.read_host(name)["round_trips"]}


def instance_calls(fake, instance_id: str) -> list[str]:
    """The API actions whose parameters named this instance."""
    return [action for action, params in fake.calls if instance_id in {str(v) for v in params.values()}
            or any(instance_id in str(v) for k, v in params.items() if k.startswith("InstanceId"))]


def test_two_batches_updated_through_the_api_with_zero_winrm_round_trips(ecs_lab, tmp_path):
    lab, fake = ecs_lab(fleet("web01", "web02", "web03", "web04"))
    run = rollout(lab, fake, tmp_path)
    assert run.returncode == 0, run.output
    rows = run.rows("virtio_rollout")
    for name in ("web01", "web02", "web03", "web04"):
        row = rows[name]
        assert (row["status"], row["build_before"], row["build_after"], row["rebooted"]) == ("updated", 58011, 58017, True), row
        assert row["ecs_instance_id"] == f"i-{name}"
        state = lab.read_host(name)
        assert state["drivers"]["viostor.sys"]["file_version"] == NEW
        assert sorted(row["snapshot_ids"]) == sorted(s["SnapshotId"] for s in state["ecs"]["snapshots"])
        assert len(row["snapshot_ids"]) == 2
        events = [e["event"] for e in state["events"]]
        assert events.index("install_started") < events.index("ecs_reboot") < events.index("booted")
    assert winrm_round_trips(lab) == {}
    # batched: one install and one reboot call per batch of two
    invokes = [p for action, p in fake.calls if action == "InvokeCommand"]
    assert len(invokes) == 2 and all(sum(k.startswith("InstanceId.") for k in p) == 2 for p in invokes)
    assert fake.count("RebootInstances") == 2
    assert {k: v for k, v in run.report("virtio_rollout")["summary"]["by_status"].items() if v} == {"updated": 4}


def test_agent_offline_and_stopped_instances_are_reported_and_stop_the_next_batch(ecs_lab, tmp_path):
    lab, fake = ecs_lab(fleet("web01", "web02", "web03", "web04",
                              web01={"cloud_assistant": False}, web02={"ecs": {"instance_id": "i-web02", "status": "Stopped"}}))
    run = rollout(lab, fake, tmp_path, virtio_snapshot_provider="none")
    assert run.returncode != 0
    rows = run.rows("virtio_rollout")
    assert rows["web01"]["status"] == "unreachable" and "Cloud Assistant agent is not running" in rows["web01"]["error"]
    assert rows["web02"]["status"] == "unreachable" and "Stopped" in rows["web02"]["error"]
    assert rows["web03"]["status"] == rows["web04"]["status"] == "not_attempted"
    assert instance_calls(fake, "i-web03") == [] and instance_calls(fake, "i-web04") == []
    assert fake.count("RebootInstances") == 0 and fake.count("InvokeCommand") == 0
    assert winrm_round_trips(lab) == {}


def test_an_install_failure_in_batch_one_stops_batch_two(ecs_lab, tmp_path):
    lab, fake = ecs_lab(fleet("web01", "web02", "web03", "web04", web02={"update": {"to": NEW, "exit_code": 1603}}))
    run = rollout(lab, fake, tmp_path, virtio_snapshot_provider="none")
    assert run.returncode != 0
    rows = run.rows("virtio_rollout")
    assert rows["web01"]["status"] == "updated", rows["web01"]
    assert rows["web02"]["status"] == "failed"
    assert "the virtio install through Cloud Assistant on web02 (i-web02) failed" in rows["web02"]["error"]
    assert "exit code 1603" in rows["web02"]["error"]
    assert rows["web03"]["status"] == rows["web04"]["status"] == "not_attempted"
    assert instance_calls(fake, "i-web03") == [] and instance_calls(fake, "i-web04") == []
    assert lab.read_host("web02")["drivers"]["viostor.sys"]["file_version"] == OLD
    assert winrm_round_trips(lab) == {}


def test_check_mode_previews_without_any_api_write(ecs_lab, tmp_path):
    lab, fake = ecs_lab(fleet("web01", "web02", "web03", web03={"drivers": {"viostor.sys": NEW, "netkvm.sys": NEW}}))
    run = rollout(lab, fake, tmp_path, check=True, virtio_antivirus_services=["SAVService"])
    assert run.returncode == 0, run.output
    rows = run.rows("virtio_rollout_preview")
    assert rows["web01"]["status"] == rows["web02"]["status"] == "would_update", rows["web01"]
    assert rows["web01"]["steps"] == ["snapshot (alicloud_ecs)", "pause antivirus (SAVService)", "install",
                                      "resume antivirus", "reboot", "verify"]
    assert rows["web03"]["status"] == "compliant"
    assert [a for a, _p in fake.calls if a in WRITES] == []
    # the only commands run are the read-only probe and the lock read ($check = $true: nothing written)
    contents = [base64.b64decode(p.get("CommandContent", "")).decode() for a, p in fake.calls if a == "RunCommand"]
    probes = [c for c in contents if "WINFLEET-VIRTIO-PROBE" in c]
    lock_reads = [c for c in contents if "WINFLEET-VIRTIO-LOCK" in c]
    assert len(probes) == 2 and len(lock_reads) == 2 and len(contents) == 4
    assert all("$check = $true" in c and "$state = 'present'" in c for c in lock_reads)
    assert all("virtio_lock" not in lab.read_host(name) for name in ("web01", "web02", "web03"))
    for name in ("web01", "web02"):
        assert lab.read_host(name)["ecs"].get("snapshots", []) == []
        assert lab.read_host(name)["drivers"]["viostor.sys"]["file_version"] == OLD
    assert winrm_round_trips(lab) == {}


def test_antivirus_is_paused_for_the_install_and_resumed_before_the_reboot(ecs_lab, tmp_path):
    lab, fake = ecs_lab(fleet("web01", "web02", web01={"antivirus": [{"service": "SAVService", "running": True}]}))
    run = rollout(lab, fake, tmp_path, virtio_snapshot_provider="none", virtio_antivirus_services=["SAVService"])
    assert run.returncode == 0, run.output
    rows = run.rows("virtio_rollout")
    assert rows["web01"]["status"] == "updated" and rows["web01"]["antivirus_paused"] == ["SAVService"], rows["web01"]
    assert rows["web02"]["status"] == "updated" and rows["web02"]["antivirus_paused"] == []
    state = lab.read_host("web01")
    events = [e["event"] for e in state["events"]]
    assert (events.index("service_stopped") < events.index("install_started")
            < events.index("service_started") < events.index("ecs_reboot"))
    assert state["services"]["savservice"]["running"] is True
    assert winrm_round_trips(lab) == {}


def test_windows_server_2008_r2_is_updated_through_the_api(ecs_lab, tmp_path):
    lab, fake = ecs_lab(fleet("old01", old01={"os_version": "6.1.7601", "os_caption": "Microsoft Windows Server 2008 R2 Enterprise",
                                              "antivirus": [{"service": "ekrn", "running": True}]}))
    run = rollout(lab, fake, tmp_path, virtio_source="cloud_assistant", virtio_antivirus_services=["ekrn"])
    assert run.returncode == 0, run.output
    row = run.rows("virtio_rollout")["old01"]
    assert (row["status"], row["build_before"], row["build_after"]) == ("updated", 58011, 58017), row
    assert row["antivirus_paused"] == ["ekrn"]
    assert lab.read_host("old01")["drivers"]["viostor.sys"]["file_version"] == NEW
    assert winrm_round_trips(lab) == {}


def test_a_host_without_ecs_variables_refuses_the_batch_before_any_api_call(ecs_lab, tmp_path):
    fleet_ = fleet("web01")
    fleet_["hosts"]["plain01"] = {"drivers": {"viostor.sys": OLD}}
    lab, fake = ecs_lab(fleet_)
    run = rollout(lab, fake, tmp_path, virtio_snapshot_provider="none")
    assert run.returncode != 0
    rows = run.rows("virtio_rollout")
    assert rows["web01"]["status"] == "failed" and "ecs_instance_id" in rows["web01"]["error"], run.output[-6000:]
    assert "plain01" in rows["web01"]["error"]
    assert fake.calls == []


def test_a_controller_script_path_is_refused_naming_the_variable(ecs_lab, tmp_path):
    lab, fake = ecs_lab(fleet("web01"))
    script = tmp_path / "InstallVirtIo.ps1"
    script.write_text("# stand-in\n", encoding="utf-8")
    run = rollout(lab, fake, tmp_path, virtio_source="script", virtio_script_src=str(script))
    assert run.returncode != 0
    assert "virtio_script_src" in run.output and "virtio_script_url" in run.output
    assert fake.calls == []


def test_a_script_url_is_downloaded_and_run_by_the_instance(ecs_lab, tmp_path):
    lab, fake = ecs_lab(fleet("web01"))
    run = rollout(lab, fake, tmp_path, virtio_snapshot_provider="none", virtio_source="script",
                  virtio_script_url="https://mirror.example/virtio/InstallVirtIo.ps1")
    assert run.returncode == 0, run.output
    assert run.rows("virtio_rollout")["web01"]["status"] == "updated"
    assert fake.count("InvokeCommand") == 0
    installs = [p for a, p in fake.calls if a == "RunCommand" and p.get("Name") == "winfleet-virtio-install"]
    assert len(installs) == 1 and installs[0]["Type"] == "RunPowerShellScript"
    assert winrm_round_trips(lab) == {}
