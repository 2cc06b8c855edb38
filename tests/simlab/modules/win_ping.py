"""Simulated ``ansible.windows.win_ping`` (what ``ansible.builtin.wait_for_connection`` runs on Windows)."""

from __future__ import annotations

from typing import Any

from tests.simlab.dispatch import HostCall

SUPPORTS_CHECK_MODE = True


def run(call: HostCall) -> dict[str, Any]:
    data = call.args.get("data", "pong")
    if data == "crash":
        raise RuntimeError("boom")
    return {"changed": False, "ping": data}
