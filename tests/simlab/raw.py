"""Reachability, raw commands and file transfer of simulated hosts (test code only).

Ansible sends raw PowerShell commands (``ansible.windows.win_reboot`` does) and copies files
(``put_file``) besides running modules. Each capability of the lab that needs a raw command adds
a matcher to ``RAW_COMMANDS``; anything unmatched fails the way an unknown command would, so
the product cannot depend on a behaviour the lab does not model.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from typing import Any, Callable

from tests.simlab.state import Lab

RawHandler = Callable[[dict[str, Any], "re.Match[str]", Lab], tuple[int, bytes, bytes]]

# (compiled pattern, handler) pairs tried in order against the raw command text.
RAW_COMMANDS: list[tuple[re.Pattern[str], RawHandler]] = []

# Called with the locked host state before every round trip: capabilities that model time passing
# on the host (an install finishing, a reboot completing; see winhost.py) register here.
STATE_ADVANCERS: list[Callable[[dict[str, Any], dict[str, Any]], None]] = []

_ENCODED_COMMAND_RE = re.compile(r"-EncodedCommand\s+([A-Za-z0-9+/=]+)", re.IGNORECASE)


def unreachable_reason(state: dict[str, Any], lab: dict[str, Any]) -> str | None:
    """Why the host does not answer right now, or None when it does."""
    for advance in STATE_ADVANCERS:
        advance(state, lab)
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
    for outage in state.get("outages", []):
        if outage["from"] <= now and (outage["until"] is None or now < outage["until"]):
            return outage["reason"]
    return None


def decode_command(cmd: str) -> str:
    """The script a ``PowerShell ... -EncodedCommand <base64 UTF-16LE>`` command line runs (else ``cmd``)."""
    match = _ENCODED_COMMAND_RE.search(cmd)
    if match is None:
        return cmd
    return base64.b64decode(match.group(1)).decode("utf-16-le")


def run_raw(state: dict[str, Any], cmd: str, lab: Lab) -> tuple[int, bytes, bytes]:
    """Answer a raw command from the registered matchers (matched against the decoded script)."""
    cmd = decode_command(cmd)
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


# Capabilities that answer raw commands or model time register themselves on import.
from tests.simlab import reboot, winhost  # noqa: E402,F401  (after RAW_COMMANDS and STATE_ADVANCERS exist)

STATE_ADVANCERS.append(winhost.advance)
