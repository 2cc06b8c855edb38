# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of winfleet.updates.virtio_lock: one rollout at a time per host.

The run id is this ``ansible-playbook`` process (controller host name, process id, start time),
so every task of one run on one host holds the same lock and a second run is told who holds it.
When the holder is a run of this controller whose process is gone (killed), its lock is taken
over at once; the decision is ``module_utils._virtio_lock``'s.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._strings import check_text
from ansible_collections.winfleet.updates.plugins.module_utils._virtio_lock import owner_gone
from ansible_collections.winfleet.updates.plugins.plugin_utils._action import WinfleetAction
from ansible_collections.winfleet.updates.plugins.plugin_utils._controller_run import process_started as _process_started
from ansible_collections.winfleet.updates.plugins.plugin_utils._controller_run import this_run

LOCK_MODULE = "winfleet.updates.virtio_lock"


class ActionModule(WinfleetAction):
    ARGUMENT_SPEC = {
        "state": {"type": "str", "required": True, "choices": ["present", "absent"]},
        "rollout_id": {"type": "str", "default": ""},
        "ttl_s": {"type": "int", "default": 7200},
    }
    CONTROLLER_OPTIONS = frozenset(ARGUMENT_SPEC)

    def run_validated(self, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        rollout_id = check_text("rollout_id", args["rollout_id"], max_length=128)
        if args["ttl_s"] <= 0:
            raise InputError("ttl_s", f"expected a number of seconds greater than 0, got {args['ttl_s']!r}")
        here = this_run()
        module_args = {
            "_state": args["state"],
            "_run_id": here.identity,
            "_rollout_id": rollout_id,
            "_controller": here.identity,
            "_ttl_s": args["ttl_s"],
        }
        result = self.run_host_module(LOCK_MODULE, module_args, task_vars)
        holder = result.get("holder") or {}
        if result.get("busy") and owner_gone(str(holder.get("controller", "")), here, _process_started):
            stale = holder.get("run_id")
            result = self.run_host_module(LOCK_MODULE, {**module_args, "_takeover": stale}, task_vars)
            result["took_over_stale"] = stale
        result["run_id"] = here.identity
        return result
