# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of winfleet.updates.virtio_probe: one host round trip, decisions on the controller."""

from __future__ import annotations

from typing import Any

from ansible_collections.winfleet.updates.plugins.module_utils import _virtio
from ansible_collections.winfleet.updates.plugins.plugin_utils._action import WinfleetAction
from ansible_collections.winfleet.updates.plugins.plugin_utils._virtio_probe import CAPABILITY_OPTIONS, probe_and_assess


class ActionModule(WinfleetAction):
    ARGUMENT_SPEC = {
        "driver_files": {"type": "list", "elements": "str", "default": list(_virtio.DEFAULT_DRIVER_FILES)},
        **CAPABILITY_OPTIONS,
    }
    CONTROLLER_OPTIONS = frozenset({"required_capabilities", "thresholds"})

    def run_validated(self, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        assessment = probe_and_assess(
            self.run_host_module,
            task_vars,
            driver_files=args["driver_files"],
            required_capabilities=_virtio.normalise_required_capabilities(args["required_capabilities"]),
            thresholds=_virtio.normalise_thresholds(args["thresholds"]),
        )
        return {"changed": False, **assessment}
