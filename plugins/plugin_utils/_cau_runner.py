# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Control flow of ``winfleet.updates.cau_run`` (for internal collection use only).

The action plugin validates the options and hands this module an ``execute`` callable that runs
the host module once (``execute(operation, parameters, options) -> answer``). Everything between
is here, typed and testable with a fake host:

* :func:`scan_cluster` - one ``Invoke-CauScan`` round trip (also what check mode does for a run);
* :func:`run_cluster` - start the detached ``Invoke-CauRun`` and follow it with
  :func:`~._host_poll.follow_run` (the loop virtio_install uses too) through connection drops, up to a deadline;
* :func:`configure_cluster_role` - ``Add-/Set-/Remove-CauClusterRole`` in one round trip.

Results always carry the per-node outcome in inventory order, also when the run failed or timed
out, so the report can say what happened on every node.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


from ansible_collections.winfleet.updates.plugins.module_utils._cau_plugins import CauPluginSet
from ansible_collections.winfleet.updates.plugins.module_utils._cau_run import (
    cluster_role_parameters,
    node_outcomes,
    recover_parameters,
    render_command,
    run_parameters,
    scan_outcomes,
    scan_parameters,
    summarise_nodes,
)
from ansible_collections.winfleet.updates.plugins.plugin_utils._action import HostModuleFailed
from ansible_collections.winfleet.updates.plugins.plugin_utils._host_poll import (
    CONNECTION_ERRORS,
    follow_run,
)

Execute = Callable[[str, dict[str, Any], dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class RunRequest:
    """A validated updating run of one cluster."""

    cluster_name: str
    plugin_set: CauPluginSet
    run_options: dict[str, Any]
    nodes: tuple[str, ...] = ()
    force_self_update: bool = False
    force_recovery: bool = False
    timeout: float = 43200.0
    poll_interval: float = 15.0


def _checked(answer: dict[str, Any]) -> dict[str, Any]:
    """A host answer that reports failure becomes :class:`HostModuleFailed` (the task fails with it)."""
    if answer.get("failed"):
        raise HostModuleFailed(answer)
    return answer


def scan_cluster(
    execute: Execute, cluster_name: str, plugin_set: CauPluginSet, nodes: tuple[str, ...]
) -> dict[str, Any]:
    """``Invoke-CauScan``: the updates each node would get, changing nothing."""
    parameters = scan_parameters(cluster_name, plugin_set)
    answer = _checked(execute("scan", parameters, {}))
    outcomes = scan_outcomes(answer.get("nodes"), nodes)
    return {
        "changed": False,
        "cluster_name": cluster_name,
        "status": "scanned",
        "command": render_command("Invoke-CauScan", parameters, plugin_set),
        "nodes": outcomes,
        **summarise_nodes(outcomes),
    }


def _node_failure(outcome: dict[str, Any]) -> str:
    """``node (why)``: the node's error, else its failed updates' errors or titles."""
    why = outcome["error"] or ", ".join(str(u.get("error") or u.get("title")) for u in outcome["failed"])
    return f"{outcome['node']} ({why or 'failed'})"


def _run_failure_message(cluster_name: str, run: dict[str, Any], outcomes: list[dict[str, Any]]) -> str:
    """Say why a finished run counts as failed: CAU's status, its error, and each failed node."""
    parts = [f"the CAU updating run on {cluster_name} ended with status {run.get('status') or 'unknown'}"]
    if run.get("error"):
        parts.append(str(run["error"]))
    failed = [_node_failure(o) for o in outcomes if o["status"] == "failed"]
    if failed:
        parts.append("failed node(s): " + "; ".join(failed))
    return ". ".join(parts)


def run_cluster(
    execute: Execute,
    reset: Callable[[], None],
    request: RunRequest,
    *,
    run_id: str,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    warn: Callable[[str], None] = lambda message: None,
) -> dict[str, Any]:
    """Start the run detached on the host, follow it to its end, and return the per-node outcome.

    ``run_id`` is chosen here, not on the host, so that a connection lost while *starting* is not
    fatal: the next poll asks the host about that id and learns whether the run began.
    """
    parameters = run_parameters(
        request.cluster_name,
        request.plugin_set,
        request.run_options,
        force_self_update=request.force_self_update,
    )
    options: dict[str, Any] = {"run_id": run_id}
    if request.force_recovery:
        options["recover_parameters"] = recover_parameters(request.cluster_name)
    base = {
        "cluster_name": request.cluster_name,
        "run_id": run_id,
        "command": render_command("Invoke-CauRun", parameters, request.plugin_set),
    }
    try:
        _checked(execute("start", parameters, options))
    except CONNECTION_ERRORS as err:
        warn(f"lost the connection while starting the CAU run ({err}); asking the host whether it started")
        reset()
    poll_options = {"run_id": run_id}
    outcome = follow_run(
        lambda: execute("poll", {"ClusterName": request.cluster_name}, poll_options),
        reset,
        timeout=request.timeout,
        interval=request.poll_interval,
        clock=clock,
        sleep=sleep,
        warn=warn,
        subject="the CAU run",
    )
    last = outcome.last or {}
    run = dict(last.get("run") or {})
    outcomes = node_outcomes(run.get("nodes"), request.nodes)
    totals = summarise_nodes(outcomes)
    result: dict[str, Any] = {
        **base,
        "cau_status": run.get("status"),
        "nodes": outcomes,
        **totals,
        "polls": outcome.polls,
        "reconnects": outcome.reconnects,
        "transient_errors": outcome.transient_errors,
        "elapsed_seconds": round(outcome.elapsed, 1),
        "changed": bool(totals["updates_installed"] or totals["reboots"]),
    }
    if outcome.timed_out:
        seen = (
            f"last seen: {run.get('progress')}"
            if run.get("progress")
            else (outcome.last_error or "no answer")
        )
        result.update(
            failed=True,
            status="timed_out",
            msg=(
                f"the CAU updating run {run_id} on {request.cluster_name} had not ended after {request.timeout:g} s "
                f"({seen}). It was left running, because stopping it in the middle of a node leaves the cluster "
                f"locked; follow it with Get-CauRun -ClusterName {request.cluster_name} and read the result with "
                f"Get-CauReport -ClusterName {request.cluster_name} -Last -Detailed"
            ),
        )
        return result
    if last.get("failed"):
        result.update(failed=True, status="failed", msg=str(last.get("msg") or "polling the CAU run failed"))
        return result
    succeeded = run.get("state") == "finished" and str(run.get("status", "")).lower() == "succeeded"
    if succeeded and not totals["failed_nodes"] and not totals["updates_failed"]:
        result["status"] = "succeeded"
        return result
    result.update(failed=True, status="failed", msg=_run_failure_message(request.cluster_name, run, outcomes))
    return result


def configure_cluster_role(
    execute: Execute,
    cluster_name: str,
    plugin_set: CauPluginSet,
    run_options: dict[str, Any],
    schedule: dict[str, Any] | None,
    *,
    state: str,
) -> dict[str, Any]:
    """Add, update or remove the CAU clustered role in one round trip; the host compares and reports.

    The host decides between ``Add-CauClusterRole`` and ``Set-CauClusterRole`` (whether the role
    exists), so both get the same parameters, with the doubled UpdateID quotes the seed requires.
    """
    parameters = cluster_role_parameters(
        cluster_name, plugin_set, run_options, schedule, cmdlet="Set-CauClusterRole"
    )
    answer = _checked(
        execute(
            "cluster_role",
            parameters if state == "present" else {"ClusterName": cluster_name},
            {"state": state},
        )
    )
    action = answer.get("action", "none")
    cmdlet = {"added": "Add-CauClusterRole", "removed": "Remove-CauClusterRole"}.get(
        action, "Set-CauClusterRole"
    )
    command = (
        render_command("Remove-CauClusterRole", {"ClusterName": cluster_name, "Force": True})
        if state == "absent"
        else render_command(cmdlet, parameters, plugin_set)
    )
    return {
        "changed": bool(answer.get("changed")),
        "cluster_name": cluster_name,
        "status": action,
        "command": command,
        "before": answer.get("before"),
        "after": answer.get("after"),
    }
