"""One rollout at a time per host: real concurrent ``ansible-playbook`` processes against the lab.

Simulated time runs at 1/100: a 12000 s install takes 120 s, far longer than the second controller
needs; the first controller is killed once the second has finished. Every wait is bounded.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from tests.integration.conftest import run_playbook
from tests.integration.rollout_processes import ROLLOUT, events, guest, script_variables, start_rollout, wait_for_event


def variables(script: Path, report_dir: Path, **extra: Any) -> dict[str, Any]:
    return script_variables(script, report_dir, **{"virtio_reboot_timeout": 30, **extra})


def test_a_second_rollout_finds_the_host_busy_and_never_installs_or_reboots_it(make_lab, tmp_path, stand_in_script):
    lab = make_lab({"hosts": {"a": guest(update={"duration_s": 12000})}})
    first = start_rollout(lab, variables(stand_in_script, tmp_path / "first", virtio_rollout_id="CHG-A"))
    try:
        wait_for_event(lab, "a", "install_started", first)
        second = run_playbook(ROLLOUT, lab.root / "inventory.yml", tmp_path / "second",
                              variables(stand_in_script, tmp_path / "second", virtio_rollout_id="CHG-B"), timeout=110)
        assert first.poll() is None, "the first rollout must still be installing while the second one runs"
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # its install goes on on the host; we only need the second's view
        first.wait()
    row = second.rows("virtio_rollout")["a"]
    assert second.returncode != 0, row
    assert row["status"] == "busy", row
    assert "busy: run" in row["error"] and "(rollout CHG-A, controller" in row["error"], row["error"]
    history = events(lab, "a")
    assert history.count("install_started") == 1 and "reboot_requested" not in history, history
    assert lab.read_host("a")["virtio_lock"]["rollout_id"] == "CHG-A", "the second run left the lock alone"


def test_a_rerun_of_the_same_rollout_takes_the_lock_over_and_finishes(make_lab, tmp_path, stand_in_script):
    lab = make_lab({"hosts": {"a": guest(update={"duration_s": 300})}})
    now = int(time.time())
    # the lock of a run on another controller that is gone; this controller cannot check that process
    with lab.host("a") as state:
        state["virtio_lock"] = {"run_id": "other:4242:1", "rollout_id": "CHG-7", "controller": "other:4242:1",
                                "started": now - 60, "expires": now + 3600}
    other = run_playbook(ROLLOUT, lab.root / "inventory.yml", tmp_path / "other",
                         variables(stand_in_script, tmp_path / "other"))
    assert other.rows("virtio_rollout")["a"]["status"] == "busy"
    assert lab.read_host("a")["round_trips"] == 1 and events(lab, "a") == []

    same = run_playbook(ROLLOUT, lab.root / "inventory.yml", tmp_path / "same",
                        variables(stand_in_script, tmp_path / "same", virtio_rollout_id="CHG-7"))
    assert same.returncode == 0, same.output
    assert same.rows("virtio_rollout")["a"]["status"] == "updated"
    assert "virtio_lock" not in lab.read_host("a")


def test_an_expired_lock_is_taken(make_lab, tmp_path, stand_in_script):
    lab = make_lab({"hosts": {"a": guest(update={"duration_s": 300})}})
    with lab.host("a") as state:
        state["virtio_lock"] = {"run_id": "other:4242:1", "rollout_id": "CHG-7", "controller": "other:4242:1",
                                "started": 1, "expires": int(time.time()) - 1}
    run = run_playbook(ROLLOUT, lab.root / "inventory.yml", tmp_path / "r", variables(stand_in_script, tmp_path / "r"))
    assert run.returncode == 0, run.output
    assert run.rows("virtio_rollout")["a"]["status"] == "updated"
