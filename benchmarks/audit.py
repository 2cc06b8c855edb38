"""Benchmark: audit simulated fleets and print wall time, round trips per host, controller memory.

    .venv/bin/python -m benchmarks.audit [--hosts 100 1000] [--round-trip-ms 50] [--forks 50] [--no-naive]

Not a test: it prints figures for docs/performance.md. For each fleet size it builds a simulated
lab (tests/simlab) and runs, one after the other on the same fleet, the real
``winfleet.updates.virtio_audit`` playbook and ``benchmarks/naive_audit.yml`` (the audit an
administrator would write with the stock Windows modules: fact gathering, then one call per
driver file). The lab is rebuilt from the same fleet file between the two, so both start from
the same host states with zeroed counters. It samples the resident memory of the whole
controller process tree (ansible-playbook and its forked workers) every 100 ms and reads each
host's round-trip counter from the lab, then prints the naive/collection ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tests.simlab.build_lab import build_lab  # noqa: E402

VERSIONS = ["62.77.104.58011", "62, 77, 104, 58016", "62.77.104.58101 (built by: WinDDK)", "62.77.104.57001"]


def fleet(hosts: int, round_trip_ms: float) -> dict:
    """A fleet of mixed driver builds; every 50th host has no virtio, every 100th is unreachable."""
    members = {}
    for index in range(hosts):
        host: dict = {"os_version": "10.0.17763"}
        if index % 50 != 7:
            host["drivers"] = {"viostor.sys": VERSIONS[index % len(VERSIONS)], "netkvm.sys": VERSIONS[index % len(VERSIONS)]}
        if index % 100 == 99:
            host["reachable"] = False
        members[f"win{index:05d}"] = host
    return {"lab": {"round_trip_ms": round_trip_ms}, "hosts": members}


def _tree_rss_kib(root_pid: int) -> int:
    """Resident memory of a process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii") as stat:
                ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/status", encoding="ascii") as status:
                rss[int(entry)] = next((int(line.split()[1]) for line in status if line.startswith("VmRSS:")), 0)
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    total, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


# What each audit runs and where it writes its report (relative to the run's work directory).
AUDITS = {
    "virtio_audit": {"playbook": "winfleet.updates.virtio_audit", "report_var": "virtio_report_dir",
                     "report": "virtio_audit.json"},
    "naive": {"playbook": str(REPO_ROOT / "benchmarks" / "naive_audit.yml"), "report_var": "naive_report_dir",
              "report": "naive_audit.csv"},
}
# ansible-playbook's exit code when some hosts were unreachable (the fleet has 1 % of them): the
# collection's audit reports them and exits 0, the naive audit drops them and exits 4.
_ACCEPTED_RC = {"virtio_audit": {0}, "naive": {0, 4}}


def run_audit(kind: str, hosts: int, round_trip_ms: float, forks: int, workdir: Path) -> dict:
    """Run one audit on a lab freshly built from the fleet file of this size; return its figures."""
    fleet_file = workdir / f"fleet-{hosts}.yml"
    if not fleet_file.exists():
        fleet_file.write_text(yaml.safe_dump(fleet(hosts, round_trip_ms)), encoding="utf-8")
    lab = build_lab(fleet_file, workdir / f"lab-{hosts}")
    audit = AUDITS[kind]
    report_dir = workdir / f"reports-{kind}-{hosts}"
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"), "ANSIBLE_FORKS": str(forks),
           "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default",
           "ANSIBLE_DISPLAY_OK_HOSTS": "false", "ANSIBLE_DISPLAY_SKIPPED_HOSTS": "false"}
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(lab.root / "inventory.yml"),
               audit["playbook"], "-e", json.dumps({audit["report_var"]: str(report_dir)})]
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _tree_rss_kib(process.pid))
            stop.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = process.communicate(timeout=3600)
    wall = time.perf_counter() - started
    stop.set()
    sampler.join()
    if process.returncode not in _ACCEPTED_RC[kind] or not (report_dir / audit["report"]).exists():
        raise SystemExit(f"{kind} audit of {hosts} hosts failed ({process.returncode}): {stderr[-2000:]}")
    trips = [lab.read_host(name)["round_trips"] for name in lab.host_names()]
    return {"audit": kind, "hosts": hosts, "wall_s": wall, "round_trips": sum(trips),
            "round_trips_per_host": sum(trips) / len(trips), "max_round_trips": max(trips),
            "peak_rss_mib": peak / 1024, "rc": process.returncode, "report_rows": _report_rows(report_dir / audit["report"]),
            # 1-minute load average before and after: other work on the machine shows up here.
            "load": (load_before, os.getloadavg()[0])}


def _report_rows(path: Path) -> int:
    """Host rows in a report: the JSON's hosts, or the CSV's lines after the header."""
    if path.suffix == ".json":
        return len(json.loads(path.read_text(encoding="utf-8"))["hosts"])
    return len([line for line in path.read_text(encoding="utf-8").splitlines()[1:] if line.strip()])


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark the virtio audit on simulated fleets.")
    parser.add_argument("--hosts", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--round-trip-ms", type=float, default=50.0)
    parser.add_argument("--forks", type=int, default=50)
    parser.add_argument("--no-naive", action="store_true", help="run only the collection's audit")
    args = parser.parse_args()
    kinds = ["virtio_audit"] if args.no_naive else ["virtio_audit", "naive"]
    print(f"virtio audit on the simulated lab: round trip {args.round_trip_ms:g} ms, forks {args.forks}, {os.cpu_count()} cores")
    print(f"{'audit':<13} {'hosts':>6} {'wall s':>8} {'hosts/s':>8} {'trips/host':>10} {'peak RSS MiB':>13} {'rows':>6} {'rc':>3}"
          f"  load before/after")
    with tempfile.TemporaryDirectory() as tmp:
        for hosts in args.hosts:
            rows = {kind: run_audit(kind, hosts, args.round_trip_ms, args.forks, Path(tmp)) for kind in kinds}
            for row in rows.values():
                print(f"{row['audit']:<13} {row['hosts']:>6} {row['wall_s']:>8.1f} {row['hosts'] / row['wall_s']:>8.1f} "
                      f"{row['round_trips_per_host']:>10.2f} {row['peak_rss_mib']:>13.0f} {row['report_rows']:>6} {row['rc']:>3}"
                      f"  {row['load'][0]:.1f}/{row['load'][1]:.1f}")
            if "naive" in rows:
                ours, naive = rows["virtio_audit"], rows["naive"]
                print(f"{'naive/ours':<13} {hosts:>6} {naive['wall_s'] / ours['wall_s']:>7.1f}x {'':>8} "
                      f"{naive['round_trips'] / ours['round_trips']:>9.1f}x {naive['peak_rss_mib'] / ours['peak_rss_mib']:>12.1f}x")


if __name__ == "__main__":
    main()
