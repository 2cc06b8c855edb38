# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which antivirus services the update may pause (for internal collection use only).

Alibaba Cloud's "Update the virtio driver of a Windows instance"
(https://www.alibabacloud.com/help/en/ecs/user-guide/update-the-virtio-driver-of-a-windows-instance)
says to disable *third-party* antivirus during the virtio update and to leave the built-in one
alone. This module holds that rule as data, so the action plugin refuses a list
that names a Microsoft Defender component before any host is contacted.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._strings import control_character

__all__ = ["BUILTIN_ANTIVIRUS_SERVICES", "SERVICE_STATES", "validate_antivirus_services"]

# Service names of Microsoft Defender Antivirus and its companions (lower case): the built-in
# protection the procedure never disables.
BUILTIN_ANTIVIRUS_SERVICES: frozenset[str] = frozenset(
    {
        "windefend",  # Microsoft Defender Antivirus Service
        "wdnissvc",  # Microsoft Defender Antivirus Network Inspection Service
        "wdnisdrv",  # its network inspection driver
        "wdfilter",  # Microsoft Defender Antivirus mini-filter driver
        "wdboot",  # Microsoft Defender Antivirus boot driver
        "sense",  # Microsoft Defender for Endpoint
        "mdcoresvc",  # Microsoft Defender Core Service
        "securityhealthservice",  # Windows Security Service
    }
)

SERVICE_STATES: tuple[str, ...] = ("stopped", "started")

# A service name (not its display name): no slashes, at most 256 characters (SCM limit), matched
# whole (with fullmatch: "$" would let "SAVService\n" through). Control characters are refused too.
_SERVICE_NAME_RE = re.compile(r"[^\\/]{1,256}")
# Get-Service -Name treats these as wildcards (about_Wildcards), so `Win*` would match WinDefend,
# WinRM and Winmgmt: https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/about_wildcards
_WILDCARD_CHARACTERS = ("*", "?", "[")


def validate_antivirus_services(services: Iterable[Any] | None, field: str = "services") -> list[str]:
    """Return the service names in order without duplicates; refuse Defender and malformed names."""
    names: list[str] = []
    for index, name in enumerate(services or []):
        item = f"{field}[{index}]"
        if not isinstance(name, str) or not _SERVICE_NAME_RE.fullmatch(name) or not name.strip():
            raise InputError(item, f"expected a Windows service name such as 'SAVService', got {name!r}")
        bad = control_character(name)
        if bad is not None:
            raise InputError(item, f"must not contain control characters (found {bad}); got {name!r}")
        if any(character in name for character in _WILDCARD_CHARACTERS):
            raise InputError(
                item,
                f"{name!r} contains a wildcard character (* ? [); Get-Service would match other services "
                "with it (Win* matches WinDefend, WinRM and Winmgmt): give the exact service name",
            )
        if name.strip().lower() in BUILTIN_ANTIVIRUS_SERVICES:
            raise InputError(
                item,
                f"{name!r} is part of the built-in Microsoft Defender, which the virtio update never "
                "disables; list only third-party antivirus services (for example SAVService, ekrn, "
                "SepMasterService)",
            )
        if name.strip().lower() not in (n.lower() for n in names):
            names.append(name.strip())
    return names
