"""The virtio rollout as real ``ansible-playbook`` processes the tests start, watch and kill.

Shared by the tests of concurrent and interrupted rollouts (``test_host_lock``,
``test_interrupted_rollout``): a virtio guest of the lab, the rollout's variables for the script
source, the host's event history, a rollout started in its own process group (so that a signal
reaches every process of it), and a bounded wait for an event on a host.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.integration.conftest import BIN_DIR, REPO_ROOT
from tests.simlab.state import Lab

ROLLOUT = "winfleet.updates.virtio_rollout"
OLD = "62.77.104.58011"


def guest(**extra: Any) -> dict[str, Any]:
    """A lab host whose virtio drivers are the old build the rollout updates."""
    return {"drivers": {"viostor.sys": OLD, "netkvm.sys": OLD}, **extra}


def script_variables(script: Path, report_dir: Path, **extra: Any) -> dict[str, Any]:
    """The rollout's variables for the script source, quick polls; ``extra`` adds or overrides."""
    return {
        "virtio_source": "script",
        "virtio_script_src": str(script),
        "virtio_poll_interval": 0.05,
        "virtio_report_dir": str(report_dir),
        **extra,
    }


def events(lab: Lab, host: str) -> list[str]:
    """What happened on ``host`` so far, in order (tests/simlab/winhost.py logs it)."""
    return [event["event"] for event in lab.read_host(host)["events"]]


def start_rollout(
    lab: Lab, extra_vars: dict[str, Any], env: dict[str, str] | None = None, capture: bool = True
) -> subprocess.Popen[str]:
    """Start the rollout on the lab in its own process group; its output is piped when ``capture``."""
    environment = {**os.environ, "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    output = subprocess.PIPE if capture else subprocess.DEVNULL
    inventory = str(lab.root / "inventory.yml")
    return subprocess.Popen(
        [str(BIN_DIR / "ansible-playbook"), "-i", inventory, ROLLOUT, "-e", json.dumps(extra_vars)],
        cwd=REPO_ROOT,
        env={**environment, **(env or {})},
        stdout=output,
        stderr=subprocess.STDOUT if capture else subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )


def wait_for_event(
    lab: Lab, host: str, event: str, process: subprocess.Popen[str], timeout: float = 60, interval: float = 0.1
) -> None:
    """Wait until ``event`` happened on ``host``, at most ``timeout`` s; fail if the rollout ended first."""
    deadline = time.monotonic() + timeout
    while event not in events(lab, host):
        if process.poll() is not None:
            output = process.communicate()[0] if process.stdout else ""
            raise AssertionError(f"the rollout ended before {event}: {output}")
        assert time.monotonic() < deadline, f"{event} never happened on {host}"
        time.sleep(interval)
