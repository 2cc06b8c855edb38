"""virtio_transport=ecs_api: the antivirus paused by a controller that was killed is restored by the next run.

The pause script keeps the host's record of paused services (the file the WinRM module keeps), so
after SIGKILL between the pause and the resume, the re-run restarts what the record names and its
report says so. Real ansible-playbook processes against the lab and the fake ECS; every wait is bounded.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from tests.integration.conftest import BIN_DIR, REPO_ROOT
from tests.integration.test_virtio_rollout_ecs import ENV, NEW, fleet, rollout, winrm_round_trips
from tests.simlab.modules.antivirus_services import read_record, recorded_names

SAV = [{"service": "SAVService", "running": True}]


def events(lab, host: str) -> list[str]:
    return [e["event"] for e in lab.read_host(host).get("events", [])]


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc): Ansible's workers call setsid(), so killpg misses them."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, pending = [], [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def kill_after(lab, fake, tmp_path: Path, host: str, event: str, **variables) -> None:
    """Start the rollout and SIGKILL its process group once ``event`` happened on ``host``."""
    fake.world.script_seconds = 0.05
    extra = {"virtio_transport": "ecs_api", "virtio_source": "cloud_assistant_api", "virtio_serial": 2,
             "virtio_poll_interval": 0.05, "virtio_reboot_timeout": 30, "virtio_install_timeout": 120,
             "virtio_snapshot_provider": "none", "alicloud_ecs_endpoint": fake.url,
             "virtio_update_api_retry_delay": 0.01, "virtio_rollout_id": "test-ecs-rollout",
             "virtio_report_dir": str(tmp_path / "killed"), **variables}
    env = {**os.environ, **ENV, "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "PATH": f"{BIN_DIR}{os.pathsep}{os.environ.get('PATH', '')}"}
    log = (tmp_path / "killed.log").open("w", encoding="utf-8")
    process = subprocess.Popen(
        [str(BIN_DIR / "ansible-playbook"), "-i", str(lab.root / "inventory.yml"), "winfleet.updates.virtio_rollout",
         "-e", json.dumps(extra)],
        cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while event not in events(lab, host):
            assert process.poll() is None, f"the rollout ended before {event}: {(tmp_path / 'killed.log').read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"{event} never happened on {host}"
            time.sleep(0.05)
        # the controller dies as a whole (a crashed machine, a killed container): the playbook and its workers
        for pid in [process.pid, *descendants(process.pid)]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def test_a_rerun_after_sigkill_restarts_the_antivirus_the_killed_run_paused(ecs_lab, tmp_path):
    # a long install (10 simulated minutes): the controller is killed while Cloud Assistant runs it
    lab, fake = ecs_lab(fleet("web01", web01={"antivirus": SAV, "update": {"to": NEW, "duration_s": 600}}))
    kill_after(lab, fake, tmp_path, "web01", "install_started", virtio_antivirus_services=["SAVService"],
               virtio_install_timeout=900)
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
