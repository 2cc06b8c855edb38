# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Probe a host's virtio driver and assess it (for internal collection use only).

Shared by ``virtio_probe`` and the install path, which re-probes after a reboot: one host round
trip through the ``virtio_probe`` PowerShell module, then the pure assessment in
``module_utils._virtio``.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from ansible_collections.winfleet.updates.plugins.module_utils import _virtio
from ansible_collections.winfleet.updates.plugins.plugin_utils._action import HostModuleFailed

PROBE_MODULE = "winfleet.updates.virtio_probe"

RunHostModule = Callable[[str, dict[str, Any], dict[str, Any]], dict[str, Any]]

# The options every action plugin that judges a probe takes, so that virtio_probe and
# virtio_install cannot disagree on what a capability is or what its threshold defaults to.
CAPABILITY_OPTIONS: dict[str, dict[str, Any]] = {
    "required_capabilities": {
        "type": "list",
        "elements": "str",
        "choices": list(_virtio.CAPABILITY_THRESHOLDS),
        "default": list(_virtio.CAPABILITY_THRESHOLDS),
    },
    "thresholds": {"type": "dict", "default": dict(_virtio.CAPABILITY_THRESHOLDS)},
}


def probe_and_assess(
    run_host_module: RunHostModule,
    task_vars: dict[str, Any],
    *,
    driver_files: Sequence[str],
    required_capabilities: Sequence[str],
    thresholds: dict[str, int],
) -> dict[str, Any]:
    """Read the raw facts in one round trip and return the assessment.

    Inputs are validated before the host is contacted, so bad options cost no round trip.
    """
    files = _virtio.validate_driver_files(driver_files)
    try:
        raw = run_host_module(PROBE_MODULE, {"driver_files": files}, task_vars)
    except HostModuleFailed as err:
        # the bootstrap wrapper's refusal: the host is unsupported, not failed
        if str(err.result.get("msg", "")).strip() == _virtio.POWERSHELL_TOO_OLD:
            return _virtio.assess_powershell_too_old(required_capabilities, thresholds)
        raise
    return _virtio.assess_probe(raw, required_capabilities, thresholds)
