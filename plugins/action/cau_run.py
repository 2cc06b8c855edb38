# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of winfleet.updates.cau_run: validate on the controller, then scan, run or configure.

Every option is checked here before the host is contacted; the host module receives the exact
cmdlet parameters (decided in ``module_utils._cau_run``) and only splats them. Long updating runs
are started detached and followed by polling (``plugin_utils._cau_runner``).
"""

from __future__ import annotations

import uuid
from typing import Any

from ansible.utils.display import Display
from ansible_collections.winfleet.updates.plugins.module_utils._cau_plugins import (
    WINDOWS_UPDATE_PLUGIN,
    parse_plugins,
)
from ansible_collections.winfleet.updates.plugins.module_utils._cau_run import (
    RUN_OPTIONS,
    check_max_failed_nodes,
    normalise_run_options,
    normalise_schedule,
    render_command,
    run_parameters,
    validate_cluster_name,
)
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.plugin_utils._action import WinfleetAction
from ansible_collections.winfleet.updates.plugins.plugin_utils._cau_runner import (
    RunRequest,
    SecondHopDenied,
    check_second_hop,
    configure_cluster_role,
    run_cluster,
    scan_cluster,
)
from ansible_collections.winfleet.updates.plugins.plugin_utils._progress import show_progress

display = Display()

HOST_MODULE = "winfleet.updates.cau_run"
# Options that only make sense for one mode; giving them elsewhere is a mistake worth naming.
_MODE_ONLY = {
    "schedule": "cluster_role",
    "force_self_update": "run",
    "force_recovery": "run",
}


class ActionModule(WinfleetAction):
    ARGUMENT_SPEC = {
        "cluster_name": {"type": "str", "required": True},
        "mode": {"type": "str", "required": True, "choices": ["scan", "run", "cluster_role"]},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "nodes": {"type": "list", "elements": "str", "default": []},
        "plugins": {"type": "list", "elements": "raw", "default": [{"name": WINDOWS_UPDATE_PLUGIN}]},
        "registered_plugins": {"type": "list", "elements": "str", "default": []},
        "run_plugins_serially": {"type": "bool", "default": False},
        "stop_on_plugin_failure": {"type": "bool", "default": False},
        "separate_reboots": {"type": "bool", "default": False},
        "max_failed_nodes": {"type": "int"},
        "max_retries_per_node": {"type": "int"},
        "require_all_nodes_online": {"type": "bool", "default": False},
        "reboot_timeout_minutes": {"type": "int"},
        "pre_update_script": {"type": "str"},
        "post_update_script": {"type": "str"},
        "enable_firewall_rules": {"type": "bool", "default": False},
        "force_recovery": {"type": "bool", "default": False},
        "force_self_update": {"type": "bool", "default": False},
        "schedule": {"type": "dict"},
        "timeout": {"type": "int", "default": 43200},
        "poll_interval": {"type": "float", "default": 15.0},
    }
    # The host module takes only _operation, _parameters and _operation_options: every public
    # option is decided on the controller.
    CONTROLLER_OPTIONS = frozenset(ARGUMENT_SPEC)

    def run_validated(self, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        mode = args["mode"]
        cluster_name = validate_cluster_name(args["cluster_name"])
        for option, only in _MODE_ONLY.items():
            if args[option] and mode != only:
                raise InputError(option, f"only applies to mode={only} (this task has mode={mode})")
        if args["state"] == "absent" and mode != "cluster_role":
            raise InputError(
                "state",
                f"absent only applies to mode=cluster_role (removes the CAU clustered role); mode={mode}",
            )
        if args["timeout"] < 1:
            raise InputError("timeout", f"expected a number of seconds of at least 1, got {args['timeout']}")
        if args["poll_interval"] < 0:
            raise InputError(
                "poll_interval", f"expected a number of seconds of at least 0, got {args['poll_interval']}"
            )
        plugin_set = parse_plugins(
            args["plugins"],
            registered=args["registered_plugins"],
            run_plugins_serially=args["run_plugins_serially"],
            stop_on_plugin_failure=args["stop_on_plugin_failure"],
            separate_reboots=args["separate_reboots"],
        )
        run_options = normalise_run_options({name: args[name] for name in RUN_OPTIONS})
        nodes = tuple(args["nodes"])
        check_max_failed_nodes(run_options, len(nodes), "max_failed_nodes")
        schedule = normalise_schedule(args["schedule"])
        execute = self._executor(task_vars)
        if not (mode == "cluster_role" and args["state"] == "absent"):
            try:
                check_second_hop(
                    execute, cluster_name, nodes, warn=lambda message: display.warning(f"{cluster_name}: {message}")
                )
            except SecondHopDenied as err:
                return {"failed": True, "changed": False, "mode": mode, "cluster_name": cluster_name,
                        "status": "failed", "msg": str(err)}

        if mode == "cluster_role":
            result = configure_cluster_role(
                execute,
                cluster_name,
                plugin_set,
                run_options,
                schedule,
                state=args["state"],
                check_mode=bool(self._task.check_mode),
            )
            if self._task.diff:
                result["diff"] = {"before": result["before"] or {}, "after": result["after"] or {}}
            return {"mode": mode, **result}
        if mode == "scan" or self._task.check_mode:
            result = scan_cluster(execute, cluster_name, plugin_set, nodes)
            if mode == "run":
                # Check mode of a run: report what the run would do, change nothing.
                parameters = run_parameters(
                    cluster_name, plugin_set, run_options, force_self_update=args["force_self_update"]
                )
                result.update(
                    changed=result["updates_applicable"] > 0,
                    command=render_command("Invoke-CauRun", parameters, plugin_set),
                )
            return {"mode": mode, **result}
        request = RunRequest(
            cluster_name=cluster_name,
            plugin_set=plugin_set,
            run_options=run_options,
            nodes=nodes,
            force_self_update=args["force_self_update"],
            force_recovery=args["force_recovery"],
            timeout=float(args["timeout"]),
            poll_interval=float(args["poll_interval"]),
        )
        result = run_cluster(
            execute,
            self._connection.reset,
            request,
            run_id=str(uuid.uuid4()),
            warn=lambda message: display.warning(f"{cluster_name}: {message}"),
            # At default verbosity: the run takes hours and the task prints nothing until it ends.
            progress=show_progress,
        )
        return {"mode": mode, **result}

    def _executor(self, task_vars: dict[str, Any]):
        """One host round trip per call: the operation, the exact cmdlet parameters, its options."""

        def execute(operation: str, parameters: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
            return self._execute_module(
                module_name=HOST_MODULE,
                module_args={
                    "_operation": operation,
                    "_parameters": parameters,
                    "_operation_options": options,
                },
                task_vars=task_vars,
            )

        return execute
