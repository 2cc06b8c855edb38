# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which clusters an ``ansible-playbook --limit`` selects, and which host runs each (internal use only).

CAU updates a cluster as a whole, so a limit is mapped to whole clusters. Ansible resolves a limit
element that names an inventory host to that host alone (``InventoryManager._evaluate_patterns``),
and ``ansible-playbook`` refuses a limit that matches no inventory host before any play runs
(``CLI.get_host_list``): a host added during the run with ``add_host`` is never inside a limit that
did not name one of its groups. So each cluster's play runs on its **lead**, a real inventory host
of the cluster that is inside the limit: the first of its nodes inside the limit, else its
coordinator. The play recap then names an inventory host, and AWX's "relaunch on failed hosts"
(a limit listing the failed inventory hosts) selects the same clusters again.

From the hosts the limit selected in the plan play (``ansible_play_hosts_all``), the limit's
elements and the inventory's groups, :func:`clusters_for_limit` decides:

* a cluster is selected when the limit names its group, a group above it (``cau_clusters``,
  ``all``), one of its nodes, or its name as the playbooks print it (``cau-cluster-<name>``);
  a coordinator named on its own selects the clusters it coordinates (when no node or group of
  them is in the limit), and the message says which;
* a limit that names a cluster but takes some of its nodes out again (``hvcl01:!hv02``,
  ``hvcl01:&hv01``, ``all:!hv02``) would split it: refused, naming the cluster;
* a selected cluster with no inventory host inside the limit, or two clusters that could only run
  on the same shared coordinator, cannot run: refused, with the limit to use;
* ``cau_prepare`` registers plug-ins on the coordinator of a remote-updating cluster, so there the
  coordinator must be in the limit too (``require_coordinators``).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError

__all__ = ["LimitedClusters", "clusters_for_limit", "lead_without_limit", "limit_elements"]


@dataclass(frozen=True)
class LimitedClusters:
    """The clusters a limit selects, the inventory host each runs on (its lead) and what to say."""

    names: tuple[str, ...]
    leads: dict[str, str]
    message: str


def limit_elements(limit: str) -> list[str]:
    """The elements of a host pattern as Ansible splits them (commas, or colons outside IPv6)."""
    return [part.strip() for part in re.split(r"[,:]", limit) if part.strip()]


def lead_without_limit(cluster: Mapping[str, Any]) -> str:
    """Without a limit a cluster runs on its first node (nodes are in inventory order)."""
    return str(cluster["nodes"][0])


def _named(element: str, name: str) -> bool:
    """Whether one limit element (a name, a glob or a ~regex) matches a group or host name."""
    if element.startswith("~"):
        return re.match(element[1:], name) is not None
    return fnmatch.fnmatch(name.lower(), element.lower())


def _covered(host: str, positive: Sequence[str], groups: Mapping[str, Sequence[str]]) -> bool:
    """Whether a positive element of the limit names the host, itself or through a group it is in."""
    lowered = host.lower()
    for element in positive:
        if element == "all" or _named(element, host):
            return True
        if any(_named(element, group) and lowered in {str(m).lower() for m in members or []}
               for group, members in groups.items()):
            return True
    return False


def _split_error(limit: str, name: str, nodes: list[str], inside: list[str], group: str) -> InputError:
    outside = [node for node in nodes if node not in inside]
    return InputError(
        "--limit",
        f"{limit!r} would split cluster {name}: {', '.join(inside) or 'none'} in, {', '.join(outside)} out. "
        f"CAU updates a cluster as a whole; do not exclude its nodes, use --limit {group}",
    )


def clusters_for_limit(
    limit: str,
    limited_hosts: Sequence[str],
    clusters: Sequence[Mapping[str, Any]],
    cluster_groups: Mapping[str, str],
    clusters_group: str,
    groups: Mapping[str, Sequence[str]] | None = None,
    *,
    require_coordinators: bool = False,
) -> LimitedClusters:
    """Map ``--limit`` to whole clusters and their leads, or refuse a limit that cannot (``InputError``).

    ``clusters`` are the planned clusters (``name``, ``nodes``, ``coordinator``, ``pseudo_host``,
    ``third_party_plugins``); ``cluster_groups`` maps a cluster's name to its inventory group;
    ``limited_hosts`` are the hosts the limit selected in the plan play; ``groups`` the inventory's
    groups and their hosts (to tell a node the limit names and then excludes from one it never named).
    """
    groups = {**(groups or {}), **{g: [] for g in cluster_groups.values() if g not in (groups or {})}}
    elements = limit_elements(limit)
    positive = [e for e in elements if not e.startswith(("!", "&"))]
    limited = {host.lower() for host in limited_hosts}
    chosen: dict[str, tuple[str, str]] = {}  # cluster -> (lead, why)
    by_coordinator: dict[str, list[Mapping[str, Any]]] = {}
    for cluster in clusters:
        name = str(cluster["name"])
        group = cluster_groups.get(name, name)
        nodes = [str(node) for node in cluster["nodes"]]
        inside = [node for node in nodes if node.lower() in limited]
        named = any(_named(e, group) or _named(e, clusters_group) or e == "all" for e in positive) or any(
            _named(e, str(cluster.get("pseudo_host") or "")) for e in positive
        )
        if not inside and not named:
            coordinator = str(cluster.get("coordinator") or "")
            if coordinator and coordinator.lower() in limited and any(_named(e, coordinator) for e in positive):
                by_coordinator.setdefault(coordinator, []).append(cluster)
            continue
        if any(_covered(node, positive, groups) and node not in inside for node in nodes):
            raise _split_error(limit, name, nodes, inside, group)
        chosen[name] = (inside[0], "") if inside else ("", group)
    selected_coordinators = {str(c.get("coordinator") or "").lower() for c in clusters if str(c["name"]) in chosen}
    for coordinator, coordinated in by_coordinator.items():
        if coordinator.lower() in selected_coordinators:
            continue  # e.g. --limit hvcl01,coord01: the coordinator comes with hvcl01 (cau_prepare)
        if len(coordinated) > 1:
            names = [str(c["name"]) for c in coordinated]
            raise InputError(
                "--limit",
                f"{limit!r} selects clusters {', '.join(names)} only through their shared coordinator {coordinator}; "
                f"each cluster runs on one inventory host of its own inside the limit. Name the clusters: --limit "
                + ",".join(cluster_groups.get(n, n) for n in names),
            )
        chosen[str(coordinated[0]["name"])] = (coordinator, "")
    for cluster in clusters:
        name = str(cluster["name"])
        if name in chosen and not chosen[name][0]:
            coordinator = str(cluster.get("coordinator") or "")
            if coordinator and coordinator.lower() in limited and coordinator.lower() not in {
                lead.lower() for lead, _why in chosen.values()
            }:
                chosen[name] = (coordinator, "")
                continue
            raise InputError(
                "--limit",
                f"{limit!r} names cluster {name} but none of its inventory hosts is inside the limit, and Ansible "
                f"only runs inventory hosts; use --limit {chosen[name][1]}",
            )
    if not chosen:
        raise InputError(
            "--limit",
            f"{limit!r} selects no cluster of the {clusters_group} group; name a cluster's group or a node, e.g. "
            f"--limit {next(iter(cluster_groups.values()), clusters_group)}",
        )
    lines: list[str] = []
    selected: list[str] = []
    for cluster in clusters:
        name = str(cluster["name"])
        if name not in chosen:
            continue
        coordinator = cluster.get("coordinator")
        if (
            require_coordinators
            and coordinator
            and cluster.get("third_party_plugins")
            and str(coordinator).lower() not in limited
        ):
            group = cluster_groups.get(name, name)
            raise InputError(
                "--limit",
                f"{limit!r} leaves out {coordinator}, the coordinator of cluster {name}, where its third-party "
                f"plug-ins are registered; use --limit {group},{coordinator}",
            )
        selected.append(name)
        where = f", coordinator {coordinator}" if coordinator else ""
        nodes = ", ".join(str(node) for node in cluster["nodes"])
        lines.append(f"{name} (group {cluster_groups.get(name, name)}: nodes {nodes}{where}; play host {chosen[name][0]})")
    return LimitedClusters(
        tuple(selected),
        {name: chosen[name][0] for name in selected},
        f"--limit {limit}: updating whole cluster(s) " + "; ".join(lines),
    )
