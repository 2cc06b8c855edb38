"""Progress of long work at default verbosity, seen in a real ansible-playbook's stdout while it runs.

A slow install on the lab (8 s of real time, with the NIC reset of a network driver install in the
middle): the progress lines (host, phase, elapsed) arrive while the task is still running, one per
change (not one per poll). The 30 s heartbeat is tested with a fake clock
(tests/unit/plugins/module_utils/test_progress.py).
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from pathlib import Path

import yaml

from tests.fakeecs import TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET
from tests.integration.conftest import BIN_DIR, REPO_ROOT, run_playbook

OLD = "62.77.104.58011"
LINE = re.compile(r"^virtio_install (?P<host>\S+): (?P<phase>.+); elapsed (?P<elapsed>\d+:\d\d:\d\d)$")


def stream_playbook(playbook: Path, inventory: Path, timeout: float = 120) -> tuple[int, list[tuple[float, str]]]:
    """Run ansible-playbook at default verbosity; every stdout line with the second it arrived."""
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_FORCE_COLOR": "0", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(  # pylint: disable=consider-using-with
        [str(BIN_DIR / "ansible-playbook"), "-i", str(inventory), str(playbook)],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
    )
    lines: list[tuple[float, str]] = []
    start = time.monotonic()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append((time.monotonic() - start, line.rstrip("\n")))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        returncode = process.wait(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
        reader.join(timeout=10)
    return returncode, lines


def test_a_slow_install_prints_its_progress_while_it_runs(make_lab, tmp_path):
    # 800 simulated seconds at 1/100: 8 s; the network drops a third of the way in for 2.5 s
    lab = make_lab({
        "lab": {"time_scale": 0.01},
        "hosts": {"web01": {"drivers": {"viostor.sys": OLD, "netkvm.sys": OLD},
                            "update": {"duration_s": 800}, "faults": {"nic_drop_s": 250}}},
    })
    script = tmp_path / "InstallVirtIo.ps1"
    script.write_text("# vendor installer\n", encoding="utf-8")
    playbook = tmp_path / "install.yml"
    playbook.write_text(yaml.safe_dump([{
        "hosts": "web01", "gather_facts": False,
        "tasks": [{"name": "Install", "winfleet.updates.virtio_install": {
            "source": "script", "script_src": str(script), "poll_interval": 0.5}}],
    }]), encoding="utf-8")

    returncode, lines = stream_playbook(playbook, lab.root / "inventory.yml")
    output = "\n".join(text for _, text in lines)
    assert returncode == 0, output
    progress = [(at, LINE.match(text)) for at, text in lines if LINE.match(text)]
    phases = [match["phase"] for _, match in progress]
    assert {match["host"] for _, match in progress} == {"web01"}, output
    assert phases[0].startswith("install run ") and "running, log: starting the script install" in phases[0], output
    assert any(phase.startswith("connection lost, reconnecting") for phase in phases), output
    assert phases[-1].startswith("install run "), output  # the poll after the reconnect
    # one line per change (running, lost, running again), not one per poll (about 16 polls)
    assert 3 <= len(phases) <= 5, output
    elapsed = [int(match["elapsed"].rsplit(":", 1)[1]) for _, match in progress]
    assert elapsed == sorted(elapsed) and elapsed[-1] >= 2, output
    # printed while the task was still running: the first line seconds before the task's result
    result_at = next(at for at, text in lines if text.startswith("changed: [web01]"))
    assert progress[0][0] < result_at - 3, lines


def test_an_ecs_api_audit_prints_a_line_per_finished_batch(ecs_lab, tmp_path):
    hosts = {f"web{n:02d}": {"ecs": {"instance_id": f"i-web{n:02d}", "region_id": "cn-hangzhou"},
                             "drivers": {"viostor.sys": "62.77.104.58017"}} for n in range(3)}
    lab, fake = ecs_lab({"hosts": hosts}, "ecs")
    fake.world.script_seconds = 1.0
    env = {"ALIBABA_CLOUD_ACCESS_KEY_ID": TEST_ACCESS_KEY_ID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": TEST_ACCESS_KEY_SECRET,
           "WINFLEET_ECS_ENDPOINT": fake.url}
    run = run_playbook("winfleet.updates.virtio_audit", lab.root / "inventory.yml", tmp_path / "reports",
                       extra_vars={"virtio_transport": "ecs_api", "virtio_audit_ecs_batch_size": 2}, env=env)
    assert run.returncode == 0, run.output
    lines = [line for line in run.output.splitlines() if line.startswith("ECS audit: ")]
    assert not [line for line in run.stdout.splitlines() if line.startswith("ECS audit: ")], "progress is on stderr"
    phases = [re.sub(r"; elapsed \d+:\d\d:\d\d$", "", line) for line in lines]
    assert len(phases) == 3 and phases[0] == "ECS audit: 0 of 3 hosts probed (0 of 2 batches)", run.output
    # the two batches (2 hosts, 1 host) run at once: either may finish first
    assert re.fullmatch(r"ECS audit: [12] of 3 hosts probed \(1 of 2 batches\)", phases[1]), run.output
    assert phases[2] == "ECS audit: 3 of 3 hosts probed (2 of 2 batches)", run.output
