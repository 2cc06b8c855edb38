# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Control flow of ``winfleet.updates.cau_run`` (for internal collection use only).

The action plugin validates the options and hands this module an ``execute`` callable that runs
the host module once (``execute(operation, parameters, options) -> answer``). Everything between
is here, typed and testable with a fake host:

* :func:`scan_cluster` - one ``Invoke-CauScan`` round trip (also what check mode does for a run);
* :func:`run_cluster` - start the detached ``Invoke-CauRun`` and follow it with
  :func:`~._host_poll.follow_run` (the loop virtio_install uses too) through connection drops, up to a deadline;
* :func:`configure_cluster_role` - read ``Get-CauClusterRole``, compare on the controller, then
  ``Add-/Set-/Remove-CauClusterRole`` only when something differs.

Results always carry the per-node outcome in inventory order, also when the run failed or timed
out, so the report can say what happened on every node.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


from ansible_collections.winfleet.updates.plugins.module_utils._cau_plugins import CauPluginSet
from ansible_collections.winfleet.updates.plugins.module_utils._cau_role import (
    current_settings,
    differences,
    for_display,
    wanted_settings,
)
from ansible_collections.winfleet.updates.plugins.module_utils._cau_run import (
    cluster_role_parameters,
    node_outcomes,
    progress_key,
    progress_phase,
    recover_parameters,
    render_command,
    run_parameters,
    scan_outcomes,
    scan_parameters,
    summarise_nodes,
)
from ansible_collections.winfleet.updates.plugins.module_utils._progress import ProgressLog
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


SECOND_HOP_HELP = (
    "set ansible_psrp_negotiate_delegate: true (psrp with Kerberos; the account must be trusted for "
    "delegation), or ansible_psrp_auth: credssp (CredSSP enabled on the host), or become: true with "
    "become_method: runas for this host; see 'Second hop' in docs/cau.md"
)


class SecondHopDenied(Exception):
    """The host that runs the CAU cmdlets cannot reach the nodes with this connection's credentials."""


def check_second_hop(
    execute: Execute, cluster_name: str, nodes: tuple[str, ...], warn: Callable[[str], None] = lambda m: None
) -> None:
    """One cheap remote call from the host running the cmdlets to a node, before CAU is asked to.

    Invoke-CauRun, Invoke-CauScan and Add-CauClusterRole all act on the nodes from that host with the
    credentials of this connection; a WinRM/PSRP logon without delegation cannot pass them on (the
    "second hop", https://learn.microsoft.com/powershell/scripting/security/remoting/ps-remoting-second-hop),
    and CAU then fails node by node with Access is denied. Any other error is left to CAU (a node may
    be down on purpose) and only warned about.
    """
    if not nodes:
        return
    answer = _checked(execute("preflight", {"ClusterName": cluster_name}, {"nodes": list(nodes)}))
    if answer.get("second_hop") == "denied":
        raise SecondHopDenied(
            f"the host that runs the CAU cmdlets of {cluster_name} cannot reach node {answer.get('node')} with the "
            f"credentials of this connection ({answer.get('error')}): the second hop is not allowed. "
            + SECOND_HOP_HELP
        )
    if answer.get("second_hop") == "error":
        warn(f"a test call to node {answer.get('node')} failed ({answer.get('error')}); CAU will report on that node")


def show_progress(log: ProgressLog, answer: dict[str, Any] | None) -> None:
    """A poll's answer as a progress line (a lost connection is already said by a warning).

    A CAU run takes hours; at default verbosity an operator (and the AWX job output) should see
    it move without waiting for the task to end.
    """
    if answer is not None:
        log.show(progress_phase(answer), progress_key(answer))


def run_cluster(
    execute: Execute,
    reset: Callable[[], None],
    request: RunRequest,
    *,
    run_id: str,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    warn: Callable[[str], None] = lambda message: None,
    progress: Callable[[str], None] = lambda line: None,
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
    base["attached"] = False
    try:
        started = _checked(execute("start", parameters, options))
    except Exception as err:  # pylint infers no class from CONNECTION_ERRORS; test it here (as _host_poll.py)
        if not isinstance(err, CONNECTION_ERRORS):
            raise
        warn(f"lost the connection while starting the CAU run ({err}); asking the host whether it started")
        reset()
    else:
        if started.get("attached"):
            # An earlier cau_run for this cluster was killed while following its run; the host's
            # worker still runs it. Follow that run to its end instead of refusing it.
            run_id = str(started.get("run_id") or run_id)
            base.update(run_id=run_id, attached=True)
            progress(
                f"CAU {request.cluster_name}: attached to run {run_id}, which an earlier run of this collection "
                "started and left behind (its controller stopped); following it to its end"
            )
    poll_options = {"run_id": run_id}
    log = ProgressLog(f"CAU {request.cluster_name}", progress, clock)

    def poll() -> dict[str, Any]:
        return execute("poll", {"ClusterName": request.cluster_name}, poll_options)

    outcome = follow_run(
        poll,
        reset,
        timeout=request.timeout,
        interval=request.poll_interval,
        clock=clock,
        sleep=sleep,
        warn=warn,
        subject="the CAU run",
        progress=lambda answer: show_progress(log, answer),
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
    check_mode: bool = False,
) -> dict[str, Any]:
    """Add, update or remove the CAU clustered role: read it, compare here, change only what differs.

    The host reads ``Get-CauClusterRole`` as it is (its own property names, ``StartDate`` as text,
    ``WeeksInterval`` for ``-IntervalWeeks``, ...); :mod:`._cau_role` maps that back to the cmdlet
    parameters, so a second run with the same settings reports no change. ``Add-CauClusterRole``
    and ``Set-CauClusterRole`` get the same parameters, with the doubled UpdateID quotes that
    "How Cluster-Aware Updating plug-ins work" requires for the clustered role
    (https://learn.microsoft.com/windows-server/failover-clustering/cluster-aware-updating-plug-ins).
    """
    parameters = cluster_role_parameters(
        cluster_name, plugin_set, run_options, schedule, cmdlet="Set-CauClusterRole"
    )
    answer = _checked(execute("cluster_role_read", {"ClusterName": cluster_name}, {}))
    exists = bool(answer.get("exists"))
    current = current_settings(answer.get("properties")) if exists else {}
    wanted = wanted_settings(parameters)
    before = {name: current[name] for name in wanted if name in current} if exists else {}
    if state == "absent":
        action = "removed" if exists else "none"
        apply_parameters: dict[str, Any] = {"ClusterName": cluster_name}
        after: dict[str, Any] = {}
    else:
        changed_names = differences(current, wanted) if exists else list(wanted)
        action = "none" if exists and not changed_names else ("updated" if exists else "added")
        apply_parameters = parameters
        after = {**before, **wanted}
    if action != "none" and not check_mode:
        _checked(execute("cluster_role", apply_parameters, {"state": state, "action": action}))
    cmdlet = {"added": "Add-CauClusterRole", "removed": "Remove-CauClusterRole"}.get(action, "Set-CauClusterRole")
    command = (
        render_command("Remove-CauClusterRole", {"ClusterName": cluster_name, "Force": True})
        if state == "absent"
        else render_command(cmdlet, parameters, plugin_set)
    )
    return {
        "changed": action != "none",
        "cluster_name": cluster_name,
        "status": action,
        "command": command,
        "before": for_display(before),
        "after": for_display(after if action != "none" else before),
    }
