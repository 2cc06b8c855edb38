# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of winfleet.updates.cau_plan: read the CAU inventory layout and validate it.

Runs on the controller without contacting any host: reads the CAU variables of every host of the
clusters group from hostvars, and returns the clusters in inventory order and the hosts each
third-party plug-in must be placed on (``module_utils._cau_placement``). Every mistake in the
inventory fails here, before anything runs on a host.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.winfleet.updates.plugins.module_utils._cau_limit import (
    clusters_for_limit,
    lead_without_limit,
)
from ansible_collections.winfleet.updates.plugins.module_utils._cau_placement import (
    CLUSTER_VARIABLES,
    plan_clusters,
)
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.plugin_utils._action import WinfleetAction


class ActionModule(WinfleetAction):
    ARGUMENT_SPEC = {
        "clusters_group": {"type": "str", "default": "cau_clusters"},
        "clusters": {"type": "list", "elements": "str", "default": []},
        "limit": {"type": "str"},
        "limited_hosts": {"type": "list", "elements": "str", "default": []},
        "limit_needs_coordinators": {"type": "bool", "default": False},
    }
    _requires_connection = False

    def run_validated(self, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        groups = task_vars.get("groups") or {}
        group = args["clusters_group"]
        cluster_hosts = list(groups.get(group) or [])
        hostvars = task_vars.get("hostvars") or {}
        variables = {host: self._cau_variables(hostvars, host) for host in cluster_hosts}
        inventory = list(groups.get("all") or [])
        plan = plan_clusters(cluster_hosts, variables, inventory, args["clusters"], group=group)
        result: dict[str, Any] = {"changed": False, **plan.as_dict(), "limit_message": None}
        leads = {cluster["name"]: lead_without_limit(cluster) for cluster in result["clusters"]}
        if args["limit"]:
            clusters = result["clusters"]
            limited = clusters_for_limit(
                args["limit"],
                args["limited_hosts"],
                clusters,
                self._cluster_groups(groups, clusters, group),
                group,
                groups,
                require_coordinators=args["limit_needs_coordinators"],
            )
            plan = plan_clusters(cluster_hosts, variables, inventory, list(limited.names), group=group)
            result.update(plan.as_dict(), limit_message=limited.message)
            leads = limited.leads
        for cluster in result["clusters"]:
            cluster["lead"] = leads[cluster["name"]]
        return result

    @staticmethod
    def _cluster_groups(
        groups: dict[str, Any], clusters: list[dict[str, Any]], clusters_group: str
    ) -> dict[str, str]:
        """Each cluster's inventory group: the group whose hosts are exactly the cluster's nodes."""
        skip = {"all", "ungrouped", clusters_group}
        found = {}
        for cluster in clusters:
            nodes = {str(node) for node in cluster["nodes"]}
            for name, members in groups.items():
                if name in skip or name.startswith("cau_plan_"):
                    continue
                if {str(m) for m in members or []} == nodes:
                    found[cluster["name"]] = name
                    break
        return found

    @staticmethod
    def _cau_variables(hostvars: Any, host: str) -> dict[str, Any]:
        """The CAU variables one host sees (templated), leaving out those it does not define."""
        values: dict[str, Any] = {}
        host_vars = hostvars[host]
        for name in CLUSTER_VARIABLES:
            try:
                if name in host_vars:
                    values[name] = host_vars[name]
            except Exception as err:  # a template error in the inventory: name it, no traceback
                raise InputError(f"{host}.{name}", f"cannot be evaluated: {err}") from None
        return values
