"""A controller killed mid-rollout: the next run reports what the HOST says, not what the dead process knew.

Real ``ansible-playbook`` processes against the simulated lab (time at 1/100), killed with SIGINT
(Ctrl+C) or SIGKILL at a chosen moment. The killed run's variables die with it; the host keeps its
record of the antivirus services it paused (``antivirus_services``) and of the install run (the
detached worker's ``run.json`` / ``result.json``), and the re-run reads them. Every wait is bounded.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest

from tests.fakeecs import TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET
from tests.integration.conftest import PlaybookRun, run_playbook
from tests.integration.rollout_processes import ROLLOUT, events, guest, interrupt_when, script_variables
from tests.simlab.state import Lab

SAV = [{"service": "SAVService", "running": True}]


def variables(script: Path, report_dir: Path, **extra: Any) -> dict[str, Any]:
    return script_variables(script, report_dir, **{
        "virtio_reboot_timeout": 60,
        "virtio_antivirus_services": ["SAVService"],
        "virtio_rollout_id": "CHG-42",
        **extra,
    })


def rollout(lab: Lab, extra_vars: dict[str, Any], env: dict[str, str] | None = None) -> PlaybookRun:
    return run_playbook(ROLLOUT, lab.root / "inventory.yml", Path(extra_vars["virtio_report_dir"]), extra_vars,
                        timeout=150, env=env)


def assert_updated_from_the_run_record(rerun: PlaybookRun) -> None:
    """The re-run reports host a updated by rollout CHG-42 (58011 -> 58017), from the host's run record."""
    assert rerun.returncode == 0, rerun.output
    row = rerun.rows("virtio_rollout")["a"]
    assert (row["status"], row["action"], row["build_before"], row["build_after"], row["rebooted"]) == (
        "updated", "install", 58011, 58017, True), row
    assert "rollout CHG-42 updated this host" in row["note"] and "from 62.77.104.58011" in row["note"], row


def sav_running(lab: Lab) -> bool:
    return lab.read_host("a")["services"]["savservice"]["running"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_killed_during_the_install_the_reruns_report_names_the_paused_antivirus_and_restores_it(
    make_lab, tmp_path, stand_in_script, sig
):
    # a 30 s install (3000 s at 1/100): the controller is killed while it runs, the next run attaches
    lab = make_lab({"hosts": {"a": guest(update={"duration_s": 3000}, antivirus=SAV)}})
    interrupt_when(lab, "a", "install_started", variables(stand_in_script, tmp_path / "killed"), sig)
    assert not sav_running(lab), "the killed run left SAVService stopped (the install is running)"

    # The re-run attaches to the running install and gives up after install_timeout: the antivirus
    # stays paused, and the report says so, from the host's record (this run paused nothing itself).
    short = rollout(lab, variables(stand_in_script, tmp_path / "short", virtio_install_timeout=1))
    assert short.returncode != 0, short.output
    row = short.rows("virtio_rollout")["a"]
    assert row["status"] == "failed" and "is still running after install_timeout=1 s" in row["error"], row
    assert row["antivirus_paused"] == ["SAVService"], row
    assert "(SAVService) stay paused while it runs" in row["error"], row["error"]
    assert not sav_running(lab) and "service_started" not in events(lab, "a")

    # The next re-run waits for the install, reboots, verifies, restores the antivirus, and its
    # report names the service it found paused and restarted.
    final = rollout(lab, variables(stand_in_script, tmp_path / "final", virtio_install_timeout=120))
    assert final.returncode == 0, final.output
    row = final.rows("virtio_rollout")["a"]
    assert (row["status"], row["build_after"]) == ("updated", 58017), row
    assert row["antivirus_paused"] == ["SAVService"], row
    assert sav_running(lab) and "antivirus_record" not in lab.read_host("a")
    assert events(lab, "a").count("install_started") == 1


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_killed_during_the_reboot_wait_the_rerun_reports_the_host_updated_from_its_run_record(
    make_lab, tmp_path, stand_in_script, sig
):
    lab = make_lab({"hosts": {"a": guest(update={"duration_s": 100}, antivirus=SAV)}})
    interrupt_when(lab, "a", "reboot_requested", variables(stand_in_script, tmp_path / "killed"), sig)

    # the killed run wrote no outcome; the host's run record says rollout CHG-42 installed 58011 -> 58017
    assert_updated_from_the_run_record(rollout(lab, variables(stand_in_script, tmp_path / "rerun")))
    history = events(lab, "a")
    assert history.count("install_started") == 1 and history.count("reboot_requested") == 1, history

    # another rollout finds nothing to do and says so: the update is not its own
    other = rollout(lab, variables(stand_in_script, tmp_path / "other", virtio_rollout_id="CHG-43"))
    assert other.rows("virtio_rollout")["a"]["status"] == "compliant"


# The credentials of the fake ECS endpoint, from the environment as a user gives them.
API_ENV = {
    "ALIBABA_CLOUD_ACCESS_KEY_ID": TEST_ACCESS_KEY_ID,
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET": TEST_ACCESS_KEY_SECRET,
    "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
}


def api_variables(endpoint: str, report_dir: Path, **extra: Any) -> dict[str, Any]:
    """source=cloud_assistant_api: the install through the ECS API, decisions and record over WinRM."""
    return {
        "virtio_source": "cloud_assistant_api",
        "alicloud_ecs_endpoint": endpoint,
        "virtio_snapshot_provider": "none",
        "virtio_update_api_retry_delay": 0.01,
        "reboot_verify_api_poll_interval": 0.05,
        "virtio_poll_interval": 0.05,
        "virtio_reboot_timeout": 60,
        "virtio_report_dir": str(report_dir),
        "virtio_rollout_id": "CHG-42",
        **extra,
    }


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_killed_during_the_api_reboot_the_rerun_reports_the_cloud_assistant_api_install_updated(
    ecs_lab, tmp_path, sig
):
    # the API reboot takes 3 s (300 s at 1/100): the controller is killed while it waits for it
    lab, fake = ecs_lab({"hosts": {"a": guest(ecs={"instance_id": "i-a"}, update={"duration_s": 100},
                                               faults={"reboot_s": 300})}})
    interrupt_when(lab, "a", "ecs_reboot", api_variables(fake.url, tmp_path / "killed"), sig, env=API_ENV)

    # the host's run record, written over WinRM after the API install, says CHG-42 installed 58011 -> 58017
    assert_updated_from_the_run_record(rollout(lab, api_variables(fake.url, tmp_path / "rerun"), env=API_ENV))
    history = events(lab, "a")
    assert history.count("ecs_virtio_install") == 1 and history.count("ecs_reboot") == 1, history
    assert fake.count("RebootInstances") == 1

    other = rollout(lab, api_variables(fake.url, tmp_path / "other", virtio_rollout_id="CHG-43"), env=API_ENV)
    assert other.rows("virtio_rollout")["a"]["status"] == "compliant"
