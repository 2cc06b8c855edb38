# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of winfleet.updates.cau_hotfix_root: validate, decide and transfer on the controller.

Decisions live in ``plugin_utils/_hotfix_root.py``, the flow in ``_hotfix_root_run.py``. With
``stage_dir`` the host is never contacted (connection plugins connect lazily), so the task can
run against ``localhost`` with no Windows host at all.
"""

from __future__ import annotations

import os
from typing import Any

from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._hotfix_layout import (
    CONFIG_FILE_NAME,
    FIREWALL_RULE_NAME,
)
from ansible_collections.winfleet.updates.plugins.plugin_utils._action import WinfleetAction
from ansible_collections.winfleet.updates.plugins.plugin_utils._hotfix_root import HOST_MODULE, describe
from ansible_collections.winfleet.updates.plugins.plugin_utils._hotfix_root_run import run_build

_CODES = {"type": "list", "elements": "raw"}
_RULE = {
    "name": {"type": "str", "required": True},
    "template": {
        "type": "dict",
        "required": True,
        "options": {"path": {"type": "str", "required": True}, "parameters": {"type": "str"}},
    },
    "exit_conditions": {
        "type": "dict",
        "required": True,
        "options": {
            "success": {**_CODES, "required": True},
            "success_reboot_required": _CODES,
            "fail_reboot_required": _CODES,
            "already_installed": _CODES,
            "not_applicable": _CODES,
        },
    },
}
# The description of a root, shared with cau_hotfix_root_info.
DESCRIPTION_SPEC: dict[str, dict[str, Any]] = {
    "path": {"type": "str"},
    "updates": {
        "type": "list",
        "elements": "dict",
        "default": [],
        "options": {
            "src": {"type": "str", "required": True},
            "nodes": {"type": "list", "elements": "str"},
            "rule": {"type": "str"},
        },
    },
    "folder_rules": {
        "type": "list",
        "elements": "dict",
        "default": [],
        "options": {**_RULE, "always_reboot": {"type": "bool", "default": False}},
    },
    "extension_rules": {"type": "list", "elements": "dict", "default": [], "options": _RULE},
    "base_config": {"type": "str"},
    "nodes": {"type": "list", "elements": "str"},
    "share": {
        "type": "dict",
        "options": {
            "name": {"type": "str"},
            "path": {"type": "str"},
            "encrypt_data": {"type": "bool", "default": True},
            "require_signing": {"type": "bool", "default": False},
        },
    },
    "firewall_rule": {"type": "str", "default": FIREWALL_RULE_NAME},
    "cau_account": {"type": "str"},
    "is_dfs": {"type": "bool", "default": False},
    "disable_acl_checks": {"type": "bool", "default": False},
    "require_smb_encryption": {"type": "bool", "default": False},
    "config_name": {"type": "str", "default": CONFIG_FILE_NAME},
}


class Host:
    """The file server as ``_hotfix_root_run.HostSide``: the host module and put_file."""

    def __init__(self, action: WinfleetAction, task_vars: dict[str, Any]) -> None:
        self._action, self._task_vars = action, task_vars
        self.name = str(task_vars.get("inventory_hostname", "the host"))

    def run(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._action.run_host_module(HOST_MODULE, args, self._task_vars)

    def put(self, local_path: str, remote_path: str) -> None:
        self._action._transfer_file(local_path, remote_path)


def resolver(task_vars: dict[str, Any]):
    """A relative controller path is looked up in the playbook directory, the inventory
    directory, then the current directory (the first that holds it); a ``stage_dir`` found in
    none of them is created in the current directory."""

    def resolve(value: str, field: str) -> str:
        path = os.path.expanduser(value)
        if os.path.isabs(path):
            found = path
        else:
            bases = [task_vars.get("playbook_dir"), task_vars.get("inventory_dir"), os.getcwd()]
            candidates = [os.path.join(b, path) for b in bases if b]
            found = next((c for c in candidates if os.path.exists(c)), None)
        if field == "stage_dir":
            return found or os.path.abspath(path)
        if not found or not os.path.isfile(found):
            raise InputError(
                field,
                f"{value} was not found on the controller (looked in the playbook directory, the "
                "inventory directory and the current directory)",
            )
        return found

    return resolve


class ActionModule(WinfleetAction):
    ARGUMENT_SPEC = {
        **DESCRIPTION_SPEC,
        "firewall": {"type": "bool", "default": True},
        "prune": {"type": "bool", "default": False},
        "stage_dir": {"type": "path"},
    }
    CONTROLLER_OPTIONS = frozenset(ARGUMENT_SPEC)

    def run_validated(self, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        desc = describe(args, resolver(task_vars))
        host = None if desc.stage_dir else Host(self, task_vars)
        return run_build(desc, host, check_mode=bool(self._task.check_mode), diff=bool(self._task.diff))
