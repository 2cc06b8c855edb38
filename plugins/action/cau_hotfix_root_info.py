# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of winfleet.updates.cau_hotfix_root_info: check a hotfix root, change nothing.

One ``read`` round trip of the cau_hotfix_root host module, then every preflight check.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.winfleet.updates.plugins.action.cau_hotfix_root import (
    DESCRIPTION_SPEC,
    Host,
    resolver,
)
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.plugin_utils._action import WinfleetAction
from ansible_collections.winfleet.updates.plugins.plugin_utils._hotfix_root import describe
from ansible_collections.winfleet.updates.plugins.plugin_utils._hotfix_root_run import run_info


class ActionModule(WinfleetAction):
    ARGUMENT_SPEC = DESCRIPTION_SPEC
    CONTROLLER_OPTIONS = frozenset(ARGUMENT_SPEC)

    def run_validated(self, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        if not args.get("path"):
            raise InputError("path", "is required: the HotfixRootFolderPath to check")
        return run_info(describe(args, resolver(task_vars)), Host(self, task_vars))
