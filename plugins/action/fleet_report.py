# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of winfleet.updates.fleet_report: write a fleet report on the controller.

Runs once per play on the controller (no host connection): reads each host's registered result
from hostvars, builds the rows and summary of the report kind, merges them into the existing
report where the kind says so (under the report's lock), writes JSON, CSV, Markdown and HTML.
"""

from __future__ import annotations

import datetime
from typing import Any, Mapping

from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._report import Report, merge_rows, write_report
from ansible_collections.winfleet.updates.plugins.module_utils._report_errors import report_write_error
from ansible_collections.winfleet.updates.plugins.module_utils._report_kinds import REPORT_KINDS, ReportKind
from ansible_collections.winfleet.updates.plugins.plugin_utils._action import WinfleetAction


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
        kind = REPORT_KINDS[args["kind"]]
        hostvars = task_vars.get("hostvars", {})
        given = args.get("results")
        rows = [row for host in args["hosts"] for row in kind.rows(
            host, given.get(host) if given is not None else self._host_result(hostvars, host, args["result_var"]))]
        check_mode = bool(self._task.check_mode)
        extra = {**kind.parameters(args["extra"]), "check_mode": check_mode}
        now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        report = Report(
            name=args["kind"] + (kind.check_mode_suffix if check_mode else ""),
            title=kind.title + (" (check mode preview)" if check_mode and kind.check_mode_suffix else ""),
            columns=kind.columns,
            rows=rows,
            summary={},
            generated_at=now,
            extra=extra,
        )
        run = {**extra, "batch": args["batch"]}

        def merge(new: Report, old: Mapping[str, Any] | None) -> Report:
            return _merged(kind, new, old, run)

        try:
            report, paths = write_report(report, args["dest"], merge=merge)
        except TimeoutError as err:  # the lock (TimeoutError is an OSError: test it first)
            raise InputError("dest", f"cannot write the report files into {args['dest']!r}: {err}") from err
        except OSError as err:  # ENOSPC, EROFS, EACCES...: say which file, why and what to do
            raise InputError("dest", report_write_error(args["dest"], err)) from err
        return {"changed": False, "summary": report.summary, "paths": paths, "rows": len(report.rows)}

    @staticmethod
    def _host_result(hostvars: Any, host: str, result_var: str) -> dict[str, Any] | None:
        """The host's registered result, or None when the host never registered it."""
        try:
            return hostvars[host].get(result_var)
        except KeyError:
            return None


# How many earlier runs a merged report lists (the rows keep their own written_at).
_RUNS_KEPT = 50


def _same_scope(kind: ReportKind, new: Report, old: Mapping[str, Any]) -> bool:
    """Whether the existing report belongs to the same job as this run (same rollout id...)."""
    if kind.merge_key is None or not isinstance(old.get("hosts"), list):
        return False
    return kind.merge_scope is None or old.get(kind.merge_scope) == new.extra.get(kind.merge_scope)


def _merged(kind: ReportKind, new: Report, old: Mapping[str, Any] | None, run: Mapping[str, Any]) -> Report:
    """This run's report with the rows of the existing report it did not write (called under the lock)."""
    scope_id = new.extra.get(kind.merge_scope) if kind.merge_scope else None
    for row in new.rows:
        if kind.replaces(row):
            if "written_at" in kind.columns:
                row["written_at"] = new.generated_at
            if scope_id is not None and kind.merge_scope in kind.columns:
                row[kind.merge_scope] = scope_id
    runs: list[Any] = []
    if old is not None and _same_scope(kind, new, old):
        rows = merge_rows([row for row in old["hosts"] if isinstance(row, dict)], new.rows, kind.merge_key or "", kind.replaces)
        runs = [item for item in old.get("runs") or [] if isinstance(item, dict)]
    else:
        rows = new.rows
    this_run = {
        "started_at": new.extra.get("started_at") or new.generated_at,
        "finished_at": new.generated_at,
        "hosts_written": sum(1 for row in new.rows if kind.replaces(row)),
        "check_mode": new.extra.get("check_mode"),
    }
    # A run writes the report after every batch: its entry is updated, not repeated.
    if runs and runs[-1].get("started_at") == this_run["started_at"]:
        this_run["hosts_written"] = max(this_run["hosts_written"], int(runs[-1].get("hosts_written") or 0))
        runs[-1] = this_run
    else:
        runs.append(this_run)
    runs = runs[-_RUNS_KEPT:]
    extra = {**new.extra, "finished_at": new.generated_at, "runs": runs}
    return Report(new.name, new.title, new.columns, rows, kind.summary(rows, run), new.generated_at, extra)
