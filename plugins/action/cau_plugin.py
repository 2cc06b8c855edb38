# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of winfleet.updates.cau_plugin: refuse the impossible on the controller, register on the host."""

from __future__ import annotations

from typing import Any

from ansible_collections.winfleet.updates.plugins.module_utils._cau_placement import validate_plugin_binary
from ansible_collections.winfleet.updates.plugins.module_utils._cau_plugins import (
    builtin_plugin,
    validate_plugin_name,
)
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.plugin_utils._action import WinfleetAction

HOST_MODULE = "winfleet.updates.cau_plugin"


def host_arguments(name: object, path: object, state: str, allow_unc_path: bool = False) -> dict[str, Any]:
    """Validate the registrar's options and return what the host module gets.

    The built-ins cannot be unregistered (Unregister-CauPlugin refuses them) and need no binary;
    asking for either is an error here, before any host is contacted.
    """
    plugin = validate_plugin_name(name, "name")
    builtin = builtin_plugin(plugin)
    if builtin and state == "absent":
        raise InputError(
            "name",
            f"{builtin} is built into CAU and cannot be unregistered (Unregister-CauPlugin refuses the built-ins "
            "Microsoft.WindowsUpdatePlugin and Microsoft.HotfixPlugin); leave it registered and simply do not "
            "list it in cau_plugins",
        )
    if path is not None:
        if builtin:
            raise InputError(
                "path", f"{builtin} is installed with CAU; give path only for third-party plug-ins"
            )
        if state == "absent":
            raise InputError("path", "only applies to state=present (the binary to register)")
        validate_plugin_binary(path, "path", allow_unc=allow_unc_path, allow_field="allow_unc_path")
    return {"name": builtin or plugin, "path": path, "state": state, "allow_unc_path": allow_unc_path}


class ActionModule(WinfleetAction):
    ARGUMENT_SPEC = {
        "name": {"type": "str", "required": True},
        "path": {"type": "str"},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "allow_unc_path": {"type": "bool", "default": False},
    }

    def run_validated(self, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        module_args = host_arguments(args["name"], args["path"], args["state"], args["allow_unc_path"])
        answer = self.run_host_module(HOST_MODULE, module_args, task_vars)
        result = {
            "changed": bool(answer.get("changed")),
            "name": module_args["name"],
            "state": args["state"],
            "registered": answer.get("after", []),
        }
        if self._task.diff:
            result["diff"] = {
                "before": {"registered": answer.get("before", [])},
                "after": {"registered": answer.get("after", [])},
            }
        return result
