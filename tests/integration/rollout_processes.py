"""The virtio rollout as real ``ansible-playbook`` processes the tests start, watch and kill.

Shared by the tests of concurrent and interrupted rollouts (``test_host_lock``,
``test_interrupted_rollout``): a virtio guest of the lab, the rollout's variables for the script
source, the host's event history, a rollout started in its own process group, a bounded wait for
an event on a host, and a controller interrupted the way a signal means it.
"""

from __future__ import annotations

import json
import os
import signal
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


def descendants(pid: int) -> list[int]:
    """Every process below ``pid``, from /proc (children of children included)."""
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


def interrupt(process: subprocess.Popen[str], sig: signal.Signals) -> None:
    """Stop the rollout the way ``sig`` means it, and wait for it to end.

    SIGKILL is a controller that dies as a whole (a crashed machine, a killed container): the
    playbook and every worker process, which Ansible starts with setsid() and so outside the
    playbook's process group. SIGINT is Ctrl-C: the terminal signals the playbook's process group
    and Ansible stops its workers itself.
    """
    if sig == signal.SIGKILL:
        for pid in [process.pid, *descendants(process.pid)]:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
    else:
        os.killpg(process.pid, sig)
    process.wait(timeout=30)


def interrupt_when(
    lab: Lab, host: str, event: str, extra_vars: dict[str, Any], sig: signal.Signals, env: dict[str, str] | None = None
) -> None:
    """Run a rollout and interrupt it with ``sig`` once ``event`` happened on ``host``."""
    process = start_rollout(lab, extra_vars, env=env, capture=False)
    try:
        wait_for_event(lab, host, event, process, timeout=90, interval=0.05)
        interrupt(process, sig)
    finally:
        if process.poll() is None:
            interrupt(process, signal.SIGKILL)
