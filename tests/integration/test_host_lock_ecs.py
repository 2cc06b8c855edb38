"""The host's virtio lock on the ECS API path: the same lock, and the same decisions, as over WinRM.

Real ``ansible-playbook`` against the lab and the fake ECS endpoint. The lock is one thing on the
lab host (its ``virtio_lock`` state, the file ``%ProgramData%\\winfleet\\virtio_lock.json``): the
WinRM module reads and writes it, and so does the collection's lock script when the fake ECS runs
it through RunCommand. So a WinRM rollout and an API rollout on one host exclude each other.
The cases are those of tests/integration/test_host_lock.py, ported to ``virtio_transport: ecs_api``.
Every wait is bounded.
"""

from __future__ import annotations

import signal
import time
from typing import Any

from tests.integration.conftest import run_playbook
from tests.integration.rollout_processes import events, interrupt, start_rollout, wait_for_event
from tests.integration.test_virtio_rollout_ecs import ENV, ROLLOUT, fleet, rollout



def foreign_lock(rollout_id: str, expires: int) -> dict[str, Any]:
    """The lock of a run on another controller (this controller cannot check that process)."""
    return {"run_id": "other:4242:1", "rollout_id": rollout_id, "controller": "other:4242:1",
            "started": int(time.time()) - 60, "expires": expires}


def test_a_host_another_live_run_holds_is_busy_and_never_changed(ecs_lab, tmp_path):
    lab, fake = ecs_lab(fleet("web01", "web02"))
    held = foreign_lock("CHG-A", int(time.time()) + 3600)
    with lab.host("web01") as state:
        state["virtio_lock"] = dict(held)
    run = rollout(lab, fake, tmp_path, virtio_snapshot_provider="none", virtio_rollout_id="CHG-B")
    assert run.returncode != 0
    rows = run.rows("virtio_rollout")
    row = rows["web01"]
    assert row["status"] == "busy", row
    assert "busy: run other:4242:1 (rollout CHG-A, controller other:4242:1)" in row["error"], row["error"]
    assert "re-run with the same virtio_rollout_id" in row["error"]
    assert "install_started" not in events(lab, "web01") and "ecs_reboot" not in events(lab, "web01")
    assert lab.read_host("web01")["virtio_lock"] == held, "the run left another run's lock alone"
    # the other host of the batch went on, and its lock was taken and released
    assert rows["web02"]["status"] == "updated", rows["web02"]
    history = events(lab, "web02")
    assert history.index("ecs_lock_present") < history.index("install_started") < history.index("ecs_lock_absent")
    assert "virtio_lock" not in lab.read_host("web02")
    # one RunCommand takes the lock for the whole batch
    names = [p.get("Name") for a, p in fake.calls if a == "RunCommand"]
    assert names.count("winfleet-virtio-lock") == 1 and names.count("winfleet-virtio-unlock") == 1, names


def test_a_rerun_of_the_same_rollout_takes_the_lock_over_and_releases_it(ecs_lab, tmp_path):
    lab, fake = ecs_lab(fleet("web01"))
    with lab.host("web01") as state:
        state["virtio_lock"] = foreign_lock("CHG-7", int(time.time()) + 3600)
    other = rollout(lab, fake, tmp_path / "other", virtio_snapshot_provider="none", virtio_rollout_id="CHG-8")
    assert other.rows("virtio_rollout")["web01"]["status"] == "busy"
    assert "install_started" not in events(lab, "web01")

    same = rollout(lab, fake, tmp_path / "same", virtio_snapshot_provider="none", virtio_rollout_id="CHG-7")
    assert same.returncode == 0, same.output
    assert same.rows("virtio_rollout")["web01"]["status"] == "updated"
    assert "virtio_lock" not in lab.read_host("web01")


def test_an_expired_lock_is_taken(ecs_lab, tmp_path):
    lab, fake = ecs_lab(fleet("web01"))
    with lab.host("web01") as state:
        state["virtio_lock"] = foreign_lock("CHG-7", int(time.time()) - 1)
    run = rollout(lab, fake, tmp_path, virtio_snapshot_provider="none", virtio_rollout_id="CHG-9")
    assert run.returncode == 0, run.output
    assert run.rows("virtio_rollout")["web01"]["status"] == "updated"
    assert "virtio_lock" not in lab.read_host("web01")
    assert "ecs_lock_absent" in events(lab, "web01")


def test_the_lock_is_released_when_the_batch_fails(ecs_lab, tmp_path):
    lab, fake = ecs_lab(fleet("web01", "web02", web02={"update": {"to": "62.77.104.58017", "exit_code": 1603}}))
    run = rollout(lab, fake, tmp_path, virtio_snapshot_provider="none")
    assert run.returncode != 0
    assert run.rows("virtio_rollout")["web02"]["status"] == "failed"
    for name in ("web01", "web02"):
        history = events(lab, name)
        assert "ecs_lock_present" in history and history[-1] == "ecs_lock_absent", (name, history)
        assert "virtio_lock" not in lab.read_host(name)


def test_check_mode_names_a_busy_host_and_writes_no_lock(ecs_lab, tmp_path):
    lab, fake = ecs_lab(fleet("web01", "web02"))
    held = foreign_lock("CHG-A", int(time.time()) + 3600)
    with lab.host("web01") as state:
        state["virtio_lock"] = dict(held)
    run = rollout(lab, fake, tmp_path, check=True, virtio_snapshot_provider="none", virtio_rollout_id="CHG-B")
    rows = run.rows("virtio_rollout_preview")
    assert rows["web01"]["status"] == "busy" and "(rollout CHG-A" in rows["web01"]["error"], rows["web01"]
    assert rows["web02"]["status"] == "would_update", rows["web02"]
    assert lab.read_host("web01")["virtio_lock"] == held and "virtio_lock" not in lab.read_host("web02")


def test_an_api_rollout_and_a_winrm_rollout_exclude_each_other_on_one_host(ecs_lab, tmp_path):
    # a 60 s install (6000 s at 1/100): the API rollout holds the lock while a WinRM rollout tries the host
    lab, fake = ecs_lab(fleet("web01", web01={"update": {"to": "62.77.104.58017", "duration_s": 6000}}))
    fake.world.script_seconds = 0.05
    api_vars = {"virtio_transport": "ecs_api", "virtio_source": "cloud_assistant_api", "virtio_poll_interval": 0.05,
                "virtio_install_timeout": 7200, "virtio_reboot_timeout": 30, "alicloud_ecs_endpoint": fake.url,
                "virtio_update_api_retry_delay": 0.01, "virtio_rollout_id": "CHG-API",
                "virtio_report_dir": str(tmp_path / "api")}
    api = start_rollout(lab, api_vars, env=ENV, capture=False)
    try:
        wait_for_event(lab, "web01", "install_started", api, timeout=90)
        script = tmp_path / "InstallVirtIo.ps1"
        script.write_text("# stand-in\n", encoding="utf-8")
        winrm = run_playbook(ROLLOUT, lab.root / "inventory.yml", tmp_path / "winrm",
                             {"virtio_source": "script", "virtio_script_src": str(script), "virtio_poll_interval": 0.05,
                              "virtio_reboot_timeout": 30, "virtio_rollout_id": "CHG-WINRM"}, timeout=110)
        assert api.poll() is None, "the API rollout must still be installing while the WinRM one runs"
    finally:
        if api.poll() is None:
            interrupt(api, signal.SIGKILL)
    row = winrm.rows("virtio_rollout")["web01"]
    assert winrm.returncode != 0 and row["status"] == "busy", row
    assert "(rollout CHG-API, controller" in row["error"], row["error"]
    assert events(lab, "web01").count("install_started") == 1
    assert lab.read_host("web01")["virtio_lock"]["rollout_id"] == "CHG-API"


def test_a_host_lost_after_its_reboot_keeps_its_lock_and_the_others_release_theirs(ecs_lab, tmp_path):
    # web01 never comes back from the reboot: an install may still be pending there, so its lock stays
    lab, fake = ecs_lab(fleet("web01", "web02", web01={"faults": {"never_returns": True}}))
    run = rollout(lab, fake, tmp_path, virtio_snapshot_provider="none", virtio_reboot_timeout=5)
    assert run.returncode != 0
    rows = run.rows("virtio_rollout")
    assert rows["web01"]["status"] == "unreachable", rows["web01"]
    assert rows["web02"]["status"] == "updated", rows["web02"]
    assert lab.read_host("web01")["virtio_lock"]["rollout_id"] == "test-ecs-rollout"
    assert "virtio_lock" not in lab.read_host("web02") and "ecs_lock_absent" in events(lab, "web02")
