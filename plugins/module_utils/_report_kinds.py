# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reports ``winfleet.updates.fleet_report`` can write (for internal collection use only).

Each kind names its file stem, title, columns, and how a host's registered result becomes a
row and the rows a summary. A new job adds one entry here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from ansible_collections.winfleet.updates.plugins.module_utils import _rollout_report, _virtio_report


@dataclass(frozen=True)
class ReportKind:
    title: str
    columns: Sequence[str]
    row: Callable[[str, Mapping[str, Any] | None], dict[str, Any]]
    summary: Callable[[Sequence[Mapping[str, Any]]], dict[str, Any]]


REPORT_KINDS: dict[str, ReportKind] = {
    "virtio_audit": ReportKind(
        title="virtio driver audit",
        columns=_virtio_report.AUDIT_COLUMNS,
        row=_virtio_report.audit_row,
        summary=_virtio_report.audit_summary,
    ),
    "virtio_rollout": ReportKind(
        title="virtio driver rollout",
        columns=_rollout_report.ROLLOUT_COLUMNS,
        row=_rollout_report.rollout_row,
        summary=_rollout_report.rollout_summary,
    ),
}
