# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of winfleet.updates.fleet_report: write a fleet report on the controller.

Runs once per play on the controller (no host connection): reads each host's registered result
from hostvars, builds the rows and summary of the report kind, writes JSON, CSV and Markdown.
"""

from __future__ import annotations

import datetime
from typing import Any

from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._report import Report, write_report
from ansible_collections.winfleet.updates.plugins.module_utils._report_kinds import REPORT_KINDS
from ansible_collections.winfleet.updates.plugins.plugin_utils._action import WinfleetAction


class ActionModule(WinfleetAction):
    ARGUMENT_SPEC = {
        "kind": {"type": "str", "required": True, "choices": list(REPORT_KINDS)},
        "dest": {"type": "path", "required": True},
        "hosts": {"type": "list", "elements": "str", "required": True},
        "result_var": {"type": "str", "required": True},
        "extra": {"type": "dict", "default": {}},
        "results": {"type": "dict"},
    }
    _requires_connection = False

    def run_validated(self, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        kind = REPORT_KINDS[args["kind"]]
        hostvars = task_vars.get("hostvars", {})
        given = args.get("results")
        rows = [row for host in args["hosts"] for row in kind.rows(
            host, given.get(host) if given is not None else self._host_result(hostvars, host, args["result_var"]))]
        report = Report(
            name=args["kind"],
            title=kind.title,
            columns=kind.columns,
            rows=rows,
            summary=kind.summary(rows),
            generated_at=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            extra={**args["extra"], **({"check_mode": True} if self._task.check_mode else {})},
        )
        try:
            paths = write_report(report, args["dest"])
        except OSError as err:
            raise InputError("dest", f"cannot write the report files into {args['dest']!r}: {err.strerror or err}; "
                                     "give a directory the controller user can create and write") from err
        return {"changed": False, "summary": report.summary, "paths": paths, "rows": len(rows)}

    @staticmethod
    def _host_result(hostvars: Any, host: str, result_var: str) -> dict[str, Any] | None:
        """The host's registered result, or None when the host never registered it."""
        try:
            return hostvars[host].get(result_var)
        except KeyError:
            return None
