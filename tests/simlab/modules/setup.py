"""Simulated ``ansible.windows.setup`` (what ``gather_facts`` runs on a Windows host).

Returns the host's ``ansible_*`` facts, derived from its state by :func:`tests.simlab.windows.facts`.
"""

from __future__ import annotations

from typing import Any

from tests.simlab.dispatch import HostCall
from tests.simlab.windows import facts

SUPPORTS_CHECK_MODE = True


def run(call: HostCall) -> dict[str, Any]:
    return {"changed": False, "ansible_facts": facts(call.state)}
