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

from ansible_collections.winfleet.updates.plugins.module_utils._cau_limit import clusters_for_limit
from ansible_collections.winfleet.updates.plugins.module_utils._cau_placement import (
    CLUSTER_VARIABLES,
    PSEUDO_HOST_GROUP,
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
        # In-memory cluster hosts an earlier plan of this run added are not inventory hosts (with
        # a limit they also sit in their cluster's group).
        own = set(groups.get(PSEUDO_HOST_GROUP) or [])
        cluster_hosts = [host for host in groups.get(group) or [] if host not in own]
        hostvars = task_vars.get("hostvars") or {}
        variables = {host: self._cau_variables(hostvars, host) for host in cluster_hosts}
        inventory = [host for host in groups.get("all") or [] if host not in own]
        plan = plan_clusters(cluster_hosts, variables, inventory, args["clusters"], group=group)
        result: dict[str, Any] = {"changed": False, **plan.as_dict(), "limit_groups": {}, "limit_message": None}
        if args["limit"]:
            clusters = result["clusters"]
            limited = clusters_for_limit(
                args["limit"],
                args["limited_hosts"],
                clusters,
                self._cluster_groups(groups, clusters, group, own),
                group,
                require_coordinators=args["limit_needs_coordinators"],
            )
            plan = plan_clusters(cluster_hosts, variables, inventory, list(limited.names), group=group)
            result.update(plan.as_dict(), limit_groups=limited.groups, limit_message=limited.message)
        return result

    @staticmethod
    def _cluster_groups(
        groups: dict[str, Any], clusters: list[dict[str, Any]], clusters_group: str, own: set[str]
    ) -> dict[str, str]:
        """Each cluster's inventory group: the group whose hosts are exactly the cluster's nodes."""
        skip = {"all", "ungrouped", clusters_group}
        found = {}
        for cluster in clusters:
            nodes = {str(node) for node in cluster["nodes"]}
            for name, members in groups.items():
                if name in skip or name.startswith("cau_plan_"):
                    continue
                if {str(m) for m in members or []} - own == nodes:
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
