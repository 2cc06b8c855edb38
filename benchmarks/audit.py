"""Benchmark: audit simulated fleets and print wall time, round trips or API calls, controller memory.

    .venv/bin/python -m benchmarks.audit [--hosts 100 1000] [--ecs-hosts 1000 10000] [--round-trip-ms 50]
                                         [--forks 50] [--kinds virtio_audit competent naive ecs_api] [--json FILE]

Not a test: it prints figures for docs/performance.md. For each fleet size it builds a simulated
lab (tests/simlab) and runs, one after the other, each audit on a lab freshly rebuilt from the same
fleet file (same host states, zeroed counters):

* ``virtio_audit``: the collection's ``winfleet.updates.virtio_audit`` over the (simulated) WinRM
  connection, one round trip per host;
* ``competent``: ``benchmarks/competent_audit.yml``, the baseline a competent Windows admin
  writes: one ``ansible.windows.win_powershell`` call per host reading the OS and every virtio
  driver version in one script, the report worked out once on the controller;
* ``naive``: ``benchmarks/naive_audit.yml`` (fact gathering, then one call per driver file),
  the NAIVE baseline, kept for comparison;
* ``ecs_api``: ``virtio_audit`` with ``virtio_transport=ecs_api`` against the fake ECS endpoint
  (tests/fakeecs) at its default latency: 0.3 s per API call, 2 s per script run
  (tests/fakeecs/latency.py). The endpoint runs in this process, outside the measured tree.

It samples the memory of the whole controller process tree (ansible-playbook and its forked
workers) every 100 ms, as RSS and as PSS (shared pages counted once, see ``tree_memory_kib``), reads each host's WinRM round-trip counter from the lab and counts
the fake's API calls, and records the 1-minute load average before and after each run.
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
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tests.fakeecs import TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET  # noqa: E402
from tests.fakeecs.server import FakeEcs  # noqa: E402
from tests.simlab.build_lab import build_lab  # noqa: E402
from tests.simlab.state import Lab  # noqa: E402

VERSIONS = ["62.77.104.58011", "62, 77, 104, 58016", "62.77.104.58101 (built by: WinDDK)", "62.77.104.57001"]


ECS_REGIONS = ("cn-hangzhou", "cn-shanghai", "ap-southeast-1")


def fleet(hosts: int, round_trip_ms: float, ecs: bool = False) -> dict:
    """A fleet of mixed driver builds; every 50th host has no virtio, every 100th is unreachable.

    On ECS (``ecs``) the instances are spread over three regions and "unreachable" is an offline
    Cloud Assistant agent: the same 1 % of hosts without an answer.
    """
    members = {}
    for index in range(hosts):
        host: dict = {"os_version": "10.0.17763"}
        if index % 50 != 7:
            host["drivers"] = {"viostor.sys": VERSIONS[index % len(VERSIONS)], "netkvm.sys": VERSIONS[index % len(VERSIONS)]}
        if index % 100 == 99:
            host["reachable"] = False
            if ecs:
                host["cloud_assistant"] = False
        if ecs:
            host["ecs"] = {"instance_id": f"i-win{index:05d}", "region_id": ECS_REGIONS[index % len(ECS_REGIONS)]}
        members[f"win{index:05d}"] = host
    return {"lab": {"round_trip_ms": round_trip_ms}, "hosts": members}


def _field_kib(path: str, name: str) -> int:
    with open(path, encoding="ascii") as stream:
        return next((int(line.split()[1]) for line in stream if line.startswith(name)), 0)


def tree_memory_kib(root_pid: int) -> tuple[int, int]:
    """(RSS, PSS) summed over a process and all its descendants, from /proc.

    RSS counts a page once per process that maps it, so ansible-playbook and the workers it forks
    (which share the controller's pages copy-on-write) count the inventory several times; PSS
    (``smaps_rollup``) divides each shared page among the processes that share it: the sum is the
    memory the tree really holds. The tree is walked down from ``root_pid`` through
    ``/proc/PID/task/TID/children`` (Linux 3.5+): the sampler runs every 100 ms on the same cores as
    the audit it measures, and scanning every process of a busy machine cost about 1 % of a core
    per 10 processes.
    """
    if not os.path.exists(f"/proc/{root_pid}/task/{root_pid}/children"):
        return _scan_tree_rss_kib(root_pid), 0
    rss = pss = 0
    stack, seen = [root_pid], set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            rss += _field_kib(f"/proc/{pid}/status", "VmRSS:")
            pss += _field_kib(f"/proc/{pid}/smaps_rollup", "Pss:")
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as children:
                    stack.extend(int(child) for child in children.read().split())
        except (OSError, ValueError):
            continue
    return rss, pss


def _scan_tree_rss_kib(root_pid: int) -> int:
    """The same sum, from a scan of every process (kernels without the ``children`` file)."""
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
    "competent": {"playbook": str(REPO_ROOT / "benchmarks" / "competent_audit.yml"),
                  "report_var": "competent_report_dir", "report": "competent_audit.csv"},
    "naive": {"playbook": str(REPO_ROOT / "benchmarks" / "naive_audit.yml"), "report_var": "naive_report_dir",
              "report": "naive_audit.csv"},
    "ecs_api": {"playbook": "winfleet.updates.virtio_audit", "report_var": "virtio_report_dir",
                "report": "virtio_audit.json", "extra": {"virtio_transport": "ecs_api"}},
}
# ansible-playbook's exit code when some hosts were unreachable (the fleet has 1 % of them): the
# collection's audit reports them and exits 0, the baselines drop them and exit 4.
_ACCEPTED_RC = {"virtio_audit": {0}, "competent": {0, 4}, "naive": {0, 4}, "ecs_api": {0}}


def run_audit(kind: str, hosts: int, round_trip_ms: float, forks: int, workdir: Path) -> dict:
    """Run one audit on a lab freshly built from the fleet file of this size; return its figures."""
    ecs = kind == "ecs_api"
    fleet_file = workdir / f"fleet-{hosts}{'-ecs' if ecs else ''}.yml"
    if not fleet_file.exists():
        fleet_file.write_text(yaml.safe_dump(fleet(hosts, round_trip_ms, ecs)), encoding="utf-8")
    lab = build_lab(fleet_file, workdir / f"lab-{hosts}")
    audit = AUDITS[kind]
    report_dir = workdir / f"reports-{kind}-{hosts}"
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"), "ANSIBLE_FORKS": str(forks),
           "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default",
           "ANSIBLE_DISPLAY_OK_HOSTS": "false", "ANSIBLE_DISPLAY_SKIPPED_HOSTS": "false"}
    fake = None
    if ecs:
        fake = FakeEcs(Lab(lab.root), idle_timeout=600).start()  # default latency: 0.3 s per call, 2 s per script
        env.update(ALIBABA_CLOUD_ACCESS_KEY_ID=TEST_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET=TEST_ACCESS_KEY_SECRET,
                   WINFLEET_ECS_ENDPOINT=fake.url)
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(lab.root / "inventory.yml"),
               audit["playbook"], "-e", json.dumps({audit["report_var"]: str(report_dir), **audit.get("extra", {})})]
    try:
        measured = run_measured(command, env, timeout=3600)
    finally:
        if fake is not None:
            fake.stop()
    if measured.returncode not in _ACCEPTED_RC[kind] or not (report_dir / audit["report"]).exists():
        raise SystemExit(f"{kind} audit of {hosts} hosts failed ({measured.returncode}): {measured.stderr[-2000:]}")
    trips = [lab.read_host(name)["round_trips"] for name in lab.host_names()]
    return {"audit": kind, "hosts": hosts, "wall_s": measured.wall_s, "round_trips": sum(trips),
            "api_calls": len(fake.calls) if fake is not None else 0,
            "round_trips_per_host": sum(trips) / len(trips), "max_round_trips": max(trips),
            "peak_rss_mib": measured.peak_rss_kib / 1024, "peak_pss_mib": measured.peak_pss_kib / 1024,
            "rc": measured.returncode, "report_rows": _report_rows(report_dir / audit["report"]), "load": measured.load}


@dataclass
class Measured:
    """One ansible-playbook run as the benchmarks report it."""

    returncode: int
    stderr: str
    wall_s: float
    peak_rss_kib: int
    peak_pss_kib: int
    #: 1-minute load average before and after: other work on the machine shows up here.
    load: tuple[float, float]


def run_measured(command: list[str], env: dict[str, str], timeout: float) -> Measured:
    """Run ``command`` from the repository, sampling its process tree's memory every 0.1 s."""
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = peak_pss = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak, peak_pss
        while not stop.is_set():
            rss, pss = tree_memory_kib(process.pid)
            peak, peak_pss = max(peak, rss), max(peak_pss, pss)
            stop.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        _, stderr = process.communicate(timeout=timeout)
    finally:
        wall = time.perf_counter() - started
        stop.set()
        sampler.join()
    return Measured(process.returncode, stderr, wall, peak, peak_pss, (load_before, os.getloadavg()[0]))


def _report_rows(path: Path) -> int:
    """Host rows in a report: the JSON's hosts, or the CSV's lines after the header."""
    if path.suffix == ".json":
        return len(json.loads(path.read_text(encoding="utf-8"))["hosts"])
    return len([line for line in path.read_text(encoding="utf-8").splitlines()[1:] if line.strip()])


def _print_row(row: dict) -> None:
    per_host = row["api_calls"] / row["hosts"] if row["audit"] == "ecs_api" else row["round_trips_per_host"]
    unit = "API calls" if row["audit"] == "ecs_api" else "trips"
    print(f"{row['audit']:<13} {row['hosts']:>6} {row['wall_s']:>8.1f} {row['hosts'] / row['wall_s']:>8.1f} "
          f"{per_host:>8.3f} {unit:<9} {row['peak_rss_mib']:>8.0f} {row['peak_pss_mib']:>8.0f} {row['report_rows']:>6} {row['rc']:>3}"
          f"  {row['load'][0]:.1f}/{row['load'][1]:.1f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark the virtio audit on simulated fleets.")
    parser.add_argument("--hosts", type=int, nargs="+", default=[100, 1000], help="fleet sizes of the WinRM audits")
    parser.add_argument("--ecs-hosts", type=int, nargs="+", default=[1000, 10000], help="fleet sizes of the ECS API audit")
    parser.add_argument("--round-trip-ms", type=float, default=50.0)
    parser.add_argument("--forks", type=int, default=50)
    parser.add_argument("--kinds", nargs="+", default=list(AUDITS), choices=list(AUDITS))
    parser.add_argument("--json", type=Path, help="append every row as a JSON line to this file")
    args = parser.parse_args()
    print(f"virtio audit on the simulated lab: round trip {args.round_trip_ms:g} ms, forks {args.forks}, "
          f"{os.cpu_count()} cores; ECS API: 0.3 s per call, 2 s per script (tests/fakeecs/latency.py)")
    print(f"{'audit':<13} {'hosts':>6} {'wall s':>8} {'hosts/s':>8} {'per host':>8} {'':<9} {'peak MiB':>8} {'PSS MiB':>8} {'rows':>6} {'rc':>3}"
          "  load before/after")
    plan = [(kind, hosts) for hosts in args.hosts for kind in args.kinds if kind != "ecs_api"]
    plan += [("ecs_api", hosts) for hosts in args.ecs_hosts if "ecs_api" in args.kinds]
    with tempfile.TemporaryDirectory() as tmp:
        for kind, hosts in plan:
            row = run_audit(kind, hosts, args.round_trip_ms, args.forks, Path(tmp))
            _print_row(row)
            if args.json:
                with args.json.open("a", encoding="utf-8") as stream:
                    stream.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
