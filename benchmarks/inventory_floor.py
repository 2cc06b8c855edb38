"""Benchmark: what ansible-playbook itself costs for an inventory of N hosts, before any audit runs.

    .venv/bin/python -m benchmarks.inventory_floor [--hosts 1000 10000] [--json FILE]

Not a test: it prints the floor under the ECS API audit's figures in docs/performance.md. For each
size it writes the same inventory as ``benchmarks.audit`` gives the ``ecs_api`` audit (the same
fleet, three regions, ``ecs_instance_id`` / ``alicloud_region`` per host) and runs ansible-playbook,
with the same configuration as the audits, on two playbooks that do nothing:

* ``localhost``: one play on the controller: Ansible parses and holds the inventory, no more;
* ``all hosts``: one play over every inventory host with no task: the strategy's per-host state too.

For each it reports the wall time and the peak memory of the process tree (RSS, and PSS, which
counts the pages a forked worker shares with ansible-playbook once), sampled as ``benchmarks.audit``
samples it. What the audit's peak adds to the ``localhost`` floor is the
audit's own; what grows with the fleet in the floor is Ansible's (its Host and Group objects and
their variables, the parsed YAML).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from benchmarks.audit import fleet, run_measured  # noqa: E402
from tests.simlab.build_lab import build_lab  # noqa: E402

PLAYBOOKS = {
    "localhost": [{"name": "Nothing, on the controller", "hosts": "localhost", "gather_facts": False, "tasks": []}],
    "all hosts": [{"name": "Nothing, on every host", "hosts": "all", "gather_facts": False, "tasks": []}],
}


def run_floor(kind: str, inventory: Path, workdir: Path) -> dict:
    """Run one do-nothing playbook over the inventory; wall time and peak RSS of the process tree."""
    playbook = workdir / f"{kind.replace(' ', '_')}.yml"
    playbook.write_text(yaml.safe_dump(PLAYBOOKS[kind], sort_keys=False), encoding="utf-8")
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"), "ANSIBLE_FORKS": "50",
           "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default"}
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), str(playbook)]
    measured = run_measured(command, env, timeout=1800)
    if measured.returncode != 0:
        raise SystemExit(f"{kind} over {inventory} failed ({measured.returncode}): {measured.stderr[-2000:]}")
    return {"playbook": kind, "wall_s": measured.wall_s, "peak_rss_mib": measured.peak_rss_kib / 1024,
            "peak_pss_mib": measured.peak_pss_kib / 1024, "load": measured.load}


def main() -> None:
    parser = argparse.ArgumentParser(description="What ansible-playbook costs for an inventory of N hosts.")
    parser.add_argument("--hosts", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--json", type=Path, help="append every row as a JSON line to this file")
    args = parser.parse_args()
    print(f"{'playbook':<10} {'hosts':>6} {'wall s':>8} {'peak MiB':>9} {'PSS MiB':>8}  load before/after")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for hosts in args.hosts:
            fleet_file = workdir / f"fleet-{hosts}-ecs.yml"
            fleet_file.write_text(yaml.safe_dump(fleet(hosts, 50.0, ecs=True)), encoding="utf-8")
            inventory = build_lab(fleet_file, workdir / f"lab-{hosts}").root / "inventory.yml"
            for kind in PLAYBOOKS:
                row = {"hosts": hosts, **run_floor(kind, inventory, workdir)}
                print(f"{kind:<10} {hosts:>6} {row['wall_s']:>8.1f} {row['peak_rss_mib']:>9.0f} {row['peak_pss_mib']:>8.0f}"
                      f"  {row['load'][0]:.1f}/{row['load'][1]:.1f}", flush=True)
                if args.json:
                    with args.json.open("a", encoding="utf-8") as stream:
                        stream.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
