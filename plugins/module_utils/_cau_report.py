# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rows and summary of the CAU report (for internal collection use only).

``cau_update`` records, per cluster, ``{cluster, mode, runner, nodes, run}`` where ``run`` is the
registered ``cau_run`` result (or ``None`` when the cluster was never reached because the update
stopped before it). Each cluster becomes one row per node, so a change manager sees every node
of every cluster: updates installed or applicable, reboots, failures, and why a node was not
updated. Clusters whose run never produced node data still get a row for each expected node.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from ansible_collections.winfleet.updates.plugins.module_utils._cau_run import NODE_STATUSES, same_computer
from ansible_collections.winfleet.updates.plugins.module_utils._report import count_by

__all__ = ["CAU_COLUMNS", "CLUSTER_STATUSES", "cau_rows", "cau_summary", "cluster_status"]

CAU_COLUMNS: Final = (
    "cluster",
    "node",
    "mode",
    "runner",
    "cluster_status",
    "status",
    "updates_applicable",
    "updates_installed",
    "updates_failed",
    "reboots",
    "updates",
    "failures",
    "error",
)
CLUSTER_STATUSES: Final = ("succeeded", "failed", "scanned", "timed_out", "unreachable", "not_run")
NOT_RUN_MESSAGE: Final = "not run: the update stopped before this cluster (cau_continue_on_failure is false)"


def cluster_status(run: Mapping[str, Any] | None) -> tuple[str, str | None]:
    """The cluster's outcome in one word, and the message that explains a bad one."""
    if run is None:
        return "not_run", NOT_RUN_MESSAGE
    message = str(run["msg"]) if run.get("msg") else None
    if run.get("unreachable"):
        return "unreachable", message or "the host running the CAU cmdlets was unreachable"
    status = run.get("status")
    if status in CLUSTER_STATUSES and status != "not_run":
        return str(status), message if status != "succeeded" and status != "scanned" else None
    if run.get("failed"):
        return "failed", message or "the CAU task failed"
    return "succeeded", None


def _update_text(update: Mapping[str, Any]) -> str:
    title = update.get("title") or update.get("id") or "?"
    text = f"{title} [{update['id']}]" if update.get("id") and update.get("title") else str(title)
    return f"{text}: {update['error']}" if update.get("error") else text


def cau_rows(host: str, record: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The report rows of one cluster: one per node, expected nodes first."""
    record = record or {}
    run = record.get("run")
    status, message = cluster_status(run)
    nodes = list(record.get("nodes") or [])
    outcomes = list((run or {}).get("nodes") or [])
    reported = [str(o.get("node", "")) for o in outcomes]
    outcomes += [
        {"node": node, "status": "not_updated"}
        for node in nodes
        if not any(same_computer(node, name) for name in reported)
    ]
    cluster = record.get("cluster") or (run or {}).get("cluster_name") or host
    rows = []
    for outcome in outcomes:
        installed = outcome.get("installed") or []
        failed = outcome.get("failed") or []
        applicable = outcome.get("applicable") or []
        # The node's own failure text; else what its failed updates said (item by item).
        node_error = outcome.get("error") or (
            "; ".join(_update_text(u) for u in failed) if outcome.get("status") == "failed" and failed else None
        )
        rows.append(
            {
                "cluster": cluster,
                "node": outcome.get("node"),
                "mode": record.get("mode"),
                "runner": record.get("runner"),
                "cluster_status": status,
                "status": outcome.get("status") if outcome.get("status") in NODE_STATUSES else "unknown",
                "updates_applicable": len(applicable),
                "updates_installed": len(installed),
                "updates_failed": len(failed),
                "reboots": int(outcome.get("reboots") or 0),
                # Installed updates after a run; the applicable ones after a scan (check mode).
                "updates": [_update_text(u) for u in installed or applicable],
                "failures": [_update_text(u) for u in failed],
                "error": node_error or (message if outcome.get("status") in (None, "not_updated") else None),
                "cluster_error": message,
            }
        )
    return rows


def cau_summary(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Totals over nodes, and one line per cluster (status, counts, the error that stopped it)."""
    clusters: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = clusters.setdefault(
            str(row["cluster"]),
            {
                "status": row["cluster_status"],
                "nodes": 0,
                "updates_installed": 0,
                "updates_failed": 0,
                "updates_applicable": 0,
                "reboots": 0,
                "error": row.get("cluster_error"),
            },
        )
        entry["nodes"] += 1
        for key in ("updates_installed", "updates_failed", "updates_applicable", "reboots"):
            entry[key] += int(row.get(key) or 0)
    return {
        "clusters": len(clusters),
        "by_cluster_status": count_by(
            ({"status": c["status"]} for c in clusters.values()), "status", CLUSTER_STATUSES
        ),
        "nodes": len(rows),
        "by_node_status": count_by(rows, "status", NODE_STATUSES),
        "updates_installed": sum(c["updates_installed"] for c in clusters.values()),
        "updates_failed": sum(c["updates_failed"] for c in clusters.values()),
        "updates_applicable": sum(c["updates_applicable"] for c in clusters.values()),
        "reboots": sum(c["reboots"] for c in clusters.values()),
        "per_cluster": clusters,
    }
