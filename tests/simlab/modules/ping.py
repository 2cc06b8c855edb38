"""``ansible.legacy.ping`` as a Windows host receives it: ``wait_for_connection`` asks for ``ping``
and Ansible sends ``win_ping.ps1`` under that name on a PowerShell host."""

from __future__ import annotations

from tests.simlab.modules.win_ping import SUPPORTS_CHECK_MODE, run

__all__ = ["SUPPORTS_CHECK_MODE", "run"]
