# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""CAU run options, schedules, cmdlet parameters and run outcomes (for internal collection use only).

The controller decides the exact parameters every Cluster-Aware Updating cmdlet receives, so
they are checked once, before any host is touched, and unit-tested without Windows:

* :func:`normalise_run_options` and :func:`normalise_schedule` validate what a user writes
  (module options or inventory variables) and say which field is wrong and what is valid;
* :func:`scan_parameters`, :func:`run_parameters`, :func:`recover_parameters` and
  :func:`cluster_role_parameters` map them to ``Invoke-CauScan`` / ``Invoke-CauRun`` /
  ``Add-CauClusterRole`` / ``Set-CauClusterRole`` parameter names and values; the host module only
  splats them (from an allow-list), so nothing is ever parsed as PowerShell on the host;
* :func:`render_command` shows the same call as PowerShell text, quoted so that nothing in it can
  run, for check mode, results and reports;
* :func:`node_outcomes` and :func:`scan_outcomes` turn what the host read from ``Get-CauReport``
  / ``Invoke-CauScan`` into one row per node, in inventory order, with nothing left out.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from ansible_collections.winfleet.updates.plugins.module_utils._cau_plugins import (
    CauPluginSet,
    plugin_arguments,
    quote_powershell_string,
    render_powershell_parameters,
    uses_cluster_role_quoting,
)
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError, kind_of
from ansible_collections.winfleet.updates.plugins.module_utils._progress import printable
from ansible_collections.winfleet.updates.plugins.module_utils._strings import control_character

__all__ = [
    "ABSOLUTE_WINDOWS_PATH",
    "CAU_MODES",
    "DAYS_OF_WEEK",
    "MAX_RETRIES_PER_NODE",
    "RUN_OPTIONS",
    "as_bool",
    "SCRIPT_PATH_MAX",
    "NODE_STATUSES",
    "check_max_failed_nodes",
    "cluster_role_parameters",
    "default_max_failed_nodes",
    "node_outcomes",
    "progress_key",
    "progress_phase",
    "normalise_run_options",
    "normalise_schedule",
    "recover_parameters",
    "render_command",
    "run_parameters",
    "same_computer",
    "scan_outcomes",
    "short_name",
    "scan_parameters",
    "summarise_nodes",
    "validate_cluster_name",
]

CAU_MODES: Final = ("self_updating", "remote_updating")
"""How CAU orchestrates: the clustered role on the cluster itself, or a coordinator outside it."""

MAX_RETRIES_PER_NODE: Final = 64
SCRIPT_PATH_MAX: Final = 260
_INT32_MAX: Final = 2**31 - 1

# Option name -> cmdlet parameter. These are the run settings Invoke-CauRun, Add-CauClusterRole
# and Set-CauClusterRole share; switches are passed only when true.
_RUN_PARAMETERS: Final = {
    "max_failed_nodes": "MaxFailedNodes",
    "max_retries_per_node": "MaxRetriesPerNode",
    "require_all_nodes_online": "RequireAllNodesOnline",
    "reboot_timeout_minutes": "RebootTimeoutMinutes",
    "pre_update_script": "PreUpdateScript",
    "post_update_script": "PostUpdateScript",
    "enable_firewall_rules": "EnableFirewallRules",
}
RUN_OPTIONS: Final = tuple(_RUN_PARAMETERS)
"""Run settings accepted by :func:`normalise_run_options`, in the order they are rendered."""

_BOOL_OPTIONS: Final = frozenset({"require_all_nodes_online", "enable_firewall_rules"})
_SCRIPT_OPTIONS: Final = frozenset({"pre_update_script", "post_update_script"})

DAYS_OF_WEEK: Final = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
"""The CAU ``Weekdays`` flag names, in the enum's order (Sunday = 0x01)."""
_SCHEDULE_KEYS: Final = ("days_of_week", "weeks_of_month", "interval_weeks", "start_date")

# A failover cluster is addressed by its network name: a NetBIOS name or a DNS name.
_CLUSTER_NAME_RE: Final = re.compile(
    r"(?=.{1,253}\Z)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\Z"
)
# Where a Windows host can read a file: an absolute local path (C:\...) or a UNC path (\\server\share\...).
ABSOLUTE_WINDOWS_PATH: Final = r"(?:[A-Za-z]:\\|\\\\[^\\/:*?\"<>|\r\n]+\\[^\\/:*?\"<>|\r\n]+\\)"
_ABSOLUTE_PATH_RE: Final = re.compile(ABSOLUTE_WINDOWS_PATH)


# --------------------------------------------------------------------------------------------
# Validation


def validate_cluster_name(raw: object, field: str = "cluster_name") -> str:
    """Check a failover cluster's network name (NetBIOS or DNS form) and return it.

    The name ends up in ``-ClusterName`` and in reports; refusing anything that is not a host
    name keeps both free of quoting surprises and catches inventory typos early.
    """
    if not isinstance(raw, str) or not _CLUSTER_NAME_RE.match(raw):
        raise InputError(
            field,
            f"expected the cluster's network name (letters, digits and '-', optionally a DNS domain, "
            f"e.g. 'HVCL01' or 'hvcl01.contoso.com'), got {raw!r}",
        )
    return raw


def as_bool(value: object, field: str) -> bool:
    """Accept YAML booleans and the 'true'/'false' strings AWX surveys produce."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise InputError(field, f"expected true or false, got {value!r}")


def _as_int(value: object, field: str, low: int, high: int, meaning: str) -> int:
    """Accept an integer (or its base-10 digits) within ``low..high``."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit():
        number = int(value, 10)
    if number is None or not low <= number <= high:
        raise InputError(field, f"expected {meaning} from {low} to {high}, got {value!r}")
    return number


def _script_path(value: object, field: str) -> str:
    """A pre/post-update script as CAU requires it: a .ps1 path of at most 260 characters."""
    if not isinstance(value, str) or not value:
        raise InputError(field, f"expected the path of a .ps1 script, got {value!r}")
    if control_character(value) is not None:  # a tab or any other control character as well
        raise InputError(field, "must be one line without NUL characters")
    if not value.lower().endswith(".ps1"):
        raise InputError(
            field, f"CAU runs PowerShell scripts only: the file name must end in .ps1, got {value!r}"
        )
    if len(value) > SCRIPT_PATH_MAX:
        raise InputError(
            field,
            f"is {len(value)} characters long; CAU accepts at most {SCRIPT_PATH_MAX} for path plus file name",
        )
    if not _ABSOLUTE_PATH_RE.match(value):
        raise InputError(
            field,
            "expected an absolute path every node can read, e.g. C:\\ClusterStorage\\Volume1\\pre.ps1 or "
            f"\\\\fs01\\scripts\\pre.ps1, got {value!r}",
        )
    return value


def normalise_run_options(options: Mapping[str, Any] | None, *, prefix: str = "") -> dict[str, Any]:
    """Validate run settings; return only the ones that are set, with their Python types.

    ``prefix`` is prepended to every field name in errors, so the same check reads
    ``max_retries_per_node`` for a module option and ``cau_max_retries_per_node`` for an inventory
    variable. ``None`` means "CAU's default" and is dropped.
    """
    result: dict[str, Any] = {}
    for name, value in (options or {}).items():
        field = f"{prefix}{name}"
        if name not in _RUN_PARAMETERS:
            raise InputError(field, f"is not a run setting; valid: {', '.join(RUN_OPTIONS)}")
        if value is None:
            continue
        if name in _BOOL_OPTIONS:
            result[name] = as_bool(value, field)
        elif name in _SCRIPT_OPTIONS:
            result[name] = _script_path(value, field)
        elif name == "max_failed_nodes":
            result[name] = _as_int(value, field, 0, _INT32_MAX, "a number of nodes")
        elif name == "max_retries_per_node":
            result[name] = _as_int(
                value,
                field,
                1,
                MAX_RETRIES_PER_NODE,
                f"a number of tries per node (CAU's maximum is {MAX_RETRIES_PER_NODE})",
            )
        else:
            result[name] = _as_int(value, field, 1, _INT32_MAX, "a number of minutes")
    return {name: result[name] for name in RUN_OPTIONS if name in result}


def check_max_failed_nodes(run_options: Mapping[str, Any], node_count: int, field: str) -> None:
    """CAU accepts MaxFailedNodes from 0 to one less than the number of nodes."""
    value = run_options.get("max_failed_nodes")
    if value is not None and node_count and value > node_count - 1:
        raise InputError(
            field,
            f"is {value} but the cluster has {node_count} node(s); CAU accepts 0 to {node_count - 1}",
        )


def default_max_failed_nodes(node_count: int) -> int:
    """CAU's documented default: about a third of the nodes."""
    return node_count // 3


def _day(value: object, field: str) -> str:
    if isinstance(value, str):
        for day in DAYS_OF_WEEK:
            if day.lower() == value.lower():
                return day
    raise InputError(field, f"expected a day name ({', '.join(DAYS_OF_WEEK)}), got {value!r}")


def _start_date(value: object, field: str) -> str:
    """Accept an ISO 8601 date or date-time (YAML may already have parsed it) and return ISO text."""
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            parsed = datetime.datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return parsed.isoformat() if "T" in value or " " in value else parsed.date().isoformat()
    raise InputError(
        field, f"expected an ISO 8601 date or date-time such as 2025-01-07 or 2025-01-07T03:00, got {value!r}"
    )


def _list(value: object, field: str) -> list[object]:
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return [value]
    if isinstance(value, (list, tuple)):
        return list(value)
    raise InputError(field, f"expected a list, got {kind_of(value)}")


def normalise_schedule(raw: Mapping[str, Any] | None, *, field: str = "schedule") -> dict[str, Any] | None:
    """Validate a self-updating schedule for ``Add-CauClusterRole`` / ``Set-CauClusterRole``.

    ``days_of_week`` is required. ``weeks_of_month`` (1-5, 5 = the last week; the monthly parameter
    set) and ``interval_weeks`` (every N weeks; the weekly set) are alternatives: the cmdlets put
    them in different parameter sets, so giving both is an error here rather than on the cluster.
    ``None`` means "no schedule given" (CAU's default schedule applies).
    """
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise InputError(field, "expected a mapping with days_of_week and weeks_of_month or interval_weeks")
    unknown = sorted(str(key) for key in raw if key not in _SCHEDULE_KEYS)
    if unknown:
        raise InputError(field, f"unknown key(s) {', '.join(unknown)}; valid: {', '.join(_SCHEDULE_KEYS)}")
    if not raw.get("days_of_week"):
        raise InputError(
            f"{field}.days_of_week",
            f"is required: the days the updating run starts ({', '.join(DAYS_OF_WEEK)})",
        )
    days = [
        _day(day, f"{field}.days_of_week[{i}]")
        for i, day in enumerate(_list(raw["days_of_week"], f"{field}.days_of_week"))
    ]
    if len(set(days)) != len(days):
        raise InputError(f"{field}.days_of_week", "lists the same day twice")
    schedule: dict[str, Any] = {"days_of_week": [day for day in DAYS_OF_WEEK if day in days]}
    weeks = raw.get("weeks_of_month")
    interval = raw.get("interval_weeks")
    if weeks is not None and interval is not None:
        raise InputError(
            field,
            "give weeks_of_month (monthly) or interval_weeks (every N weeks), not both: the CAU cmdlets "
            "take them in different parameter sets",
        )
    if weeks is not None:
        numbers = [
            _as_int(week, f"{field}.weeks_of_month[{i}]", 1, 5, "a week of the month (5 = the last week)")
            for i, week in enumerate(_list(weeks, f"{field}.weeks_of_month"))
        ]
        if not numbers or len(set(numbers)) != len(numbers):
            raise InputError(f"{field}.weeks_of_month", "expected distinct weeks of the month from 1 to 5")
        schedule["weeks_of_month"] = sorted(numbers)
    if interval is not None:
        schedule["interval_weeks"] = _as_int(interval, f"{field}.interval_weeks", 1, 52, "a number of weeks")
    if raw.get("start_date") is not None:
        schedule["start_date"] = _start_date(raw["start_date"], f"{field}.start_date")
    return schedule


# --------------------------------------------------------------------------------------------
# Cmdlet parameters


def _plugin_parameters(plugin_set: CauPluginSet, cmdlet: str, switches: Sequence[str]) -> dict[str, Any]:
    """-CauPluginName / -CauPluginArguments (same order) and the multi-plug-in switches.

    The doubled UpdateID quotes are applied only for the cluster-role cmdlets, by the one function
    that knows the rule (``plugin_arguments``). ``-CauPluginArguments`` is left out when no
    plug-in has arguments, as the PowerShell rendering does.
    """
    for_cluster_role = uses_cluster_role_quoting(cmdlet)
    tables = [plugin_arguments(plugin, for_cluster_role=for_cluster_role) for plugin in plugin_set.plugins]
    parameters: dict[str, Any] = {"CauPluginName": plugin_set.names}
    if any(tables):
        parameters["CauPluginArguments"] = tables
    for switch in plugin_set.switches:
        if switch in switches:
            parameters[switch] = True
    return parameters


def _run_settings(run_options: Mapping[str, Any]) -> dict[str, Any]:
    """Run settings as cmdlet parameters; false switches are left out (CAU's default)."""
    parameters: dict[str, Any] = {}
    for name, parameter in _RUN_PARAMETERS.items():
        value = run_options.get(name)
        if value is None or value is False:
            continue
        parameters[parameter] = value
    return parameters


def scan_parameters(cluster_name: str, plugin_set: CauPluginSet) -> dict[str, Any]:
    """``Invoke-CauScan``: plug-ins and the two switches it takes (not SeparateReboots)."""
    return {
        "ClusterName": cluster_name,
        **_plugin_parameters(plugin_set, "Invoke-CauScan", ("RunPluginsSerially", "StopOnPluginFailure")),
    }


def run_parameters(
    cluster_name: str,
    plugin_set: CauPluginSet,
    run_options: Mapping[str, Any],
    *,
    force_self_update: bool = False,
) -> dict[str, Any]:
    """``Invoke-CauRun`` (default parameter set). ``-Force`` always: nobody answers prompts."""
    parameters: dict[str, Any] = {
        "ClusterName": cluster_name,
        **_plugin_parameters(
            plugin_set, "Invoke-CauRun", ("RunPluginsSerially", "StopOnPluginFailure", "SeparateReboots")
        ),
        **_run_settings(run_options),
    }
    if force_self_update:
        parameters["ForceSelfUpdate"] = True
    parameters["Force"] = True
    return parameters


def recover_parameters(cluster_name: str) -> dict[str, Any]:
    """``Invoke-CauRun -ForceRecovery``: its own parameter set, so it is a separate call."""
    return {"ClusterName": cluster_name, "ForceRecovery": True, "Force": True}


def cluster_role_parameters(
    cluster_name: str,
    plugin_set: CauPluginSet,
    run_options: Mapping[str, Any],
    schedule: Mapping[str, Any] | None,
    *,
    cmdlet: str = "Add-CauClusterRole",
) -> dict[str, Any]:
    """``Add-CauClusterRole`` / ``Set-CauClusterRole``: schedule, plug-ins (doubled quotes), settings.

    ``DaysOfWeek`` is the ``Weekdays`` flags value written as PowerShell converts it
    (``'Tuesday, Saturday'``); the start date stays ISO text for ``[datetime]`` conversion.
    """
    parameters: dict[str, Any] = {"ClusterName": cluster_name}
    if schedule:
        if schedule.get("start_date"):
            parameters["StartDate"] = schedule["start_date"]
        parameters["DaysOfWeek"] = ", ".join(schedule["days_of_week"])
        if schedule.get("weeks_of_month"):
            parameters["WeeksOfMonth"] = list(schedule["weeks_of_month"])
        if schedule.get("interval_weeks"):
            parameters["IntervalWeeks"] = schedule["interval_weeks"]
    parameters.update(
        _plugin_parameters(
            plugin_set, cmdlet, ("RunPluginsSerially", "StopOnPluginFailure", "SeparateReboots")
        )
    )
    parameters.update(_run_settings(run_options))
    parameters["Force"] = True
    return parameters


def _render_value(value: Any) -> str:
    if isinstance(value, bool):
        return "$true" if value else "$false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (list, tuple)):
        return ",".join(_render_value(item) for item in value)
    return quote_powershell_string(str(value))


def render_command(cmdlet: str, parameters: Mapping[str, Any], plugin_set: CauPluginSet | None = None) -> str:
    """The call as PowerShell text, for people: every string single-quoted, switches bare.

    The plug-in part comes from ``render_powershell_parameters`` (the same quoting the unit tests
    read back with PowerShell's rules), so a hostile argument value cannot break out here either.
    """
    parts = [cmdlet]
    plugin_done = False
    for name, value in parameters.items():
        if name in (
            "CauPluginName",
            "CauPluginArguments",
            "RunPluginsSerially",
            "StopOnPluginFailure",
            "SeparateReboots",
        ):
            if plugin_set is not None and not plugin_done:
                parts.append(
                    render_powershell_parameters(
                        plugin_set, for_cluster_role=uses_cluster_role_quoting(cmdlet)
                    )
                )
                plugin_done = True
            continue
        parts.append(f"-{name}" if value is True else f"-{name} {_render_value(value)}")
    return " ".join(parts)


# --------------------------------------------------------------------------------------------
# Outcomes

NODE_STATUSES: Final = ("succeeded", "failed", "not_updated", "scanned", "unknown")
# Node and update results as CAU reports them. A node's Status in Get-CauRun / Get-CauReport
# (https://learn.microsoft.com/powershell/module/clusterawareupdating/get-caurun, example 1:
# "Status : Succeeded"); an update's ResultCode is WUA's OperationResultCode
# (https://learn.microsoft.com/windows/win32/api/wuapi/ne-wuapi-operationresultcode).
_CAU_NODE_STATUS: Final = {"succeeded": "succeeded", "failed": "failed"}
_UPDATE_RESULTS: Final = {
    "succeeded": "installed",
    "succeededwitherrors": "installed",
    "failed": "failed",
    "aborted": "failed",
}


def _updates(raw: object) -> list[dict[str, Any]]:
    """Keep the update fields the report uses, whatever else the host sent."""
    if not isinstance(raw, Sequence) or isinstance(raw, (str, bytes)):
        return []
    keep = ("id", "title", "plugin", "error", "result")
    return [
        {key: item.get(key) for key in keep if item.get(key) not in (None, "")}
        for item in raw
        if isinstance(item, Mapping)
    ]


def short_name(name: str) -> str:
    """A computer's NetBIOS-style short name: the first DNS label, lower case."""
    return name.split(".", 1)[0].lower()


def same_computer(one: str, other: str) -> bool:
    """Whether two names mean the same computer: equal ignoring case, or one is the other's short name.

    CAU reports nodes by the cluster's node names (short names), inventories often list FQDNs;
    both directions match. Two FQDNs in different domains do not.
    """
    a, b = one.lower(), other.lower()
    if a == b:
        return True
    if "." in a and "." in b:
        return False
    return short_name(a) == short_name(b)


def _by_node(raw_nodes: object, expected_nodes: Sequence[str]) -> list[tuple[str, Mapping[str, Any] | None]]:
    """Pair every node with what the host reported on it: expected nodes first, in inventory order.

    A node the host reports that the inventory does not list is kept at the end, so nothing the
    cluster did goes unreported. Names match by :func:`same_computer` (case-insensitive, short
    name or FQDN both ways).
    """
    items = raw_nodes if isinstance(raw_nodes, Sequence) and not isinstance(raw_nodes, (str, bytes)) else []
    reported = [item for item in items if isinstance(item, Mapping) and isinstance(item.get("node"), str)]
    used: set[int] = set()
    pairs: list[tuple[str, Mapping[str, Any] | None]] = []
    for node in expected_nodes:
        match = next(
            (i for i, item in enumerate(reported) if i not in used and same_computer(node, item["node"])), None
        )
        if match is not None:
            used.add(match)
        pairs.append((node, reported[match] if match is not None else None))
    pairs += [(str(item["node"]), item) for i, item in enumerate(reported) if i not in used]
    return pairs


def _node_outcome(node: str, item: Mapping[str, Any] | None) -> dict[str, Any]:
    """One node of a run report; a node CAU did not report on (the run stopped before it) is not_updated.

    A status or update result this code does not know is reported as ``unknown`` with CAU's raw
    value (``cau_status`` / the update's ``result``), never silently as not updated.
    """
    if item is None:
        return {
            "node": node,
            "status": "not_updated",
            "cau_status": None,
            "installed": [],
            "failed": [],
            "unknown": [],
            "reboots": 0,
            "error": None,
        }
    updates = [u for u in item.get("updates") or [] if isinstance(u, Mapping)]
    kinds = [_UPDATE_RESULTS.get(str(u.get("result") or "").replace(" ", "").lower(), "unknown") for u in updates]
    installed = [u for u, kind in zip(updates, kinds) if kind == "installed"]
    failed = [u for u, kind in zip(updates, kinds) if kind == "failed"]
    unknown = [u for u, kind in zip(updates, kinds) if kind == "unknown"]
    cau_status = str(item.get("status") or "")
    status = _CAU_NODE_STATUS.get(cau_status.lower(), "unknown")
    if failed and status == "succeeded":
        status = "failed"
    elif unknown and status == "succeeded":
        status = "unknown"
    reboots = item.get("reboots")
    valid_reboots = isinstance(reboots, int) and not isinstance(reboots, bool) and reboots >= 0
    error = str(item["error"]) if item.get("error") else None
    if status == "unknown" and not error:
        error = (
            f"CAU reported status {cau_status!r} for this node"
            if cau_status.lower() not in _CAU_NODE_STATUS
            else "CAU reported update result(s) "
            + ", ".join(repr(str(u.get("result"))) for u in unknown)
        )
    return {
        "node": node,
        "status": status,
        "cau_status": cau_status or None,
        "installed": _updates(installed),
        "failed": _updates(failed),
        "unknown": _updates(unknown),
        "reboots": reboots if valid_reboots else 0,
        "error": error,
    }


def node_outcomes(raw_nodes: object, expected_nodes: Sequence[str]) -> list[dict[str, Any]]:
    """One outcome per node from the run report (``Get-CauReport -Last -Detailed``), inventory order."""
    return [_node_outcome(node, item) for node, item in _by_node(raw_nodes, expected_nodes)]


def scan_outcomes(raw_nodes: object, expected_nodes: Sequence[str]) -> list[dict[str, Any]]:
    """One entry per node from ``Invoke-CauScan``: the updates that would be applied."""
    return [
        {
            "node": node,
            "status": "scanned",
            "applicable": _updates((item or {}).get("updates")),
            "error": (item or {}).get("error"),
        }
        for node, item in _by_node(raw_nodes, expected_nodes)
    ]


def summarise_nodes(outcomes: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Totals of a run: updates installed and failed, reboots, failed nodes."""
    return {
        "updates_installed": sum(len(o.get("installed") or []) for o in outcomes),
        "updates_failed": sum(len(o.get("failed") or []) for o in outcomes),
        "updates_applicable": sum(len(o.get("applicable") or []) for o in outcomes),
        "reboots": sum(int(o.get("reboots") or 0) for o in outcomes),
        "failed_nodes": sum(1 for o in outcomes if o.get("status") == "failed"),
    }


# --------------------------------------------------------------------------------------------
# Progress while a run is followed


def _counts(progress: Mapping[str, Any]) -> tuple[int, int]:
    """Updates installed and failed so far over all nodes (Get-CauRun's NodeResults counts)."""
    nodes = progress.get("nodes") if isinstance(progress.get("nodes"), list) else []
    installed = sum(int(n.get("succeeded") or 0) for n in nodes if isinstance(n, Mapping))
    failed = sum(int(n.get("failed") or 0) for n in nodes if isinstance(n, Mapping))
    return installed, failed


def progress_key(answer: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """What a progress line shows, to tell whether anything changed since the last one."""
    run = answer.get("run") if isinstance(answer.get("run"), Mapping) else None
    if run is None:
        return None
    progress = run.get("progress") if isinstance(run.get("progress"), Mapping) else {}
    return (run.get("state"), run.get("status"), progress.get("node"), progress.get("phase"), *_counts(progress))


def progress_phase(answer: Mapping[str, Any]) -> str | None:
    """What the progress line says about a run in progress: node, phase, update counts.

    None once the run is no longer running (its end is the task's own result). The line's format
    and when it is printed are ``module_utils._progress``'s, shared with ``virtio_install``.
    """
    run = answer.get("run") if isinstance(answer.get("run"), Mapping) else None
    if run is None or run.get("state") != "running":
        return None
    progress = run.get("progress") if isinstance(run.get("progress"), Mapping) else {}
    installed, failed = _counts(progress)
    node = printable(progress.get("node") or "-")
    phase = printable(progress.get("phase") or run.get("status") or run.get("state") or "waiting")
    return f"node {node}, {phase}; updates installed {installed}, failed {failed}"
