"""Controller overhead of the virtio rollout on a simulated fleet (a benchmark, not a test).

    .venv/bin/python -m benchmarks.rollout                      # 20 hosts, one batch, real durations (~3 min)
    .venv/bin/python -m benchmarks.rollout --serial 5 --time-scale 0.25 --poll-interval 1

Every host needs the update; its installer runs ``--install-s`` simulated seconds and its reboot
``--reboot-s`` (plus the 2 s ``shutdown /t 2`` delay of ansible.windows.win_reboot). The lab runs
simulated time at ``--time-scale`` real seconds per simulated second. A batch cannot finish before
its slowest host's install and reboot, so the *simulated* time of the run is the sum over the
batches of that, scaled; everything else the wall clock shows is controller overhead: Ansible's
per-task cost, polling granularity, win_reboot's back-off while the host is down, the reports.

Prints the wall time, the simulated install+reboot time, and the overhead as a fraction of the
wall time (target: under 5 %), split into its parts: how late the controller noticed that an
install had finished (polling), how late it noticed that a reboot was over (win_reboot's
back-off, up to 12 s between checks), and the rest (Ansible's tasks, ~30 per host). The lab
records both "due" and "noticed" times in its events. It also prints the controller's CPU time.
Absolute overhead per batch barely depends on the time scale, so the fraction at real durations
(``--time-scale 1``, the default) is the one that matters for operators.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tests.simlab.build_lab import build_lab  # noqa: E402  (needs the repository root on sys.path)
from tests.simlab.state import Lab  # noqa: E402

WIN_REBOOT_DELAY_S = 2  # ansible.windows.win_reboot always sends shutdown /r /t 2 (or more)


def fleet(hosts: int, args: argparse.Namespace) -> dict:
    """``hosts`` Server 2019 guests at build 58011 that all need the 58017 update."""
    host = {
        "drivers": {"viostor.sys": "62.77.104.58011", "netkvm.sys": "62.77.104.58011"},
        "antivirus": [{"service": "SAVService", "running": True}],
        "update": {"to": "62.77.104.58017", "duration_s": args.install_s},
        "faults": {"nic_drop_s": args.nic_drop_s, "reboot_s": args.reboot_s},
    }
    return {
        "lab": {"time_scale": args.time_scale, "round_trip_ms": args.round_trip_ms},
        "hosts": {f"web{index:02d}": host for index in range(1, hosts + 1)},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--serial", type=int, default=20, help="hosts per batch (virtio_serial)")
    parser.add_argument("--time-scale", type=float, default=1.0, help="real seconds per simulated second")
    parser.add_argument("--install-s", type=float, default=90, help="simulated seconds the installer runs")
    parser.add_argument("--reboot-s", type=float, default=60, help="simulated seconds a reboot takes")
    parser.add_argument("--nic-drop-s", type=float, default=10, help="simulated seconds of NIC drop")
    parser.add_argument(
        "--poll-interval", type=float, default=2.0, help="virtio_poll_interval (real seconds)"
    )
    parser.add_argument("--round-trip-ms", type=float, default=20, help="simulated latency per round trip")
    parser.add_argument(
        "--profile", action="store_true", help="print the slowest tasks (ansible.posix.profile_tasks)"
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="winfleet-bench-") as tmp:
        work = Path(tmp)
        (work / "fleet.yml").write_text(yaml.safe_dump(fleet(args.hosts, args)), encoding="utf-8")
        lab: Lab = build_lab(work / "fleet.yml", work / "lab")
        script = work / "InstallVirtIo.ps1"
        script.write_text("# stand-in: the lab simulates what the installer does\n", encoding="utf-8")
        variables = {
            "virtio_source": "script",
            "virtio_script_src": str(script),
            "virtio_serial": args.serial,
            "virtio_poll_interval": args.poll_interval,
            "virtio_antivirus_services": ["SAVService"],
            "virtio_report_dir": str(work / "reports"),
        }
        env = {**os.environ, "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg")}
        if args.profile:
            env.update(
                ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks", PROFILE_TASKS_TASK_OUTPUT_LIMIT="15"
            )
        command = [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i",
            str(lab.root / "inventory.yml"),
            "winfleet.updates.virtio_rollout",
            "-e",
            json.dumps(variables),
        ]
        started = time.monotonic()
        completed = subprocess.run(
            command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False
        )
        wall = time.monotonic() - started
        if completed.returncode != 0:
            print(completed.stdout[-4000:], completed.stderr[-4000:], sep="\n")
            return 1
        if args.profile:
            print(completed.stdout[completed.stdout.rfind("TASKS RECAP") :])
        report = json.loads((work / "reports" / "virtio_rollout.json").read_text(encoding="utf-8"))
        states = [lab.read_host(name) for name in lab.host_names()]

    batches = math.ceil(args.hosts / args.serial)
    per_batch_simulated = (args.install_s + WIN_REBOOT_DELAY_S + args.reboot_s) * args.time_scale
    simulated = batches * per_batch_simulated
    overhead = wall - simulated
    install_late = _noticed_late(states, "install_finished", args.serial)
    reboot_late = _noticed_late(states, "booted", args.serial)
    tasks = overhead - install_late - reboot_late
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    durations = [row["duration_s"] for row in report["hosts"]]
    print("virtio rollout benchmark (simulated lab)")
    print(
        f"  hosts {args.hosts}, serial {args.serial} ({batches} batches), time scale {args.time_scale:g}, "
        f"install {args.install_s:g} s + reboot {WIN_REBOOT_DELAY_S} + {args.reboot_s:g} s simulated, "
        f"NIC drop {args.nic_drop_s:g} s, poll interval {args.poll_interval:g} s, "
        f"round trip {args.round_trip_ms:g} ms"
    )
    print(f"  statuses: {report['summary']['by_status']}")
    print(f"  wall time:                      {wall:8.1f} s")
    print(f"  simulated install+reboot time:  {simulated:8.1f} s  ({per_batch_simulated:.1f} s per batch)")
    print(f"  controller overhead:            {overhead:8.1f} s  ({overhead / batches:.1f} s per batch)")
    print(f"    install noticed late (polls): {install_late:8.1f} s")
    print(f"    reboot noticed late (win_reboot back-off): {reboot_late:.1f} s")
    print(f"    Ansible tasks and the rest:   {tasks:8.1f} s  ({tasks / batches:.1f} s per batch)")
    print(f"  overhead fraction:              {overhead / wall:8.1%}  (target < 5 %)")
    print(f"    without win_reboot's back-off: {(overhead - reboot_late) / wall:7.1%}")
    print(
        f"  controller CPU time:            {cpu.ru_utime + cpu.ru_stime:8.1f} s  "
        f"({(cpu.ru_utime + cpu.ru_stime) / wall:.1%} of the wall time)"
    )
    print(
        f"  per host: mean {sum(durations) / len(durations):.1f} s wall, "
        f"{sum(s['round_trips'] for s in states) / len(states):.1f} round trips "
        f"({sum(s.get('failed_round_trips', 0) for s in states) / len(states):.1f} during outages)"
    )
    return 0


def _noticed_late(states: list[dict], event: str, serial: int) -> float:
    """Seconds between when ``event`` was due on a host and the round trip that saw it, summed over
    the batches (a batch waits for its latest host)."""
    late = [next(e["at"] - e["due"] for e in state["events"] if e["event"] == event) for state in states]
    return sum(max(late[start : start + serial]) for start in range(0, len(late), serial))


if __name__ == "__main__":
    sys.exit(main())
