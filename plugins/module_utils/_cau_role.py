# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compare the CAU clustered role's settings with the wanted ones (for internal collection use only).

``Get-CauClusterRole`` does not answer in the parameter names ``Add-CauClusterRole`` /
``Set-CauClusterRole`` take. Microsoft's examples show the shape:

* https://learn.microsoft.com/powershell/module/clusterawareupdating/get-cauclusterrole (example 1):
  a list of Name/Value pairs (``Microsoft.ClusterAwareUpdating.CauParameter``) with
  ``StartDate  10/14/2011 3:00:00 AM`` (text), ``RequireAllNodesOnline  On`` (a switch shown as
  On), ``DaysOfWeek  Tuesday, Saturday`` (the Weekdays flags as text), ``WeeksOfMonth  {2, 4}``;
* https://learn.microsoft.com/powershell/module/clusterawareupdating/set-cauclusterrole (example 2):
  ``WeeksInterval  2`` for ``-IntervalWeeks 2``.

:func:`current_settings` maps those properties back to the cmdlet parameters and
:func:`wanted_settings` puts the parameters this collection sends into the same comparable form,
so a second run with the same settings finds nothing to change. Values are compared by meaning
(a date as a date, days as a set, paths without regard to case), never as raw text.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any, Final

__all__ = ["ROLE_PROPERTIES", "current_settings", "differences", "for_display", "wanted_settings"]

# Get-CauClusterRole property -> the Add-/Set-CauClusterRole parameter it reflects.
ROLE_PROPERTIES: Final = {
    "StartDate": "StartDate",
    "DaysOfWeek": "DaysOfWeek",
    "WeeksOfMonth": "WeeksOfMonth",
    "WeeksInterval": "IntervalWeeks",
    "IntervalWeeks": "IntervalWeeks",
    "MaxFailedNodes": "MaxFailedNodes",
    "MaxRetriesPerNode": "MaxRetriesPerNode",
    "RebootTimeoutMinutes": "RebootTimeoutMinutes",
    "PreUpdateScript": "PreUpdateScript",
    "PostUpdateScript": "PostUpdateScript",
    "RequireAllNodesOnline": "RequireAllNodesOnline",
    "SeparateReboots": "SeparateReboots",
    "RunPluginsSerially": "RunPluginsSerially",
    "StopOnPluginFailure": "StopOnPluginFailure",
    "EnableFirewallRules": "EnableFirewallRules",
    "CauPluginName": "CauPluginName",
    "CauPluginArguments": "CauPluginArguments",
}
_SWITCHES: Final = frozenset(
    {"RequireAllNodesOnline", "SeparateReboots", "RunPluginsSerially", "StopOnPluginFailure", "EnableFirewallRules"}
)
_INTEGERS: Final = frozenset({"IntervalWeeks", "MaxFailedNodes", "MaxRetriesPerNode", "RebootTimeoutMinutes"})
_PATHS: Final = frozenset({"PreUpdateScript", "PostUpdateScript"})
_DAYS: Final = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
# How a [datetime] is shown as text: the en-US form of Microsoft's example, and ISO 8601.
_DATE_FORMATS: Final = ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y")


def _as_list(value: object) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, str):
        text = value.strip().strip("{}")
        return [part.strip() for part in text.split(",") if part.strip()]
    return [value]


def _date(value: object) -> str:
    """A start date as ISO text to the minute; text that is no date is kept as it is."""
    text = str(value).strip()
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        parsed = None
        for pattern in _DATE_FORMATS:
            try:
                parsed = datetime.datetime.strptime(text, pattern)
                break
            except ValueError:
                continue
    if parsed is None:
        return text
    return parsed.replace(tzinfo=None, second=0, microsecond=0).isoformat()


def _switch(value: object) -> bool:
    """A switch as Get-CauClusterRole shows it (``On``), or a boolean from anywhere else."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("on", "true", "1", "yes")


def _plugin_arguments(value: object) -> list[dict[str, str]]:
    """Plug-in arguments as a list of {name: value} (hashtables, or ``name=value;...`` text)."""
    tables = []
    for item in _as_list(value) if not isinstance(value, Mapping) else [value]:
        if isinstance(item, Mapping):
            tables.append({str(k): str(v) for k, v in item.items()})
        elif isinstance(item, str):
            pairs = [pair.split("=", 1) for pair in item.split(";") if "=" in pair]
            tables.append({k.strip(): v.strip() for k, v in pairs})
    return tables


def _comparable(parameter: str, value: object) -> Any:
    """One setting in a form that compares by meaning."""
    if parameter in _SWITCHES:
        return _switch(value)
    if parameter in _INTEGERS:
        try:
            return int(str(value).strip())
        except ValueError:
            return str(value)
    if parameter == "StartDate":
        return _date(value)
    if parameter == "DaysOfWeek":
        names = {str(day).strip().lower() for day in _as_list(value)}
        return [day for day in _DAYS if day.lower() in names]
    if parameter == "WeeksOfMonth":
        return sorted(int(str(week).strip()) for week in _as_list(value))
    if parameter in _PATHS:
        return str(value).strip().lower()
    if parameter == "CauPluginName":
        return [str(name).strip() for name in _as_list(value)]
    if parameter == "CauPluginArguments":
        return _plugin_arguments(value)
    return str(value)


def current_settings(properties: Sequence[Mapping[str, Any]] | None) -> dict[str, Any]:
    """The role's settings from Get-CauClusterRole's Name/Value list, keyed by cmdlet parameter.

    Properties this collection does not manage (``ResourceGroupName``, ``Status``, ...) are left
    out; a switch that is absent is off.
    """
    settings: dict[str, Any] = {switch: False for switch in _SWITCHES}
    for item in properties or []:
        if not isinstance(item, Mapping):
            continue
        parameter = ROLE_PROPERTIES.get(str(item.get("name", "")))
        if parameter is not None and item.get("value") is not None:
            settings[parameter] = _comparable(parameter, item["value"])
    return settings


def wanted_settings(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The settings the Add-/Set-CauClusterRole parameters ask for, in the same comparable form."""
    return {
        name: _comparable(name, value)
        for name, value in parameters.items()
        if name not in ("ClusterName", "Force")
    }


def differences(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> list[str]:
    """The parameters whose wanted value differs from the role's current one, in wanted order."""
    return [name for name, value in wanted.items() if current.get(name) != value]


def for_display(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Settings as people read them in results and --diff: days as ``Tuesday, Saturday``."""
    return {
        name: ", ".join(value) if name == "DaysOfWeek" and isinstance(value, list) else value
        for name, value in settings.items()
    }
