"""End-to-end harness: build a simulated lab and run the real ansible-playbook against it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import yaml

from tests.fakeecs.server import FakeEcs
from tests.simlab.build_lab import build_lab
from tests.simlab.state import Lab

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN_DIR = Path(sys.executable).parent


@dataclass
class PlaybookRun:
    """What one ansible-playbook run printed and left behind."""

    returncode: int
    output: str
    report_dir: Path
    stdout: str = ""

    def report(self, name: str) -> dict[str, Any]:
        return json.loads((self.report_dir / f"{name}.json").read_text(encoding="utf-8"))

    def rows(self, name: str) -> dict[str, dict[str, Any]]:
        return {row["host"]: row for row in self.report(name)["hosts"]}


def run_playbook(
    playbook: str,
    inventory: Path,
    report_dir: Path,
    extra_vars: dict[str, Any] | None = None,
    check: bool = False,
    extra_args: list[str] | None = None,
    timeout: float = 300,
    env: dict[str, str] | None = None,
) -> PlaybookRun:
    """Run ``ansible-playbook`` from the repository root, as an operator would.

    ``env`` adds environment variables, e.g. ``ANSIBLE_STDOUT_CALLBACK=ansible.posix.json`` to
    read every task result from ``stdout``.
    """
    variables = {"virtio_report_dir": str(report_dir), **(extra_vars or {})}
    command = [str(BIN_DIR / "ansible-playbook"), "-i", str(inventory), playbook, "-e", json.dumps(variables)]
    if check:
        command.append("--check")
    command += extra_args or []
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_FORCE_COLOR": "0", "PATH": f"{BIN_DIR}{os.pathsep}{os.environ.get('PATH', '')}", **(env or {})}
    completed = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    return PlaybookRun(completed.returncode, completed.stdout + completed.stderr, report_dir, completed.stdout)


@pytest.fixture
def make_lab(tmp_path: Path) -> Callable[[dict[str, Any]], Lab]:
    """Build a lab from a fleet description given as a dict (the YAML of docs/simlab.md)."""

    def factory(fleet: dict[str, Any], name: str = "lab") -> Lab:
        fleet_file = tmp_path / f"{name}.yml"
        fleet_file.write_text(yaml.safe_dump(fleet), encoding="utf-8")
        return build_lab(fleet_file, tmp_path / name)

    return factory


@pytest.fixture
def stand_in_script(tmp_path: Path) -> Path:
    """A stand-in for InstallVirtIo.ps1 on the controller (the lab checks what is pushed, runs nothing)."""
    path = tmp_path / "InstallVirtIo.ps1"
    path.write_text("# stand-in\n", encoding="utf-8")
    return path


@pytest.fixture
def ecs_lab(make_lab) -> Iterator[Callable[..., tuple[Lab, FakeEcs]]]:
    """Build a lab and start a fake ECS endpoint over it; every fake is stopped at teardown."""
    fakes: list[FakeEcs] = []

    def factory(fleet: dict[str, Any], name: str = "lab") -> tuple[Lab, FakeEcs]:
        lab = make_lab(fleet, name)
        # No per-call delay: these tests check behaviour; benchmarks keep the realistic default.
        fake = FakeEcs(lab, idle_timeout=120, call_delay=0.0).start()
        fakes.append(fake)
        return lab, fake

    yield factory
    for fake in fakes:
        fake.stop()


def recap(output: str) -> dict[str, dict[str, int]]:
    """The PLAY RECAP counters per host."""
    counters = {}
    for line in output.split("PLAY RECAP")[-1].splitlines():
        match = re.match(r"(\S+)\s+:\s+(.*)", line.strip())
        if match:
            counters[match.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(2))}
    return counters
