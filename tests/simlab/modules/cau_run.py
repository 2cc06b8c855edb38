"""Simulated ``winfleet.updates.cau_run``: scan, start / poll a detached run, the clustered role.

Mirrors the PowerShell module's contract: the parameters arrive decided by the controller and are
checked against the same allow-list; ``start`` refuses plug-ins that are not registered on the
machine and a run already in progress, then returns at once; ``poll`` answers from the cluster's
run record as the clock advances (tests/simlab/cau.py).
"""

from __future__ import annotations

import re
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
            return {"changed": False, "run": cau.poll_run(cluster, str(options.get("run_id")))}
        return _cluster_role(call, cluster, parameters, options.get("state", "present"))


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
    active = cau.run_in_progress(cluster)
    if active:
        return _fail(f"An updating run is already in progress on cluster {cluster['name']} (run {active}); nothing was started.")
    recover = options.get("recover_parameters")
    if recover is not None:
        problem = cau.check_parameters("recover", recover)
        if problem:
            return _fail(problem)
    record = cau.start_run(lab, call.lab, call.state, cluster, parameters, run_id, recover is not None)
    cluster["runs"][run_id] = record
    cluster["active_run"] = run_id
    call.log("cau_run_started", cluster=cluster["name"], run_id=run_id, parameters=parameters)
    return {"changed": True, "run_id": run_id}


def _cluster_role(call: HostCall, cluster: dict[str, Any], parameters: dict[str, Any], state: str) -> dict[str, Any]:
    current = cluster.get("cluster_role")
    before = {key: cau.comparable(value) for key, value in (current or {}).items()}
    result: dict[str, Any] = {"changed": False, "action": "none", "before": before, "after": before}
    if state == "absent":
        if current is None:
            return result
        if not call.check_mode:
            cluster["cluster_role"] = None
        return {**result, "changed": True, "action": "removed", "after": {}}
    wanted = {key: value for key, value in parameters.items() if key not in ("ClusterName", "Force")}
    comparable = {key: cau.comparable(value) for key, value in wanted.items()}
    if current is not None and all(before.get(key) == value for key, value in comparable.items()):
        return result
    action = "added" if current is None else "updated"
    if not call.check_mode:
        cluster["cluster_role"] = {**(current or {}), **wanted}
        call.log("cau_cluster_role", cluster=cluster["name"], action=action)
    return {**result, "changed": True, "action": action, "after": {**before, **comparable}}
