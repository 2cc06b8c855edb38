# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reports ``winfleet.updates.fleet_report`` can write (for internal collection use only).

Each kind names its file stem, title, columns, and how a host's registered result becomes rows
(one per host for the audit; one per node for a CAU cluster) and the rows a summary. A new job
adds one entry here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional

from ansible_collections.winfleet.updates.plugins.module_utils import _cau_report, _rollout_report, _virtio_report

# Optional, not `X | None`: the alias is evaluated at import, and pylint (ansible-test) checks
# module_utils for Pythons older than 3.10.
RowsFunction = Callable[[str, Optional[Mapping[str, Any]]], list[dict[str, Any]]]  # noqa: UP045


@dataclass(frozen=True)
class ReportKind:
    title: str
    columns: Sequence[str]
    rows: RowsFunction
    summary: Callable[[Sequence[Mapping[str, Any]]], dict[str, Any]]


def _one_row(row: Callable[[str, Mapping[str, Any] | None], dict[str, Any]]) -> RowsFunction:
    """Adapt a one-row-per-host function to the rows interface."""

    def rows(host: str, result: Mapping[str, Any] | None) -> list[dict[str, Any]]:
        return [row(host, result)]

    return rows


REPORT_KINDS: dict[str, ReportKind] = {
    "virtio_audit": ReportKind(
        title="virtio driver audit",
        columns=_virtio_report.AUDIT_COLUMNS,
        rows=_one_row(_virtio_report.audit_row),
        summary=_virtio_report.audit_summary,
    ),
    "cau_report": ReportKind(
        title="Cluster-Aware Updating report",
        columns=_cau_report.CAU_COLUMNS,
        rows=_cau_report.cau_rows,
        summary=_cau_report.cau_summary,
    ),
    "virtio_rollout": ReportKind(
        title="virtio driver rollout",
        columns=_rollout_report.ROLLOUT_COLUMNS,
        rows=_one_row(_rollout_report.rollout_row),
        summary=_rollout_report.rollout_summary,
    ),
}
