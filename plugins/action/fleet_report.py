# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of winfleet.updates.fleet_report: write a fleet report on the controller.

Runs once per play on the controller (no host connection): reads each host's registered result
from hostvars (or takes them all in ``results``) and writes the report of its kind
(``plugin_utils/_fleet_report.py``: rows, summary, merge into the existing report, the four files).
"""

from __future__ import annotations

from typing import Any

from ansible_collections.winfleet.updates.plugins.module_utils._report_kinds import REPORT_KINDS
from ansible_collections.winfleet.updates.plugins.plugin_utils._action import WinfleetAction
from ansible_collections.winfleet.updates.plugins.plugin_utils._fleet_report import merged_report, write_fleet_report

# The merge as the unit tests call it (tests/unit/plugins/action/test_fleet_report.py).
_merged = merged_report


class ActionModule(WinfleetAction):
    ARGUMENT_SPEC = {
        "kind": {"type": "str", "required": True, "choices": list(REPORT_KINDS)},
        "dest": {"type": "path", "required": True},
        "hosts": {"type": "list", "elements": "str", "required": True},
        "result_var": {"type": "str", "required": True},
        "extra": {"type": "dict", "default": {}},
        "batch": {"type": "list", "elements": "str", "default": []},
        "results": {"type": "dict"},
    }
    _requires_connection = False

    def run_validated(self, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        hostvars = task_vars.get("hostvars", {})
        given = args.get("results")

        def result_of(host: str) -> dict[str, Any] | None:
            return given.get(host) if given is not None else self._host_result(hostvars, host, args["result_var"])

        written = write_fleet_report(args["kind"], args["dest"], args["hosts"], result_of, args["extra"],
                                     check_mode=bool(self._task.check_mode), batch=args["batch"])
        return {"changed": False, **written}

    @staticmethod
    def _host_result(hostvars: Any, host: str, result_var: str) -> dict[str, Any] | None:
        """The host's registered result, or None when the host never registered it."""
        try:
            return hostvars[host].get(result_var)
        except KeyError:
            return None
