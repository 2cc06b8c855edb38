# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write a fleet report on the controller from each host's result (for internal collection use only).

The action ``winfleet.updates.fleet_report`` calls it with results read from the hosts' variables;
``winfleet.updates.virtio_probe_ecs`` calls it with the results it holds, so a 10,000-host result is
never registered, templated, copied into every host's variables and handed back to a report task.
It builds the rows and summary of the report kind, merges them into the existing report where the
kind says so (under the report's lock), and writes JSON, CSV, Markdown and HTML.
"""

from __future__ import annotations

import datetime
from typing import Any, Callable, Mapping, Sequence

from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._report import Report, merge_rows, write_report
from ansible_collections.winfleet.updates.plugins.module_utils._report_errors import report_write_error
from ansible_collections.winfleet.updates.plugins.module_utils._report_kinds import REPORT_KINDS, ReportKind

# How many earlier runs a merged report lists (the rows keep their own written_at).
_RUNS_KEPT = 50


def write_fleet_report(kind_name: str, dest: str, hosts: Sequence[str],
                       result_of: Callable[[str], Mapping[str, Any] | None], extra: Mapping[str, Any],
                       check_mode: bool, batch: Sequence[str] = (), dest_field: str = "dest") -> dict[str, Any]:
    """Write the report of ``kind_name`` for ``hosts`` into ``dest``; returns summary, paths and row count.

    ``result_of`` gives a host's result (None when the host has none). ``dest_field`` is the option
    named in the error when ``dest`` cannot be written.
    """
    kind = REPORT_KINDS[kind_name]
    rows = [row for host in hosts for row in kind.rows(host, result_of(host))]
    extra = {**kind.parameters(extra), "check_mode": check_mode}
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    report = Report(
        name=kind_name + (kind.check_mode_suffix if check_mode else ""),
        title=kind.title + (" (check mode preview)" if check_mode and kind.check_mode_suffix else ""),
        columns=kind.columns,
        rows=rows,
        summary={},
        generated_at=now,
        extra=extra,
    )
    run = {**extra, "batch": list(batch)}

    def merge(new: Report, old: Mapping[str, Any] | None) -> Report:
        return merged_report(kind, new, old, run)

    try:
        report, paths = write_report(report, dest, merge=merge)
    except TimeoutError as err:  # the lock (TimeoutError is an OSError: test it first)
        raise InputError(dest_field, f"cannot write the report files into {dest!r}: {err}") from err
    except OSError as err:  # ENOSPC, EROFS, EACCES...: say which file, why and what to do
        raise InputError(dest_field, report_write_error(dest, err)) from err
    return {"summary": report.summary, "paths": paths, "rows": len(report.rows)}


def _same_scope(kind: ReportKind, new: Report, old: Mapping[str, Any]) -> bool:
    """Whether the existing report belongs to the same job as this run (same rollout id...)."""
    if kind.merge_key is None or not isinstance(old.get("hosts"), list):
        return False
    return kind.merge_scope is None or old.get(kind.merge_scope) == new.extra.get(kind.merge_scope)


def merged_report(kind: ReportKind, new: Report, old: Mapping[str, Any] | None, run: Mapping[str, Any]) -> Report:
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
