# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rows and summary of the virtio audit report (for internal collection use only).

Turns each host's registered ``virtio_probe`` result (which may be an unreachable or failed
result) into one report row, so the audit says something for every host it was asked about.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ansible_collections.winfleet.updates.plugins.module_utils._report import count_by
from ansible_collections.winfleet.updates.plugins.module_utils._virtio import CAPABILITY_THRESHOLDS

__all__ = [
    "AUDIT_COLUMNS",
    "AUDIT_STATES",
    "AUDIT_STATUSES",
    "audit_row",
    "audit_state",
    "audit_summary",
    "decision_parameters",
]

AUDIT_COLUMNS = (
    "host",
    "status",
    "state",
    "is_virtio_guest",
    "virtio_build",
    "file_version",
    "os_version",
    "update_supported",
    "capabilities",
    "update_needed",
    "unsupported_reason",
    "cloud_assistant_agent",
    "error",
    "ecs_instance_id",
    "written_at",
)
AUDIT_STATUSES = ("ok", "unreachable", "failed")
# What a change manager does with an ok host: nothing, plan an update, or plan an OS upgrade.
AUDIT_STATES = ("compliant", "update_needed", "unsupported", "not_virtio", "unknown")


def audit_state(row: Mapping[str, Any]) -> str:
    """One word per host for the summary: what, if anything, must be done."""
    if row["status"] != "ok":
        return "unknown"
    if row["is_virtio_guest"] is None and row.get("update_supported") is False:
        return "unsupported"  # nothing could be read: Windows PowerShell older than 5.1
    if not row["is_virtio_guest"]:
        return "not_virtio"
    if not row["update_needed"]:
        return "compliant"
    return "update_needed" if row["update_supported"] else "unsupported"


def audit_row(host: str, result: Mapping[str, Any] | None) -> dict[str, Any]:
    """The report row of one host from its registered probe result (``None``: never probed)."""
    result = result or {"failed": True, "msg": "the host was not probed (it left the play before the probe)"}
    row: dict[str, Any] = {column: None for column in AUDIT_COLUMNS}
    row["host"] = host
    if result.get("unreachable"):
        row.update(status="unreachable", error=str(result.get("msg", "unreachable")))
    elif result.get("failed"):
        row.update(status="failed", error=str(result.get("msg", "failed")))
    else:
        row.update({key: result.get(key) for key in AUDIT_COLUMNS if key in result})
        # whether the Cloud Assistant agent is there (the cloud_assistant sources need it)
        row.update(status="ok", error=None, cloud_assistant_agent=bool(result.get("cloud_assistant_agent")))
    # The ECS API audit names the instance of every row, the failed ones included.
    row["ecs_instance_id"] = result.get("ecs_instance_id")
    row["state"] = audit_state(row)
    return row


def audit_summary(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Counts by status and by state, plus how many hosts already allow each capability."""
    capabilities: dict[str, int] = {}
    for row in rows:
        for name, allowed in (row.get("capabilities") or {}).items():
            capabilities[name] = capabilities.get(name, 0) + int(bool(allowed))
    return {
        "total": len(rows),
        "by_status": count_by(rows, "status", AUDIT_STATUSES),
        "by_state": count_by(rows, "state", AUDIT_STATES),
        "capability_allowed": capabilities,
        "cloud_assistant_agent": sum(1 for row in rows if row.get("cloud_assistant_agent")),
    }


def _as_mapping(value: Any) -> Mapping[str, Any]:
    """A thresholds override as given: a mapping, or ``name=build, name=build`` text (an AWX survey)."""
    if isinstance(value, Mapping):
        return value
    if isinstance(value, str):
        pairs = (item.split("=", 1) for item in value.split(",") if "=" in item)
        return {name.strip(): build.strip() for name, build in pairs}
    return {}


def decision_parameters(extra: Mapping[str, Any]) -> dict[str, Any]:
    """The run's parameters with the thresholds the decision used: the defaults with the overrides.

    A report says which minimum builds decided "update needed", not only the overrides given.
    """
    typed = dict(extra)
    if "thresholds" in typed:
        overrides = _as_mapping(typed["thresholds"])
        effective: dict[str, Any] = dict(CAPABILITY_THRESHOLDS)
        for name, value in overrides.items():
            try:
                effective[str(name)] = int(value)
            except (TypeError, ValueError):
                effective[str(name)] = value
        typed["thresholds"] = effective
    return typed
