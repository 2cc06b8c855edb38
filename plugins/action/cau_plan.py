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
    }
    _requires_connection = False

    def run_validated(self, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        groups = task_vars.get("groups") or {}
        group = args["clusters_group"]
        cluster_hosts = list(groups.get(group) or [])
        hostvars = task_vars.get("hostvars") or {}
        variables = {host: self._cau_variables(hostvars, host) for host in cluster_hosts}
        # In-memory cluster hosts an earlier plan of this run added are not inventory hosts.
        own = set(groups.get(PSEUDO_HOST_GROUP) or [])
        inventory = [host for host in groups.get("all") or [] if host not in own]
        plan = plan_clusters(cluster_hosts, variables, inventory, args["clusters"], group=group)
        return {"changed": False, **plan.as_dict()}

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
