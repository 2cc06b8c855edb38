"""Per-host state of the simulated Windows lab, shared by forked Ansible workers (test code only).

Each host is one JSON file under ``<lab>/hosts/``; every access takes an exclusive ``flock`` so
that workers, delegated tasks and the tests that inspect the lab never see a half-written state.
The lab counts round trips per host here, so tests and benchmarks can assert them.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from pathlib import Path
from typing import Any, Iterator

LAB_FILE = "lab.json"
HOSTS_DIR = "hosts"
CLUSTERS_DIR = "clusters"


class Lab:
    """A lab directory written by ``build_lab``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.settings: dict[str, Any] = json.loads((self.root / LAB_FILE).read_text(encoding="utf-8"))

    def host_path(self, name: str) -> Path:
        return self.root / HOSTS_DIR / f"{name}.json"

    def host_names(self) -> list[str]:
        return sorted(p.stem for p in (self.root / HOSTS_DIR).glob("*.json"))

    def cluster_path(self, name: str) -> Path:
        """Clusters are addressed by network name, which Windows compares case-insensitively."""
        return self.root / CLUSTERS_DIR / f"{name.lower()}.json"

    def host(self, name: str) -> contextlib.AbstractContextManager[dict[str, Any]]:
        """Lock, load, yield for changes, and write back one host's state."""
        path = self.host_path(name)
        if not path.exists():
            raise KeyError(f"simlab: no host {name!r} in lab {self.root}")
        return self._locked(path)

    def cluster(self, name: str) -> contextlib.AbstractContextManager[dict[str, Any]]:
        """Lock, load, yield for changes, and write back one cluster's state (runs, clustered role)."""
        path = self.cluster_path(name)
        if not path.exists():
            raise KeyError(f"simlab: no cluster {name!r} in lab {self.root}")
        return self._locked(path)

    def has_cluster(self, name: str) -> bool:
        return self.cluster_path(name).exists()

    def read_cluster(self, name: str) -> dict[str, Any]:
        """A snapshot of one cluster's state (for assertions)."""
        with self.cluster(name) as state:
            return json.loads(json.dumps(state))

    @contextlib.contextmanager
    def _locked(self, path: Path) -> Iterator[dict[str, Any]]:
        with open(path.with_suffix(".lock"), "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            state = json.loads(path.read_text(encoding="utf-8"))
            yield state
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(state, indent=1, sort_keys=True), encoding="utf-8")
            os.replace(tmp, path)

    def peek_host(self, name: str) -> dict[str, Any]:
        """One host's state under a shared lock, without writing it back (for frequent readers
        such as the fake ECS endpoint, which may scan every host on each API call)."""
        path = self.host_path(name)
        if not path.exists():
            raise KeyError(f"simlab: no host {name!r} in lab {self.root}")
        with open(path.with_suffix(".lock"), "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_SH)
            return json.loads(path.read_text(encoding="utf-8"))

    def read_host(self, name: str) -> dict[str, Any]:
        """A snapshot of one host's state (for assertions)."""
        with self.host(name) as state:
            return json.loads(json.dumps(state))


def write_lab(root: str | Path, fleet: dict[str, Any]) -> Lab:
    """Create the lab's state files from a validated fleet (see ``fleet.load_fleet``)."""
    root = Path(root)
    hosts_dir = root / HOSTS_DIR
    hosts_dir.mkdir(parents=True, exist_ok=True)
    for stale in hosts_dir.iterdir():
        stale.unlink()
    (root / LAB_FILE).write_text(json.dumps(fleet["lab"], indent=1), encoding="utf-8")
    for name, host in fleet["hosts"].items():
        state = {**host, "round_trips": 0, "events": []}
        (hosts_dir / f"{name}.json").write_text(json.dumps(state, indent=1, sort_keys=True), encoding="utf-8")
    clusters_dir = root / CLUSTERS_DIR
    clusters_dir.mkdir(exist_ok=True)
    for stale in clusters_dir.iterdir():
        stale.unlink()
    for cluster in fleet.get("clusters", {}).values():
        state = {**cluster, "cluster_role": None, "runs": {}, "active_run": None}
        path = clusters_dir / f"{cluster['name'].lower()}.json"
        path.write_text(json.dumps(state, indent=1, sort_keys=True), encoding="utf-8")
    return Lab(root)
