"""virtio_transport=ecs_api: the antivirus paused by a controller that was killed is restored by the next run.

The pause script keeps the host's record of paused services (the file the WinRM module keeps), so
after SIGKILL between the pause and the resume, the re-run restarts what the record names and its
report says so. Real ansible-playbook processes against the lab and the fake ECS; every wait is bounded.
"""

from __future__ import annotations

import json

from tests.integration.test_interrupted_rollout_ecs import kill_when
from tests.integration.test_virtio_rollout_ecs import NEW, fleet, rollout, winrm_round_trips
from tests.simlab.modules.antivirus_services import read_record, recorded_names

SAV = [{"service": "SAVService", "running": True}]



def test_a_rerun_after_sigkill_restarts_the_antivirus_the_killed_run_paused(ecs_lab, tmp_path):
    # a long install (10 simulated minutes): the controller is killed while Cloud Assistant runs it
    lab, fake = ecs_lab(fleet("web01", web01={"antivirus": SAV, "update": {"to": NEW, "duration_s": 600}}))
    kill_when(lab, fake, "web01", "install_started", {
        "virtio_antivirus_services": ["SAVService"], "virtio_install_timeout": 900, "virtio_serial": 2,
        "virtio_snapshot_provider": "none", "virtio_rollout_id": "test-ecs-rollout"}, tmp_path)
    state = lab.read_host("web01")
    assert state["services"]["savservice"]["running"] is False
    # the host's record, in the file the WinRM module reads back (under PowerShell 5.1's rules)
    assert recorded_names(state) == ["SAVService"] and read_record(state) == ["SAVService"]

    run = rollout(lab, fake, tmp_path, virtio_snapshot_provider="none", virtio_antivirus_services=["SAVService"],
                  virtio_install_timeout=900)
    assert run.returncode == 0, run.output
    row = run.rows("virtio_rollout")["web01"]
    assert row["status"] == "updated" and row["antivirus_paused"] == ["SAVService"], json.dumps([row, lab.read_host("web01")["events"]])
    state = lab.read_host("web01")
    assert state["services"]["savservice"]["running"] is True
    assert recorded_names(state) == []
    assert winrm_round_trips(lab) == {}


def test_a_compliant_host_restarts_what_its_record_names(ecs_lab, tmp_path):
    """The killed run's install finished and the instance restarted (its start type started nothing):
    the re-run finds the host compliant and still restarts the recorded service, as the WinRM role does."""
    lab, fake = ecs_lab(fleet("web01", web01={"antivirus": [{"service": "SAVService", "running": False}],
                                              "drivers": {"viostor.sys": NEW, "netkvm.sys": NEW}}))
    with lab.host("web01") as state:
        state["antivirus_record"] = json.dumps(["SAVService"], indent=4)  # as ConvertTo-Json wrote it over WinRM
    run = rollout(lab, fake, tmp_path, virtio_snapshot_provider="none", virtio_antivirus_services=["SAVService"])
    assert run.returncode == 0, run.output
    row = run.rows("virtio_rollout")["web01"]
    assert row["status"] == "compliant" and row["antivirus_paused"] == ["SAVService"], row
    state = lab.read_host("web01")
    assert state["services"]["savservice"]["running"] is True and recorded_names(state) == []
    assert fake.count("RebootInstances") == 0
