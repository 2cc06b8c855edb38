"""Reachability, raw commands and file transfer of simulated hosts (test code only).

Ansible sends raw PowerShell commands (``ansible.windows.win_reboot`` does) and copies files
(``put_file``) besides running modules. Each capability of the lab that needs a raw command adds
a matcher to ``RAW_COMMANDS``; anything unmatched fails the way an unknown command would, so
the product cannot depend on a behaviour the lab does not model.
"""

from __future__ import annotations

import hashlib
import re
import time
from typing import Any, Callable

from tests.simlab.state import Lab

RawHandler = Callable[[dict[str, Any], "re.Match[str]", Lab], tuple[int, bytes, bytes]]

# (compiled pattern, handler) pairs tried in order against the raw command text.
RAW_COMMANDS: list[tuple[re.Pattern[str], RawHandler]] = []


def unreachable_reason(state: dict[str, Any], lab: dict[str, Any]) -> str | None:
    """Why the host does not answer right now, or None when it does."""
    if not state.get("reachable", True):
        return "the fleet marks it reachable: false"
    now = time.time()
    down_until = state.get("down_until")
    if down_until is not None and now < down_until:
        return state.get("down_reason", "the host is down")
    # Scheduled outages, e.g. a cluster node restarting during a CAU run: [from, until, reason].
    for start, until, reason in state.get("down_windows", []):
        if start <= now < until:
            return reason
    return None


def run_raw(state: dict[str, Any], cmd: str, lab: Lab) -> tuple[int, bytes, bytes]:
    """Answer a raw command from the registered matchers."""
    for pattern, handler in RAW_COMMANDS:
        match = pattern.search(cmd)
        if match:
            return handler(state, match, lab)
    state.setdefault("events", []).append({"event": "unsupported_raw_command", "command": cmd[:200]})
    return 1, b"", f"simlab: raw command not simulated: {cmd[:200]}".encode()


def store_file(state: dict[str, Any], path: str, data: bytes, lab: Lab) -> None:
    """Keep a copied file as a blob in the lab directory and index it in the host's state."""
    digest = hashlib.sha256(data).hexdigest()
    blob = lab.root / "blobs" / digest
    blob.parent.mkdir(exist_ok=True)
    if not blob.exists():
        blob.write_bytes(data)
    state.setdefault("files", {})[path.lower()] = {"path": path, "sha256": digest, "size": len(data)}
    # Tests assert transfers: an idempotent second run must copy nothing.
    state["put_files"] = state.get("put_files", 0) + 1


def read_file(state: dict[str, Any], path: str, lab: Lab) -> bytes:
    """Return a file previously stored on the host."""
    entry = state.get("files", {}).get(path.lower())
    if entry is None:
        raise FileNotFoundError(f"simlab: {state['name']}: no file {path}")
    return (lab.root / "blobs" / entry["sha256"]).read_bytes()
