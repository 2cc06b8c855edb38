# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of winfleet.updates.cau_hotfix_root: validate, decide and transfer on the controller.

The decisions live in ``plugin_utils/_hotfix_root.py`` and the flow in
``plugin_utils/_hotfix_root_run.py``; this class maps them onto Ansible: option validation,
``files/`` lookup of the update sources, the host module call and ``put_file``.

With ``stage_dir`` the host is never contacted (connection plugins connect lazily, on the first
command), so the task can run against ``localhost`` with no Windows host at all.
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleError

from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._hotfix_layout import (
    CONFIG_FILE_NAME,
    FIREWALL_RULE_NAME,
)
from ansible_collections.winfleet.updates.plugins.plugin_utils._action import WinfleetAction
from ansible_collections.winfleet.updates.plugins.plugin_utils._hotfix_root import HOST_MODULE, describe
from ansible_collections.winfleet.updates.plugins.plugin_utils._hotfix_root_run import run_hotfix_root

_TEMPLATE = {
    "type": "dict",
    "required": True,
    "options": {"path": {"type": "str", "required": True}, "parameters": {"type": "str"}},
}
_EXIT_CONDITIONS = {
    "type": "dict",
    "required": True,
    "options": {
        "success": {"type": "list", "elements": "raw", "required": True},
        "success_reboot_required": {"type": "list", "elements": "raw"},
        "fail_reboot_required": {"type": "list", "elements": "raw"},
        "already_installed": {"type": "list", "elements": "raw"},
        "not_applicable": {"type": "list", "elements": "raw"},
    },
}


class _Host:
    """The file server as :class:`~..._hotfix_root_run.HostSide`: the host module and put_file."""

    def __init__(self, action: "ActionModule", task_vars: dict[str, Any]) -> None:
        self._action = action
        self._task_vars = task_vars
        self.name = str(task_vars.get("inventory_hostname", "the host"))

    def run(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._action.run_host_module(HOST_MODULE, args, self._task_vars)

    def put(self, local_path: str, remote_path: str) -> None:
        self._action._transfer_file(local_path, remote_path)


class ActionModule(WinfleetAction):
    ARGUMENT_SPEC = {
        "path": {"type": "str"},
        "updates": {
            "type": "list",
            "elements": "dict",
            "default": [],
            "options": {
                "src": {"type": "path", "required": True},
                "nodes": {"type": "list", "elements": "str"},
                "rule": {"type": "str"},
            },
        },
        "folder_rules": {
            "type": "list",
            "elements": "dict",
            "default": [],
            "options": {
                "name": {"type": "str", "required": True},
                "always_reboot": {"type": "bool", "default": False},
                "template": _TEMPLATE,
                "exit_conditions": _EXIT_CONDITIONS,
            },
        },
        "extension_rules": {
            "type": "list",
            "elements": "dict",
            "default": [],
            "options": {
                "name": {"type": "str", "required": True},
                "template": _TEMPLATE,
                "exit_conditions": _EXIT_CONDITIONS,
            },
        },
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
        "firewall": {"type": "bool", "default": True},
        "firewall_rule": {"type": "str", "default": FIREWALL_RULE_NAME},
        "cau_account": {"type": "str"},
        "prune": {"type": "bool", "default": False},
        "preflight": {"type": "bool", "default": False},
        "stage_dir": {"type": "path"},
        "is_dfs": {"type": "bool", "default": False},
        "disable_acl_checks": {"type": "bool", "default": False},
        "require_smb_encryption": {"type": "bool", "default": False},
        "config_name": {"type": "str", "default": CONFIG_FILE_NAME},
        "merge_existing_config": {"type": "bool", "default": False},
    }
    # Every option is decided on the controller; the host module only takes internal options.
    CONTROLLER_OPTIONS = frozenset(ARGUMENT_SPEC)

    def run_validated(self, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        desc = describe(args, self._resolve_source)
        host = None if desc.stage_dir else _Host(self, task_vars)
        return run_hotfix_root(desc, host, check_mode=bool(self._task.check_mode), diff=bool(self._task.diff))

    def _resolve_source(self, src: str, field: str) -> str:
        """Find an update like ansible.builtin.copy finds ``src``: the role's and the playbook's
        ``files/`` directories, or an absolute path."""
        try:
            return str(self._find_needle("files", src))
        except AnsibleError:
            raise InputError(
                field,
                f"{src} was not found on the controller (looked in the role's and the playbook's files/)",
            ) from None
