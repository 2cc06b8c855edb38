# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reports ``winfleet.updates.fleet_report`` can write (for internal collection use only).

Each kind names its file stem, title, columns, and how a host's registered result becomes rows
(one per host for the audit; one per node for a CAU cluster) and the rows a summary, how a run's
rows merge into the existing report (a run limited to some hosts loses no row), and how its
parameters are typed. A new job adds one entry here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional

from ansible_collections.winfleet.updates.plugins.module_utils import _cau_report, _rollout_report, _virtio_report

# Optional, not `X | None`: the alias is evaluated at import, and pylint (ansible-test) checks
# module_utils for Pythons older than 3.10.
RowsFunction = Callable[[str, Optional[Mapping[str, Any]]], list[dict[str, Any]]]  # noqa: UP045
SummaryFunction = Callable[[Sequence[Mapping[str, Any]], Mapping[str, Any]], dict[str, Any]]


def _typed_as_given(extra: Mapping[str, Any]) -> dict[str, Any]:
    return dict(extra)


@dataclass(frozen=True)
class ReportKind:
    title: str
    columns: Sequence[str]
    rows: RowsFunction
    # summary(rows, run): run holds the report's parameters and the current batch.
    summary: SummaryFunction
    # Column naming a row across runs; None: every run replaces the whole report.
    merge_key: Optional[str] = None  # noqa: UP045
    # The report-level field two runs must share for their rows to merge (None: always merge).
    merge_scope: Optional[str] = None  # noqa: UP045
    # Whether a row of this run replaces the row of an earlier run (False: this run never reached it).
    replaces: Callable[[Mapping[str, Any]], bool] = lambda row: True
    # The run's parameters, typed (numbers as numbers).
    parameters: Callable[[Mapping[str, Any]], dict[str, Any]] = _typed_as_given
    # In check mode, the file stem gets this suffix, so a preview never overwrites a real record.
    check_mode_suffix: str = ""


def _one_row(row: Callable[[str, Mapping[str, Any] | None], dict[str, Any]]) -> RowsFunction:
    """Adapt a one-row-per-host function to the rows interface."""

    def rows(host: str, result: Mapping[str, Any] | None) -> list[dict[str, Any]]:
        return [row(host, result)]

    return rows


def _rows_only(summary: Callable[[Sequence[Mapping[str, Any]]], dict[str, Any]]) -> SummaryFunction:
    """Adapt a summary that needs only the rows to the summary(rows, run) interface."""

    def summarise(rows: Sequence[Mapping[str, Any]], run: Optional[Mapping[str, Any]] = None) -> dict[str, Any]:  # noqa: UP045
        return summary(rows)

    return summarise


REPORT_KINDS: dict[str, ReportKind] = {
    "virtio_audit": ReportKind(
        title="virtio driver audit",
        columns=_virtio_report.AUDIT_COLUMNS,
        rows=_one_row(_virtio_report.audit_row),
        summary=_rows_only(_virtio_report.audit_summary),
        merge_key="host",
        parameters=_virtio_report.decision_parameters,
    ),
    "cau_report": ReportKind(
        title="Cluster-Aware Updating report",
        columns=_cau_report.CAU_COLUMNS,
        rows=_cau_report.cau_rows,
        summary=_rows_only(_cau_report.cau_summary),
    ),
    "virtio_rollout": ReportKind(
        title="virtio driver rollout",
        columns=_rollout_report.ROLLOUT_COLUMNS,
        rows=_one_row(_rollout_report.rollout_row),
        summary=_rollout_report.rollout_summary,
        merge_key="host",
        merge_scope="rollout_id",
        replaces=_rollout_report.row_was_written,
        parameters=_rollout_report.rollout_parameters,
        check_mode_suffix="_preview",
    ),
}
