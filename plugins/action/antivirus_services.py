# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of winfleet.updates.antivirus_services: refuse Defender, then stop or restart on the host.

The rule that the built-in antivirus is never touched is checked here, on the controller, before
the host is contacted; the host module only stops and starts services and remembers which ones it
stopped, so that a later run (or the ``always`` path of an interrupted one) restarts exactly those.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.winfleet.updates.plugins.module_utils._antivirus import (
    SERVICE_STATES,
    validate_antivirus_services,
)
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.plugin_utils._action import WinfleetAction

HOST_MODULE = "winfleet.updates.antivirus_services"


class ActionModule(WinfleetAction):
    ARGUMENT_SPEC = {
        "services": {"type": "list", "elements": "str", "default": []},
        "state": {"type": "str", "required": True, "choices": list(SERVICE_STATES)},
        "stop_timeout": {"type": "int", "default": 60},
    }

    def run_validated(self, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        services = validate_antivirus_services(args["services"])
        if args["state"] == "stopped" and not services:
            return {
                "changed": False,
                "services": [],
                "stopped": [],
                "started": [],
                "msg": "no third-party antivirus service listed; nothing to stop",
            }
        if args["stop_timeout"] < 1:
            raise InputError("stop_timeout", f"expected a number of seconds of at least 1, got {args['stop_timeout']}")
        module_args = {"services": services, "state": args["state"], "stop_timeout": args["stop_timeout"]}
        return self.run_host_module(HOST_MODULE, module_args, task_vars)
