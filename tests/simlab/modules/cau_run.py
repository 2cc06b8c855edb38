"""Simulated ``winfleet.updates.cau_run``: scan, start / poll a detached run, the clustered role.

Mirrors the PowerShell module's contract: the parameters arrive decided by the controller and are
checked against the same allow-list; ``start`` refuses plug-ins that are not registered on the
machine and a run already in progress, then returns at once; ``poll`` answers from the cluster's
run record as the clock advances (tests/simlab/cau.py).
"""

from __future__ import annotations

import re
import time
from typing import Any

from tests.simlab import cau
from tests.simlab.dispatch import HostCall
from tests.simlab.state import Lab

SUPPORTS_CHECK_MODE = True
_GUID = re.compile(r"[0-9a-fA-F-]{36}")


def _fail(msg: str, **extra: Any) -> dict[str, Any]:
    return {"failed": True, "msg": msg, **extra}


def run(call: HostCall) -> dict[str, Any]:
    operation = call.args["_operation"]
    parameters = call.args.get("_parameters") or {}
    options = call.args.get("_operation_options") or {}
    problem = cau.check_parameters(operation, parameters)
    if problem:
        return _fail(problem)
    lab = Lab(call.lab_dir)
    name = parameters.get("ClusterName", "")
    if not lab.has_cluster(name):
        return _fail(f"Failover cluster {name!r} was not found (no such cluster in the simulated lab)")
    with lab.cluster(name) as cluster:
        if operation == "scan":
            return _scan(call, lab, cluster, parameters)
        if operation == "start":
            return _start(call, lab, cluster, parameters, options)
        if operation == "poll":
            return _poll(cluster, str(options.get("run_id")))
        if operation == "preflight":
            return _preflight(call, [str(n) for n in options.get("nodes") or []])
        if operation == "cluster_role_read":
            return _cluster_role_read(cluster)
        return _cluster_role(call, cluster, parameters, str(options.get("action", "")))


def _poll(cluster: dict[str, Any], run_id: str) -> dict[str, Any]:
    """Get-CauRun, then Get-CauReport. While a node restarts, the cluster service of the machine
    the cmdlets talk to may not answer and they throw ("The cluster service is not running" /
    "Failed to connect to cluster"): the module reports that as transient, not as the run's end.
    https://learn.microsoft.com/powershell/module/clusterawareupdating/get-caurun
    https://learn.microsoft.com/windows-server/failover-clustering/cluster-aware-updating-faq
    """
    record = cluster["runs"].get(run_id) or {}
    window = record.get("cmdlet_errors")
    if window and window[0] <= time.time() < window[1]:
        return {"changed": False, "run": {
            "run_id": run_id, "state": "running", "status": None, "progress": None, "nodes": [], "error": None,
            "transient_error": f"Get-CauRun -ClusterName {cluster['name']} failed: Failed to connect to cluster "
                               f"{cluster['name']}: The cluster service is not running on this node",
        }}
    return {"changed": False, "run": {**cau.poll_run(cluster, run_id), "transient_error": None}}


def _unregistered(state: dict[str, Any], parameters: dict[str, Any]) -> list[str]:
    return [p for p, _ in cau.plugin_pairs(parameters) if not cau.is_registered(state, p)]


def _scan(call: HostCall, lab: Lab, cluster: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
    missing = _unregistered(call.state, parameters)
    if missing:
        return _fail(f"Invoke-CauScan on cluster {cluster['name']} failed: plug-in(s) {', '.join(missing)} not registered "
                     f"on {call.state['name']}")
    return {"changed": False, "nodes": cau.scan(lab, call.lab, call.state, cluster, parameters)}


def _start(call: HostCall, lab: Lab, cluster: dict[str, Any], parameters: dict[str, Any],
           options: dict[str, Any]) -> dict[str, Any]:
    if call.check_mode:  # as the .ps1: starting is the change itself
        return _fail("_operation=start changes the host; the action plugin never sends it in check mode")
    run_id = str(options.get("run_id", ""))
    if not _GUID.fullmatch(run_id):
        return _fail(f"_operation_options.run_id must be a GUID, got '{run_id}'")
    missing = _unregistered(call.state, parameters)
    if missing:
        return _fail(f"CAU plug-in(s) {', '.join(missing)} are not registered on {call.state['name']} (registered: "
                     f"{', '.join(cau.registered_plugins(call.state))}); register them with winfleet.updates.cau_plugin "
                     "(playbook cau_prepare). Nothing was started.")
    # A run this module started for the cluster whose worker (a scheduled task, which outlives the
    # controller's session) still runs Invoke-CauRun: the cluster's one run in progress is that one,
    # as CAU runs one updating run per cluster
    # (https://learn.microsoft.com/powershell/module/clusterawareupdating/invoke-caurun). The
    # module attaches to it before any recovery. The lab's run records are those workers.
    own = _own_run_in_progress(cluster)
    if own:
        call.log("cau_run_attached", cluster=cluster["name"], run_id=own)
        return {"changed": False, "run_id": own, "attached": True}
    # As the module does: recover first (Invoke-CauRun -ForceRecovery), then ask Get-CauRun.
    recover = options.get("recover_parameters")
    if recover is not None:
        problem = cau.check_parameters("recover", recover)
        if problem:
            return _fail(problem)
        cau.force_recovery(call.state, cluster)
    active = cau.run_in_progress(cluster)
    if active:
        return _fail(f"An updating run is already in progress on cluster {cluster['name']} (run {active}); nothing was "
                     "started. Wait for it, or set force_recovery: true if it is a stale run left by a coordinator "
                     "that stopped.")
    record = cau.start_run(lab, call.lab, call.state, cluster, parameters, run_id, False)
    errors = cluster.get("cmdlet_errors")
    if errors:
        scale = float(call.lab.get("time_scale", 1.0))
        begin = time.time() + errors["after"] * scale
        record["cmdlet_errors"] = [begin, begin + errors["duration"] * scale]
    cluster["runs"][run_id] = record
    cluster["active_run"] = run_id
    call.log("cau_run_started", cluster=cluster["name"], run_id=run_id, parameters=parameters)
    return {"changed": True, "run_id": run_id, "attached": False}


def _own_run_in_progress(cluster: dict[str, Any]) -> str | None:
    """The run a worker started through this module still runs on the cluster (not a stale lock)."""
    active = cau.run_in_progress(cluster)
    return active if active and active in cluster["runs"] else None


def _preflight(call: HostCall, nodes: list[str]) -> dict[str, Any]:
    """One remote call from the host running the cmdlets to a node (Get-CimInstance -ComputerName).

    Without delegation the connection's credentials cannot reach a third computer: Windows answers
    Access is denied (https://learn.microsoft.com/powershell/scripting/security/remoting/ps-remoting-second-hop).
    """
    here = call.state["name"].split(".")[0].lower()
    node = next((n for n in nodes if n.split(".")[0].lower() != here), None)
    if node is None:
        return {"changed": False, "node": None, "second_hop": "skipped", "error": None}
    if not call.state.get("cau_second_hop", True):
        return {"changed": False, "node": node, "second_hop": "denied",
                "error": "Access is denied. (0x80070005)"}
    return {"changed": False, "node": node, "second_hop": "ok", "error": None}


def _cluster_role_read(cluster: dict[str, Any]) -> dict[str, Any]:
    """Get-CauClusterRole as the module reads it: the Name/Value pairs, or no role."""
    properties = cluster.get("cluster_role") or []
    return {"changed": False, "exists": bool(properties), "properties": properties}


def _cluster_role(call: HostCall, cluster: dict[str, Any], parameters: dict[str, Any], action: str) -> dict[str, Any]:
    """Add-/Set-/Remove-CauClusterRole as the controller decided; the lab keeps what Windows shows."""
    if action not in ("added", "updated", "removed"):
        return _fail(f"_operation_options.action must be added, updated or removed, got '{action}'")
    if not call.check_mode:
        if action == "removed":
            cluster["cluster_role"] = None
        else:
            if (action == "added") != (not cluster.get("cluster_role")):
                return _fail(f"Configuring the CAU clustered role on {cluster['name']} failed ({action}): the role "
                             f"{'already exists' if action == 'added' else 'does not exist'}")
            cluster["cluster_role"] = cau.set_cluster_role(cluster.get("cluster_role"), parameters)
        call.log("cau_cluster_role", cluster=cluster["name"], action=action)
    return {"changed": True}
