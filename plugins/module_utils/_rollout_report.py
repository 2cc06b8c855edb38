# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rows and summary of the virtio rollout report (for internal collection use only).

The rollout playbook records, per host, what the ``virtio_update`` and ``reboot_verify`` roles
published (``update``, ``verify``), the error its rescue caught, and when the host started and
finished. This module turns that record into the one word a change manager acts on, so the rule
lives in one tested place instead of in playbook Jinja:

=============  ==============================================================================
updated        the driver was installed (or an earlier install finished) and verified after reboot
compliant      the host already had the required capabilities; nothing was changed
unsupported    Windows older than Server 2008 or a workstation: the update cannot be done there
not_virtio     no viostor.sys: nothing to update
failed         something went wrong on a reachable host; ``error`` says what and what was changed
unreachable    the host could not be reached, or did not come back after its reboot
not_attempted  the rollout stopped before this host's batch (or check mode: nothing was done)
=============  ==============================================================================
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ansible_collections.winfleet.updates.plugins.module_utils._report import count_by

__all__ = [
    "FAILING_STATUSES",
    "ROLLOUT_COLUMNS",
    "ROLLOUT_STATUSES",
    "rollout_action",
    "rollout_row",
    "rollout_status",
    "rollout_summary",
]

ROLLOUT_COLUMNS = (
    "host",
    "status",
    "action",
    "build_before",
    "build_after",
    "rebooted",
    "snapshot_ids",
    "antivirus_paused",
    "duration_s",
    "error",
    "note",
)
ROLLOUT_STATUSES = (
    "updated",
    "compliant",
    "unsupported",
    "not_virtio",
    "failed",
    "unreachable",
    "busy",
    "not_attempted",
)
# Statuses that stop the rollout before the next batch and need someone to look at the host.
FAILING_STATUSES = frozenset({"failed", "unreachable", "busy"})

_ACTIONS = {"install": "install", "attach": "install", "reboot_pending": "reboot"}


def rollout_action(decision: str | None) -> str | None:
    """What the rollout did (or, in check mode, would do): install, reboot, none; None if undecided."""
    if decision is None:
        return None
    return _ACTIONS.get(decision, "none")


def rollout_status(record: Mapping[str, Any] | None) -> tuple[str, str | None]:
    """The host's status and error from its rollout record (``None``: the host was never reached)."""
    if record is None:
        return "not_attempted", None
    if record.get("in_progress"):
        return "failed", (
            "interrupted: the rollout was working on this host when it stopped (the controller was "
            "stopped or lost); re-run the rollout to finish it, it resumes where it stopped"
        )
    update = record.get("update") or {}
    verify = record.get("verify") or {}
    error = record.get("error")
    if update.get("decision") == "busy":  # another run holds the host's virtio lock
        return "busy", error or "another rollout holds this host's virtio lock"
    if update.get("unreachable") or verify.get("unreachable"):
        return "unreachable", error or "the host could not be reached"
    if error:
        return "failed", str(error)
    decision = update.get("decision")
    if decision in ("unsupported", "not_virtio", "compliant"):
        return decision, None
    if record.get("check_mode"):
        return "not_attempted", None
    if decision in _ACTIONS and verify.get("verified"):
        return "updated", None
    return "failed", "the rollout did not record a verified update for this host (it stopped part way)"


def _note(record: Mapping[str, Any] | None, status: str) -> str | None:
    """Context a change manager needs beside the status: why refused, what check mode would do."""
    if record is None:
        return "the rollout stopped before this host's batch" if status == "not_attempted" else None
    update = record.get("update") or {}
    message = update.get("decision_msg")
    if record.get("check_mode") and status == "not_attempted":
        return f"check mode, nothing changed: would {rollout_action(update.get('decision'))} ({message})"
    if status in ("unsupported", "not_virtio", "compliant") or status == "updated":
        return message
    return None


def rollout_row(host: str, record: Mapping[str, Any] | None) -> dict[str, Any]:
    """The report row of one host from its rollout record."""
    status, error = rollout_status(record)
    update = (record or {}).get("update") or {}
    verify = (record or {}).get("verify") or {}
    build_before = update.get("build_before")
    build_after = verify.get("build_after")
    if build_after is None and status in ("compliant", "unsupported", "not_virtio"):
        build_after = build_before  # nothing was installed: the build is what the probe read
    started, finished = (record or {}).get("started"), (record or {}).get("finished")
    duration = (
        round(float(finished) - float(started), 1) if started is not None and finished is not None else None
    )
    return {
        "host": host,
        "status": status,
        "action": rollout_action(update.get("decision")),
        "build_before": build_before,
        "build_after": build_after,
        "rebooted": bool(verify.get("rebooted")),
        "snapshot_ids": list(update.get("snapshot_ids") or []),
        "antivirus_paused": list(update.get("antivirus_paused") or []),
        "duration_s": duration,
        "error": error,
        "note": _note(record, status),
    }


def rollout_summary(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Counts by status, and whether and where the rollout stopped before the end."""
    failing = [row["host"] for row in rows if row["status"] in FAILING_STATUSES]
    not_attempted = [row["host"] for row in rows if row["status"] == "not_attempted"]
    stopped = bool(failing) and bool(not_attempted)
    return {
        "total": len(rows),
        "by_status": count_by(rows, "status", ROLLOUT_STATUSES),
        "rebooted": sum(1 for row in rows if row["rebooted"]),
        "needs_attention": failing,
        "stopped_early": stopped,
        "stopped_after": failing[0] if stopped else None,
    }
