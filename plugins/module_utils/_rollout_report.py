# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rows and summary of the virtio rollout report (for internal collection use only).

The rollout playbook records, per host, what the ``virtio_update`` and ``reboot_verify`` roles
published (``update``, ``verify``), the error its rescue caught, and when the host started and
finished. This module turns that record into the one word a change manager acts on, so the rule
lives in one tested place instead of in playbook Jinja:

=============  ==============================================================================
updated        the driver was installed (or an earlier install finished) and verified after reboot, or
               the host's run record says an interrupted run of this rollout installed it and the
               host has restarted into the new build since
compliant      the host already had the required capabilities; nothing was changed
unsupported    Windows older than Server 2008 or a workstation: the update cannot be done there
not_virtio     no viostor.sys: nothing to update
failed         something went wrong on a reachable host; ``error`` says what and what was changed
unreachable    the host could not be reached, or did not come back after its reboot
not_attempted  the rollout stopped before this host's batch, or has not reached it yet
would_update   check mode: the host would be installed (the row lists the steps it would take)
=============  ==============================================================================

The stop rule is Ansible's own (``lib/ansible/plugins/strategy/linear.py`` and
``lib/ansible/executor/playbook_executor.py``): a batch stops the play when the share of its hosts
that failed is *above* ``max_fail_percentage``, or when every host of the batch failed
(https://docs.ansible.com/ansible/latest/playbook_guide/playbooks_error_handling.html#setting-a-maximum-failure-percentage).
"""

from __future__ import annotations

import datetime
import re
from typing import Any, Mapping, Sequence

from ansible_collections.winfleet.updates.plugins.module_utils._report import count_by
from ansible_collections.winfleet.updates.plugins.module_utils._virtio_report import decision_parameters

__all__ = [
    "FAILING_STATUSES",
    "INTERRUPTED",
    "batch_verdict",
    "planned_steps",
    "rollout_parameters",
    "ROLLOUT_COLUMNS",
    "ROLLOUT_STATUSES",
    "rollout_action",
    "rollout_row",
    "rollout_status",
    "rollout_summary",
    "row_was_written",
]

ROLLOUT_COLUMNS = (
    "host",
    "status",
    "action",
    "build_before",
    "build_after",
    "rebooted",
    "snapshot_ids",
    "snapshots",
    "antivirus_paused",
    "steps",
    "started_at",
    "finished_at",
    "duration_s",
    "ecs_instance_id",
    "region",
    "error",
    "note",
    "rollout_id",
    "written_at",
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
    "would_update",
)
# Statuses that stop the rollout before the next batch and need someone to look at the host.
FAILING_STATUSES = frozenset({"failed", "unreachable", "busy"})

_ACTIONS = {"install": "install", "attach": "install", "reboot_pending": "reboot"}
# An interrupted run of this rollout installed the host and it restarted since (the host's run record).
_DONE_EARLIER = {"updated": "install"}

# The causes a batch can end by without recording its hosts: the run was killed or its controller
# lost; an error Ansible ends the play on without running rescue or always sections (a task file
# that cannot be loaded by include_tasks / include_role in a play with max_fail_percentage, a
# syntax error in an included file); or the report write after the batch failed (full or
# read-only disk), which says so itself.
INTERRUPTED = (
    "interrupted: the rollout stopped before it recorded this host's outcome. The run's output says why: the "
    "controller was stopped or lost, an included task file could not be loaded (Ansible then ends the play "
    "without its rescue), or this report could not be written afterwards ('cannot write the report files'). "
    "Re-run the rollout to finish it, it resumes where it stopped"
)


def rollout_action(decision: str | None) -> str | None:
    """What the rollout did (or, in check mode, would do): install, reboot, none; None if undecided."""
    if decision is None:
        return None
    return _ACTIONS.get(decision) or _DONE_EARLIER.get(decision, "none")


def rollout_status(record: Mapping[str, Any] | None) -> tuple[str, str | None]:
    """The host's status and error from its rollout record (``None``: the host was never reached)."""
    if record is None:
        return "not_attempted", None
    if record.get("in_progress"):
        # Written before the batch's work: if it is still here, the batch ended before this host's
        # outcome was recorded. This row cannot tell why; the run's output does (see INTERRUPTED).
        return "failed", INTERRUPTED
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
    if decision in _DONE_EARLIER:
        return ("compliant" if record.get("check_mode") else "updated"), None
    if record.get("check_mode"):
        return ("would_update", None) if decision in _ACTIONS else ("not_attempted", None)
    if decision in _ACTIONS and verify.get("verified"):
        return "updated", None
    return "failed", "the rollout did not record a verified update for this host (it stopped part way)"


def planned_steps(record: Mapping[str, Any] | None) -> list[str]:
    """The steps the host went (or, in check mode, would go) through, in order, for the report."""
    update = (record or {}).get("update") or {}
    decision = update.get("decision")
    if decision not in _ACTIONS:
        return []
    steps = []
    if decision == "install":
        provider = update.get("snapshot_provider") or "none"
        if provider != "none":
            steps.append(f"snapshot ({provider})")
        services = list(update.get("antivirus_services") or [])
        if services:
            steps.append("pause antivirus (" + ", ".join(str(name) for name in services) + ")")
        steps.append("install")
        if services:
            steps.append("resume antivirus")
    elif decision == "attach":
        steps.append("wait for the running install")
    steps += ["reboot", "verify"]
    return steps


def _note(record: Mapping[str, Any] | None, status: str) -> str | None:
    """Context a change manager needs beside the status: why refused, what check mode would do."""
    if record is None:
        return "the rollout stopped before this host's batch" if status == "not_attempted" else None
    update = record.get("update") or {}
    message = update.get("decision_msg")
    if record.get("check_mode") and status == "would_update":
        return f"check mode, nothing changed: would {rollout_action(update.get('decision'))} ({message})"
    if status in ("unsupported", "not_virtio", "compliant") or status == "updated":
        return message
    return None


def _iso(timestamp: Any) -> str | None:
    """An epoch timestamp (what ``now().timestamp()`` gives in a playbook) as ISO 8601 UTC."""
    if timestamp in (None, ""):
        return None
    try:
        moment = datetime.datetime.fromtimestamp(float(timestamp), tz=datetime.timezone.utc)
    except (TypeError, ValueError, OverflowError):
        return None
    return moment.isoformat(timespec="seconds")


def _snapshots(update: Mapping[str, Any], verify: Mapping[str, Any]) -> list[dict[str, str]]:
    """Each snapshot the rollout made of the host with its state after retention ran."""
    deleted = set(verify.get("snapshots_deleted") or [])
    return [
        {"id": str(snapshot_id), "state": "deleted" if snapshot_id in deleted else "kept"}
        for snapshot_id in update.get("snapshot_ids") or []
    ]


def _text_or_none(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def rollout_row(host: str, record: Mapping[str, Any] | None) -> dict[str, Any]:
    """The report row of one host from its rollout record."""
    status, error = rollout_status(record)
    record = record or {}
    update = record.get("update") or {}
    verify = record.get("verify") or {}
    build_before = update.get("build_before")
    build_after = verify.get("build_after")
    if build_after is None and update.get("decision") in _DONE_EARLIER:
        build_after = update.get("build_after")  # the build the host runs now, after this rollout's install
    if build_after is None and status in ("compliant", "unsupported", "not_virtio"):
        build_after = build_before  # nothing was installed: the build is what the probe read
    started, finished = record.get("started"), record.get("finished")
    try:
        duration = round(float(finished) - float(started), 1) if started is not None and finished is not None else None
    except (TypeError, ValueError):
        duration = None
    return {
        "host": host,
        "status": status,
        "action": rollout_action(update.get("decision")),
        "build_before": build_before,
        "build_after": build_after,
        "rebooted": bool(verify.get("rebooted")) or update.get("decision") in _DONE_EARLIER,
        "snapshot_ids": list(update.get("snapshot_ids") or []),
        "snapshots": _snapshots(update, verify),
        "antivirus_paused": list(update.get("antivirus_paused") or []),
        "steps": planned_steps(record) if status in ("updated", "would_update") else [],
        "started_at": _iso(started),
        "finished_at": _iso(finished),
        "duration_s": duration,
        "ecs_instance_id": _text_or_none(record.get("ecs_instance_id")),
        "region": _text_or_none(record.get("region")),
        "error": error,
        "note": _note(record or None, status),
        "rollout_id": _text_or_none(record.get("rollout_id")),
        "written_at": None,
    }


def row_was_written(row: Mapping[str, Any]) -> bool:
    """Whether this run reached the host (a row it never reached keeps an earlier run's row)."""
    return row.get("started_at") is not None or row.get("status") != "not_attempted"


def _number(value: Any) -> Any:
    """``"2"`` -> 2, ``"2.5"`` -> 2.5; anything else (``"25%"``, a list) unchanged."""
    if isinstance(value, bool) or not isinstance(value, str):
        return value
    text = value.strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d+\.\d*", text):
        return float(text)
    return value


def rollout_parameters(extra: Mapping[str, Any]) -> dict[str, Any]:
    """The run's parameters, typed: numbers are numbers (``serial`` may stay ``"25%"`` or a list)."""
    typed = decision_parameters(extra)
    for key in ("serial", "max_fail_percentage"):
        if key in typed:
            value = typed[key]
            typed[key] = [_number(item) for item in value] if isinstance(value, list) else _number(value)
    return typed


def batch_verdict(batch: Sequence[str], failed: Sequence[str], max_fail_percentage: Any) -> dict[str, Any]:
    """Whether Ansible stops the play after this batch, and a sentence that says so truthfully.

    Ansible stops when more than ``max_fail_percentage`` percent of the batch failed, or when every
    host of the batch failed (also without ``max_fail_percentage``).
    """
    size, count = len(batch), len(failed)
    try:
        limit = None if max_fail_percentage in (None, "") else float(max_fail_percentage)
    except (TypeError, ValueError):
        limit = None
    every_host = size > 0 and count >= size
    above = limit is not None and size > 0 and count / size > limit / 100.0
    stops = count > 0 and (every_host or above)
    limit_text = "unset" if limit is None else f"{limit:g}"
    if not count:
        sentence = "no host of this batch failed"
    elif stops:
        why = "every host of the batch failed" if every_host and not above else f"more than max_fail_percentage={limit_text} allows"
        sentence = f"{count} of {size} hosts of this batch failed, {why}, so the rollout stops after this batch"
    else:
        sentence = (
            f"{count} of {size} hosts of this batch failed, which max_fail_percentage={limit_text} "
            "tolerates, so the rollout goes on with the next batch"
        )
    return {"hosts": list(batch), "failed": list(failed), "stops": stops, "message": sentence}


def rollout_summary(rows: Sequence[Mapping[str, Any]], run: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Counts by status, and whether and where the rollout stopped before the end.

    ``run`` carries the current ``batch`` (its hosts) and the play's ``max_fail_percentage``: the
    rollout stopped early only when that batch stops the play by Ansible's rule and hosts are left.
    Without a batch (a report rebuilt from rows alone) the batch is every failing host's.
    """
    run = run or {}
    failing = [row["host"] for row in rows if row["status"] in FAILING_STATUSES]
    not_attempted = [row["host"] for row in rows if row["status"] == "not_attempted"]
    batch = list(run.get("batch") or [])
    by_host = {row["host"]: row for row in rows}
    if batch:
        failed_in_batch = [host for host in batch if by_host.get(host, {}).get("status") in FAILING_STATUSES]
        verdict = batch_verdict(batch, failed_in_batch, run.get("max_fail_percentage", 0))
    else:
        verdict = batch_verdict(failing, failing, run.get("max_fail_percentage", 0))
    stopped = verdict["stops"] and bool(not_attempted) and not run.get("check_mode")
    if verdict["stops"] and not not_attempted:
        verdict["message"] = verdict["message"].replace("stops after this batch", "ends with this batch, the last one")
    return {
        "total": len(rows),
        "by_status": count_by(rows, "status", ROLLOUT_STATUSES),
        "rebooted": sum(1 for row in rows if row["rebooted"]),
        "needs_attention": failing,
        "stopped_early": stopped,
        "stopped_after": (verdict["failed"] or [None])[0] if stopped else None,
        "last_batch": verdict,
    }
