"""Cluster-Aware Updating in the simulated lab (test code only).

What the lab models (docs/simlab.md, "Cluster-Aware Updating"):

* per machine, the registered plug-ins (the two built-ins always) and installed plug-in binaries;
* per node, the updates WUA offers, and the evaluation of a WUA QueryString against them with the
  lab's own reading of Microsoft's grammar (tests/simlab/wua.py, never the product's parser), so a
  criterion the product lets through but WUA would reject fails here too;
  ``IncludeRecommendedUpdates`` adds the recommended ones;
* Microsoft.HotfixPlugin just enough: a known hotfix root installs the files listed for the node
  (``CAUHotfix_All`` and the node's own folder); an unknown root fails the plug-in on the node;
  third-party plug-ins are not simulated beyond registration (they find no updates);
* updating runs node by node with retries, restarts (the node is unreachable while it restarts),
  ``MaxFailedNodes``, ``StopOnPluginFailure``, ``SeparateReboots``, ``RequireAllNodesOnline``, a
  cluster locked by an earlier run (``ForceRecovery``), and an outage of the host that started
  the run. A run's whole course is decided when it starts and then revealed by the clock.
"""

from __future__ import annotations

import contextlib
import datetime
import re
import time
from typing import Any, Iterator

from tests.simlab import wua
from tests.simlab.state import Lab

WINDOWS_UPDATE_PLUGIN = "Microsoft.WindowsUpdatePlugin"
# The plug-in's QueryString when none is given, "How Cluster-Aware Updating plug-ins work",
# https://learn.microsoft.com/windows-server/failover-clustering/cluster-aware-updating-plug-ins
PLUGIN_DEFAULT_QUERY = "IsInstalled=0 and Type='Software' and IsHidden=0 and IsAssigned=1"
HOTFIX_PLUGIN = "Microsoft.HotfixPlugin"
BUILTIN_PLUGINS = (WINDOWS_UPDATE_PLUGIN, HOTFIX_PLUGIN)

# Simulated seconds for each step of an updating run (scaled by the lab's time_scale).
SCAN_SECONDS = 10.0
INSTALL_SECONDS = 20.0
REBOOT_SECONDS = 60.0

# What each host operation accepts, as the PowerShell module's allow-list does.
_PLUGIN_PARAMETERS = {"ClusterName", "CauPluginName", "CauPluginArguments", "RunPluginsSerially", "StopOnPluginFailure"}
_SETTING_PARAMETERS = {
    "SeparateReboots", "MaxFailedNodes", "MaxRetriesPerNode", "RequireAllNodesOnline", "RebootTimeoutMinutes",
    "PreUpdateScript", "PostUpdateScript", "EnableFirewallRules", "Force",
}
ALLOWED_PARAMETERS = {
    "scan": _PLUGIN_PARAMETERS,
    "start": _PLUGIN_PARAMETERS | _SETTING_PARAMETERS | {"ForceSelfUpdate"},
    "recover": {"ClusterName", "ForceRecovery", "Force"},
    "poll": {"ClusterName"},
    "preflight": {"ClusterName"},
    "cluster_role_read": {"ClusterName"},
    "cluster_role": _PLUGIN_PARAMETERS | _SETTING_PARAMETERS | {"StartDate", "DaysOfWeek", "WeeksOfMonth", "IntervalWeeks"},
}


def registered_plugins(state: dict[str, Any]) -> list[str]:
    """What Get-CauPlugin lists on a machine: the built-ins and the registered third-party ones."""
    return sorted({*BUILTIN_PLUGINS, *state.get("cau_plugins", [])}, key=str.lower)


def is_registered(state: dict[str, Any], name: str) -> bool:
    return name.lower() in {plugin.lower() for plugin in registered_plugins(state)}


def check_parameters(operation: str, parameters: dict[str, Any]) -> str | None:
    """Refuse parameters outside the allow-list and values the CAU cmdlets would not bind."""
    unknown = sorted(set(parameters) - ALLOWED_PARAMETERS[operation])
    if unknown:
        return f"Invalid CAU parameters for operation {operation}: parameter(s) {', '.join(unknown)} not allowed"
    retries = parameters.get("MaxRetriesPerNode")
    if retries is not None and not 1 <= retries <= 64:
        return f"Cannot validate argument on parameter 'MaxRetriesPerNode'. {retries} is outside 1..64"
    names = parameters.get("CauPluginName") or []
    arguments = parameters.get("CauPluginArguments")
    if arguments is not None and len(arguments) != len(names):
        return "CauPluginArguments must have one hashtable per plug-in in CauPluginName"
    return None


# --------------------------------------------------------------------------------------------
# WUA criteria


def query_updates(updates: list[dict[str, Any]], query: str, include_recommended: bool) -> list[dict[str, Any]]:
    """The updates a WUA search with ``query`` finds, as the WindowsUpdatePlugin would install them.

    The plug-in applies important updates only unless IncludeRecommendedUpdates is 'True'. A
    criterion WUA would reject raises ValueError with WUA's error name.
    """
    return [update for update in wua.search(updates, query) if include_recommended or not update["recommended"]]


HOTFIX_EXTENSIONS = (".msu", ".msi", ".msp")  # the extension rules of DefaultHotfixConfig.xml
HOTFIX_CONFIG = "DefaultHotfixConfig.xml"


def _file_server_root(lab_obj: Lab, root_path: str,
                      locked: dict[str, dict[str, Any]]) -> tuple[dict[str, Any], str] | None:
    r"""The file server state and local folder behind a UNC hotfix root (``\\server\share\rest``),
    as Windows resolves it: the server by computer name, the share by name."""
    match = re.fullmatch(r"\\\\([^\\]+)\\([^\\]+)((?:\\[^\\]+)*)\\?", root_path)
    if match is None:
        return None
    server_name, share, rest = match.group(1).split(".")[0].casefold(), match.group(2).casefold(), match.group(3)
    for host in lab_obj.host_names():
        # hosts this call already holds are read as held (locking them again would deadlock)
        server = (locked[host] if host in locked else lab_obj.peek_host(host)).get("file_server")
        if server and server_name in (host.split(".")[0].casefold(), str(server["computer_name"]).casefold()):
            entry = server["shares"].get(share)
            if entry is not None:
                return server, entry["path"].rstrip("\\") + rest
    return None


def _server_text(lab_obj: Lab, server: dict[str, Any], path: str) -> str | None:
    entry = server["files"].get(path.casefold())
    if entry is None:
        return None
    if "text" in entry:
        return str(entry["text"])
    return (lab_obj.root / "blobs" / entry["sha256"]).read_text(encoding="utf-8", errors="replace")


def hotfix_root_updates(lab_obj: Lab, root_path: str, node: str,
                        locked: dict[str, dict[str, Any]]) -> list[str] | None:
    """The files Microsoft.HotfixPlugin applies to ``node`` from a hotfix root on a simulated file server.

    As "How Cluster-Aware Updating plug-ins work" describes the root
    (https://learn.microsoft.com/windows-server/failover-clustering/cluster-aware-updating-plug-ins):
    ``CAUHotfix_All`` for every node and a folder named after the node, each holding updates the
    extension rules cover (.msu, .msi, .msp), and subfolders named after a ``<Folder name=...>``
    rule of ``DefaultHotfixConfig.xml`` whose files (a firmware .exe) that rule installs. A path
    relative to the root, or None when the root cannot be reached.
    """
    found = _file_server_root(lab_obj, root_path, locked)
    if found is None:
        return None
    server, base = found
    config = _server_text(lab_obj, server, f"{base}\\{HOTFIX_CONFIG}") or ""
    folder_rules = {name.casefold() for name in re.findall(r"<Folder\s[^>]*\bname=\"([^\"]+)\"", config)}
    files = []
    for area in ("CAUHotfix_All", node.split(".")[0]):
        prefix = f"{base}\\{area}\\".casefold()
        for key, entry in sorted(server["files"].items()):
            if not key.startswith(prefix):
                continue
            relative = entry["path"][len(prefix):]
            parts = relative.split("\\")
            if len(parts) == 1 and relative.casefold().endswith(HOTFIX_EXTENSIONS):
                files.append(f"{area}\\{relative}")
            elif len(parts) == 2 and parts[0].casefold() in folder_rules:
                files.append(f"{area}\\{relative}")
    return files


def plugin_updates(lab: dict[str, Any], node: str, state: dict[str, Any], plugin: str,
                   arguments: dict[str, str], lab_obj: Lab | None = None,
                   locked: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """What one plug-in would install on one node; ValueError when the plug-in fails there."""
    if plugin.lower() == WINDOWS_UPDATE_PLUGIN.lower():
        query = arguments.get("QueryString") or PLUGIN_DEFAULT_QUERY
        include = arguments.get("IncludeRecommendedUpdates", "False") == "True"
        return [{**u, "plugin": WINDOWS_UPDATE_PLUGIN} for u in query_updates(state["cau_updates"], query, include)]
    if plugin.lower() == HOTFIX_PLUGIN.lower():
        root_path = arguments.get("HotfixRootFolderPath", "")
        root = lab.get("hotfix_roots", {}).get(root_path.rstrip("\\").lower())
        if root is not None:
            files = root["all"] + root["nodes"].get(node.lower(), [])
        else:
            files = hotfix_root_updates(lab_obj, root_path, node, locked or {}) if lab_obj is not None else None
            if files is None:
                raise ValueError(f"the hotfix root folder {root_path!r} cannot be accessed from {node}")
        installed = {f.lower() for f in state.get("cau_hotfixes_installed", [])}
        exit_codes = {name.casefold(): code for name, code in state.get("cau_hotfix_exit_codes", {}).items()}
        updates = []
        for f in files:
            if f.lower() in installed:
                continue
            code = exit_codes.get(f.split("\\")[-1].casefold(), 0)
            update = {"id": f"hotfix:{f}", "title": f, "reboot_required": True, "fails": code != 0,
                      "plugin": HOTFIX_PLUGIN, "hotfix": f}
            if code:
                update["error"] = (f"{f.split(chr(92))[-1]} exited with code {code}, which its rule does not list "
                                   "as success")
            updates.append(update)
        return updates
    return []  # third-party plug-ins are not simulated beyond registration


def plugin_pairs(parameters: dict[str, Any]) -> list[tuple[str, dict[str, str]]]:
    names = parameters.get("CauPluginName") or [WINDOWS_UPDATE_PLUGIN]
    arguments = parameters.get("CauPluginArguments") or [{} for _ in names]
    return list(zip(names, arguments))


# --------------------------------------------------------------------------------------------
# Hosts of a cluster


@contextlib.contextmanager
def host_states(lab: Lab, caller: dict[str, Any], names: list[str]) -> Iterator[dict[str, dict[str, Any]]]:
    """Lock and yield the states of ``names``; the caller's own state is already locked by the
    connection plugin and is used as is (locking it again would deadlock)."""
    with contextlib.ExitStack() as stack:
        states = {}
        for name in sorted(set(names)):
            states[name] = caller if name == caller["name"] else stack.enter_context(lab.host(name))
        yield states


def _down(state: dict[str, Any]) -> bool:
    now = time.time()
    if not state.get("reachable", True):
        return True
    return any(start <= now < until for start, until, _ in state.get("down_windows", []))


def scan(lab: Lab, settings: dict[str, Any], caller: dict[str, Any], cluster: dict[str, Any],
         parameters: dict[str, Any]) -> list[dict[str, Any]]:
    """Invoke-CauScan: per node, the updates each plug-in would apply. Changes nothing."""
    pairs = plugin_pairs(parameters)
    stop = bool(parameters.get("StopOnPluginFailure"))
    result = []
    with host_states(lab, caller, cluster["nodes"]) as states:
        for node in cluster["nodes"]:
            entry: dict[str, Any] = {"node": node, "updates": []}
            if _down(states[node]):
                entry["error"] = f"{node} is offline"
            else:
                for plugin, arguments in pairs:
                    try:
                        entry["updates"] += [{"id": u["id"], "title": u["title"], "plugin": plugin}
                                             for u in plugin_updates(settings, node, states[node], plugin, arguments,
                                                                     lab, {**states, caller["name"]: caller})]
                    except ValueError as err:
                        entry["error"] = f"{plugin}: {err}"
                        if stop:
                            break
            result.append(entry)
    return result


# --------------------------------------------------------------------------------------------
# Updating runs


def _failed_run(run_id: str, now: float, error: str) -> dict[str, Any]:
    return {"run_id": run_id, "started": now, "finish_at": now, "state": "failed", "status": None,
            "error": error, "nodes": [], "timeline": []}


def start_run(lab: Lab, settings: dict[str, Any], caller: dict[str, Any], cluster: dict[str, Any],
              parameters: dict[str, Any], run_id: str, recover: bool) -> dict[str, Any]:
    """Decide the whole course of an updating run, apply it to the nodes, and return its record.

    Node changes (installed updates, restarts as unreachable windows) are applied now; the poll
    reveals progress by the clock. Failures CAU reports at the start of a run become a run that
    has already failed, as the detached worker would record them.
    """
    now = time.time()
    scale = settings.get("time_scale", 1.0)
    nodes = cluster["nodes"]
    if recover:
        force_recovery(caller, cluster)
    self_update = bool(parameters.get("ForceSelfUpdate"))
    if self_update and not cluster.get("cluster_role"):
        return _failed_run(run_id, now, f"the CAU clustered role is not configured on {cluster['name']}; "
                                        "add it with Add-CauClusterRole before -ForceSelfUpdate")
    if not self_update and caller["name"] in nodes:
        return _failed_run(run_id, now, f"{caller['name']} is a node of {cluster['name']}: a remote-updating run "
                                        "must be coordinated from a computer outside the cluster")
    pairs = plugin_pairs(parameters)
    max_failed = parameters.get("MaxFailedNodes", len(nodes) // 3)
    tries = parameters.get("MaxRetriesPerNode", 3)
    stop_on_failure = bool(parameters.get("StopOnPluginFailure"))
    separate = bool(parameters.get("SeparateReboots"))
    serial = bool(parameters.get("RunPluginsSerially"))
    timeline: list[tuple[float, str, str]] = []
    report_nodes: list[dict[str, Any]] = []
    clock = 0.0
    failed_nodes = 0
    error = None

    def at(seconds: float) -> float:
        return now + seconds * scale

    with host_states(lab, caller, nodes) as states:
        if parameters.get("RequireAllNodesOnline"):
            offline = [n for n in nodes if _down(states[n])]
            if offline:
                return _failed_run(run_id, now, f"RequireAllNodesOnline: node(s) {', '.join(offline)} are offline")
        for node in nodes:
            state = states[node]
            if error is not None:
                continue  # the run stopped before this node: its report has no result for it
            events = state.setdefault("events", [])
            node_report: dict[str, Any] = {"node": node, "status": "Succeeded", "updates": [], "reboots": 0, "error": None}
            if _down(state):
                node_report.update(status="Failed", error=f"{node} is offline")
            else:
                timeline.append((at(clock), node, "Scanning"))
                events.append({"event": "cau_scan", "run_id": run_id, "serial": serial,
                               "plugins": [plugin for plugin, _ in pairs]})
                clock += SCAN_SECONDS * (len(pairs) if serial else 1)
                reboot_pending = False
                for plugin, arguments in pairs:
                    plugin_failed = False
                    if self_update and not is_registered(state, plugin):
                        node_report["error"] = f"plug-in {plugin} is not registered on {node}"
                        plugin_failed = True
                        updates = []
                    else:
                        try:
                            updates = plugin_updates(settings, node, state, plugin, arguments, lab,
                                                     {**states, caller["name"]: caller})
                        except ValueError as err:
                            node_report["error"] = f"{plugin}: {err}"
                            plugin_failed = True
                            updates = []
                    for update in updates:
                        timeline.append((at(clock), node, f"Installing {update['title']}"))
                        if update["fails"]:
                            clock += INSTALL_SECONDS * tries
                            timeline.append((at(clock), node, f"Failed {update['title']}"))
                            node_report["updates"].append({"id": update["id"], "title": update["title"], "plugin": plugin,
                                                           "result": "Failed", "reboot_required": False,
                                                           "error": update.get("error") or
                                                           f"0x80070005 Access is denied (after {tries} tries)"})
                            events.append({"event": "cau_install_failed", "run_id": run_id, "plugin": plugin,
                                           "update": update["id"], "tries": tries})
                            plugin_failed = True
                            continue
                        clock += INSTALL_SECONDS
                        timeline.append((at(clock), node, f"Installed {update['title']}"))
                        _mark_installed(state, update)
                        node_report["updates"].append({"id": update["id"], "title": update["title"], "plugin": plugin,
                                                       "result": "Succeeded", "reboot_required": update["reboot_required"]})
                        events.append({"event": "cau_install", "run_id": run_id, "plugin": plugin, "update": update["id"]})
                        reboot_pending = reboot_pending or update["reboot_required"]
                    if separate and reboot_pending:
                        clock = _reboot(state, node, run_id, clock, at, timeline, node_report)
                        reboot_pending = False
                    if plugin_failed:
                        node_report["status"] = "Failed"
                        if stop_on_failure:
                            events.append({"event": "cau_plugins_stopped", "run_id": run_id, "after": plugin})
                            break
                if reboot_pending:
                    clock = _reboot(state, node, run_id, clock, at, timeline, node_report)
            report_nodes.append(node_report)
            if node_report["status"] == "Failed":
                failed_nodes += 1
                if failed_nodes > max_failed:
                    error = (f"MaxFailedNodesExceeded: {failed_nodes} node(s) failed, more than MaxFailedNodes "
                             f"({max_failed}); the run stopped")
    outage = cluster.get("coordinator_outage")
    if outage:
        start = at(outage["after"])
        caller.setdefault("down_windows", []).append(
            [start, start + outage["duration"] * scale, "simulated outage of the host coordinating the CAU run"])
    status = "Succeeded" if failed_nodes == 0 else "Failed"
    return {"run_id": run_id, "started": now, "finish_at": at(clock), "state": "finished", "status": status,
            "error": error, "nodes": report_nodes, "timeline": timeline}


def _mark_installed(state: dict[str, Any], update: dict[str, Any]) -> None:
    if "hotfix" in update:
        state.setdefault("cau_hotfixes_installed", []).append(update["hotfix"])
        return
    for candidate in state["cau_updates"]:
        if candidate["id"] == update["id"]:
            candidate["installed"] = True


def _reboot(state: dict[str, Any], node: str, run_id: str, clock: float, at: Any,
            timeline: list[tuple[float, str, str]], node_report: dict[str, Any]) -> float:
    """Restart a node: unreachable for REBOOT_SECONDS, one more boot."""
    timeline.append((at(clock), node, "Restarting"))
    state.setdefault("down_windows", []).append([at(clock), at(clock + REBOOT_SECONDS), f"{node} is restarting (CAU run)"])
    state["boot_count"] = state.get("boot_count", 0) + 1
    state.setdefault("events", []).append({"event": "cau_reboot", "run_id": run_id})
    node_report["reboots"] += 1
    return clock + REBOOT_SECONDS


def poll_run(cluster: dict[str, Any], run_id: str) -> dict[str, Any]:
    """What Get-CauRun / Get-CauReport show about a run at this moment."""
    record = cluster["runs"].get(run_id)
    if record is None:
        return {"run_id": run_id, "state": "failed", "status": None, "progress": None, "nodes": [],
                "error": f"no CAU run {run_id} was started (the start request did not arrive)"}
    now = time.time()
    if record["state"] == "failed":
        return {"run_id": run_id, "state": "failed", "status": None, "progress": None, "nodes": [], "error": record["error"]}
    if now < record["finish_at"]:
        seen = [(node, phase) for at, node, phase in record["timeline"] if at <= now]
        node, phase = seen[-1] if seen else (None, "Starting")
        # Get-CauRun during a run: the latest NodeStatusNotifications entry, and per node the
        # NodeResults counts NumberOfSucceededUpdates / NumberOfFailedUpdates (example 1 of
        # https://learn.microsoft.com/powershell/module/clusterawareupdating/get-caurun).
        counts: dict[str, dict[str, Any]] = {}
        for seen_node, seen_phase in seen:
            entry = counts.setdefault(seen_node, {"node": seen_node, "succeeded": 0, "failed": 0})
            if seen_phase.startswith("Installed "):
                entry["succeeded"] += 1
            elif seen_phase.startswith("Failed "):
                entry["failed"] += 1
        return {"run_id": run_id, "state": "running", "status": "InProgress",
                "progress": {"node": node, "phase": phase, "nodes": list(counts.values())}, "nodes": [], "error": None}
    return {"run_id": run_id, "state": "finished", "status": record["status"], "progress": None,
            "nodes": record["nodes"], "error": record["error"]}


STALE_RUN_ID = "5a1e0000-0000-4000-8000-00000000dead"


def force_recovery(caller: dict[str, Any], cluster: dict[str, Any]) -> None:
    """Invoke-CauRun -ForceRecovery: clears what a run that died with its orchestrator left behind
    (https://learn.microsoft.com/powershell/module/clusterawareupdating/invoke-caurun, -ForceRecovery)."""
    cluster["locked"] = False
    caller.setdefault("events", []).append({"event": "cau_force_recovery", "cluster": cluster["name"]})


def run_in_progress(cluster: dict[str, Any]) -> str | None:
    """The RunId Get-CauRun shows, or None when it answers RunNotInProgress.

    A cluster ``locked`` by a run whose orchestrator stopped shows that run as in progress, as
    Windows does until Invoke-CauRun -ForceRecovery clears it
    (https://learn.microsoft.com/powershell/module/clusterawareupdating/get-caurun).
    """
    if cluster.get("locked"):
        return STALE_RUN_ID
    active = cluster.get("active_run")
    record = cluster["runs"].get(active) if active else None
    if record and record["state"] == "finished" and time.time() < record["finish_at"]:
        return active
    return None


# --------------------------------------------------------------------------------------------
# Clustered role


_WEEKDAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")  # Weekdays flags order
_ROLE_SWITCHES = ("RequireAllNodesOnline", "SeparateReboots", "RunPluginsSerially", "StopOnPluginFailure",
                  "EnableFirewallRules")


def _shown_date(text: str) -> str:
    """A [datetime] as Get-CauClusterRole's example shows it: ``10/14/2011 3:00:00 AM``."""
    moment = datetime.datetime.fromisoformat(str(text))
    hour = moment.hour % 12 or 12
    return f"{moment.month}/{moment.day}/{moment.year} {hour}:{moment.minute:02d}:{moment.second:02d} " \
           f"{'AM' if moment.hour < 12 else 'PM'}"


def set_cluster_role(current: list[dict[str, Any]] | None, parameters: dict[str, Any]) -> list[dict[str, Any]]:
    """Add-/Set-CauClusterRole, kept as Get-CauClusterRole answers it: Name/Value pairs in its own names.

    The shape follows Microsoft's examples: Get-CauClusterRole example 1
    (https://learn.microsoft.com/powershell/module/clusterawareupdating/get-cauclusterrole) shows
    ResourceGroupName, Status, ``StartDate 10/14/2011 3:00:00 AM``, ``RequireAllNodesOnline On``,
    ``DaysOfWeek Tuesday, Saturday``, ``WeeksOfMonth {2, 4}``; Set-CauClusterRole example 2
    (https://learn.microsoft.com/powershell/module/clusterawareupdating/set-cauclusterrole) shows
    ``WeeksInterval 2`` for -IntervalWeeks. Set-CauClusterRole changes the properties it is given;
    the weekly and monthly parameter sets replace each other.
    """
    role = {item["name"]: item["value"] for item in current or []}
    role.setdefault("ResourceGroupName", f"CAU{parameters.get('ClusterName', '')}")
    role.setdefault("Status", "Online")
    for name, value in parameters.items():
        if name in ("ClusterName", "Force"):
            continue
        if name == "StartDate":
            role["StartDate"] = _shown_date(value)
        elif name == "DaysOfWeek":
            days = {day.strip().lower() for day in str(value).split(",")}
            role["DaysOfWeek"] = ", ".join(day for day in _WEEKDAYS if day.lower() in days)
        elif name == "IntervalWeeks":
            role.pop("WeeksOfMonth", None)
            role["WeeksInterval"] = int(value)
        elif name == "WeeksOfMonth":
            role.pop("WeeksInterval", None)
            role["WeeksOfMonth"] = [int(week) for week in value]
        elif name in _ROLE_SWITCHES:
            if value:
                role[name] = "On"
            else:
                role.pop(name, None)
        elif name == "CauPluginArguments":
            role[name] = [dict(table) for table in value]
        else:
            role[name] = value
    return [{"name": name, "value": value} for name, value in role.items()]
