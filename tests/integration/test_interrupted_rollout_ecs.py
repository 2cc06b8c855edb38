"""A controller killed mid-rollout on the ECS API path: the re-run finds its install through Cloud Assistant.

Real ``ansible-playbook`` processes against the lab and the fake ECS endpoint, killed with SIGKILL
at a chosen moment (the port of tests/integration/test_interrupted_rollout.py to
``virtio_transport: ecs_api``). The killed run's variables die with it; Cloud Assistant keeps its
invocations, tagged with the rollout id, and the re-run of the same ``virtio_rollout_id`` lists
them (DescribeInvocations): it waits for an install still running, or reports a host its killed
run updated, and never starts a second install (the lab logs every install the fake runs).
Every wait is bounded.
"""

from __future__ import annotations

import signal
from typing import Any

from tests.integration.rollout_processes import events, interrupt_when
from tests.integration.test_virtio_rollout_ecs import ENV, NEW, fleet, rollout



def install_calls(fake) -> int:
    return sum(1 for action, params in fake.calls
               if action == "InvokeCommand" or (action == "RunCommand" and params.get("Name") == "winfleet-virtio-install"))


def kill_when(lab, fake, host: str, event: str, variables: dict[str, Any], tmp_path) -> None:
    """Run an ECS API rollout and kill its controller (SIGKILL) once ``event`` happened on ``host``."""
    fake.world.script_seconds = 0.05
    extra = {"virtio_transport": "ecs_api", "virtio_source": "cloud_assistant_api", "virtio_poll_interval": 0.05,
             "virtio_reboot_timeout": 30, "alicloud_ecs_endpoint": fake.url, "virtio_update_api_retry_delay": 0.01,
             "virtio_report_dir": str(tmp_path / "killed"), **variables}
    interrupt_when(lab, host, event, extra, signal.SIGKILL, env=ENV)


def test_killed_during_the_install_the_rerun_waits_for_it_and_never_installs_twice(ecs_lab, tmp_path):
    # a 15 s install (1500 s at 1/100): the controller is killed while the instance runs it
    lab, fake = ecs_lab(fleet("web01", web01={"update": {"to": NEW, "duration_s": 1500}}))
    kill_when(lab, fake, "web01", "install_started", {"virtio_rollout_id": "CHG-ECS", "virtio_install_timeout": 3600},
              tmp_path)
    assert events(lab, "web01").count("ecs_virtio_install") == 1 and install_calls(fake) == 1
    assert lab.read_host("web01")["virtio_lock"]["rollout_id"] == "CHG-ECS", "the killed run held the lock"
    calls_before = len(fake.calls)

    rerun = rollout(lab, fake, tmp_path / "rerun", virtio_snapshot_provider="none", virtio_rollout_id="CHG-ECS",
                    virtio_install_timeout=3600)
    assert rerun.returncode == 0, rerun.output
    row = rerun.rows("virtio_rollout")["web01"]
    assert (row["status"], row["action"], row["build_after"], row["rebooted"]) == ("updated", "install", 58017, True), row
    history = events(lab, "web01")
    assert history.count("ecs_virtio_install") == 1 and history.count("install_started") == 1, history
    assert install_calls(fake) == 1, "the re-run started no second install"
    assert "DescribeInvocations" in [action for action, _params in fake.calls[calls_before:]]
    assert lab.read_host("web01")["drivers"]["viostor.sys"]["file_version"] == NEW
    assert "virtio_lock" not in lab.read_host("web01")


def test_killed_after_the_reboot_the_rerun_reports_the_host_updated_from_cloud_assistants_record(ecs_lab, tmp_path):
    lab, fake = ecs_lab(fleet("web01", web01={"update": {"to": NEW, "duration_s": 100}}))
    kill_when(lab, fake, "web01", "booted", {"virtio_rollout_id": "CHG-ECS", "virtio_install_timeout": 3600}, tmp_path)

    rerun = rollout(lab, fake, tmp_path / "rerun", virtio_snapshot_provider="none", virtio_rollout_id="CHG-ECS")
    assert rerun.returncode == 0, rerun.output
    row = rerun.rows("virtio_rollout")["web01"]
    assert (row["status"], row["action"], row["build_after"], row["rebooted"]) == ("updated", "install", 58017, True), row
    assert "rollout CHG-ECS updated this host" in row["note"], row
    history = events(lab, "web01")
    assert history.count("ecs_virtio_install") == 1 and history.count("ecs_reboot") == 1, history
    assert install_calls(fake) == 1

    # another rollout finds nothing to do and says so: the update is not its own
    other = rollout(lab, fake, tmp_path / "other", virtio_snapshot_provider="none", virtio_rollout_id="CHG-OTHER")
    assert other.rows("virtio_rollout")["web01"]["status"] == "compliant"



def test_a_rerun_with_another_rollout_id_attaches_to_the_install_of_the_run_whose_lock_it_took_over(ecs_lab, tmp_path):
    # This controller's killed process is gone, so a run of another rollout takes its lock over (as over
    # WinRM); the lock names the killed run's rollout, whose install is still running: it is waited for.
    lab, fake = ecs_lab(fleet("web01", web01={"update": {"to": NEW, "duration_s": 1500}}))
    kill_when(lab, fake, "web01", "install_started", {"virtio_rollout_id": "CHG-ECS", "virtio_install_timeout": 3600},
              tmp_path)
    other = rollout(lab, fake, tmp_path / "other", virtio_snapshot_provider="none", virtio_rollout_id="CHG-OTHER",
                    virtio_install_timeout=3600)
    assert other.returncode == 0, other.output
    row = other.rows("virtio_rollout")["web01"]
    assert (row["status"], row["build_after"], row["rebooted"]) == ("updated", 58017, True), row
    assert events(lab, "web01").count("ecs_virtio_install") == 1 and install_calls(fake) == 1
    listed = {v for a, p in fake.calls if a == "DescribeInvocations" for k, v in p.items() if k.endswith(".Value")}
    assert listed == {"CHG-ECS", "CHG-OTHER"}, listed
