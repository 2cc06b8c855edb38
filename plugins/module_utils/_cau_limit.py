# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which clusters an ``ansible-playbook --limit`` selects (for internal collection use only).

The CAU playbooks follow each cluster as an in-memory host (``cau-cluster-<name>``) added by the
plan play. Ansible applies ``--limit`` to every play, and resolves a limit element that names an
inventory host to that host alone (``InventoryManager._evaluate_patterns``), so an in-memory host
is only reached when the limit names a *group* it belongs to. The plan therefore adds each
cluster's in-memory host to the cluster's inventory group, and this module decides, from the hosts
the limit selected in the plan play (``ansible_play_hosts_all``) and the limit's elements:

* a cluster whose group the limit names (``--limit hvcl01``, ``--limit cau_clusters``, ``all``)
  is updated whole, and the plan says so;
* a limit that names some but not all nodes of a cluster would split it: refused, naming the
  cluster and the limit to use;
* a limit that names a node, a coordinator or an in-memory host but not the cluster's group would
  reach no in-memory host: refused with the same advice (``--limit <cluster group>``);
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

__all__ = ["LimitedClusters", "clusters_for_limit", "limit_elements"]


@dataclass(frozen=True)
class LimitedClusters:
    """The clusters a limit selects, their groups (where the in-memory hosts go) and what to say."""

    names: tuple[str, ...]
    groups: dict[str, str]
    message: str


def limit_elements(limit: str) -> list[str]:
    """The elements of a host pattern as Ansible splits them (commas, or colons outside IPv6)."""
    return [part.strip() for part in re.split(r"[,:]", limit) if part.strip()]


def _named(element: str, name: str) -> bool:
    """Whether one limit element (a name, a glob or a ~regex) matches a group or host name."""
    if element.startswith("~"):
        return re.match(element[1:], name) is not None
    return fnmatch.fnmatch(name.lower(), element.lower())


def clusters_for_limit(
    limit: str,
    limited_hosts: Sequence[str],
    clusters: Sequence[Mapping[str, Any]],
    cluster_groups: Mapping[str, str],
    clusters_group: str,
    *,
    require_coordinators: bool = False,
) -> LimitedClusters:
    """Map ``--limit`` to whole clusters, or refuse a limit that would split one (``InputError``).

    ``clusters`` are the planned clusters (``name``, ``nodes``, ``coordinator``, ``mode``,
    ``pseudo_host``, ``third_party_plugins``); ``cluster_groups`` maps a cluster's name to its
    inventory group; ``limited_hosts`` are the hosts the limit selected in the plan play.
    """
    elements = limit_elements(limit)
    positive = [e for e in elements if not e.startswith(("!", "&"))]
    limited = {host.lower() for host in limited_hosts}
    selected: list[str] = []
    lines: list[str] = []
    for cluster in clusters:
        name = str(cluster["name"])
        group = cluster_groups.get(name, name)
        nodes = [str(node) for node in cluster["nodes"]]
        inside = [node for node in nodes if node.lower() in limited]
        by_group = any(_named(e, group) or _named(e, clusters_group) or e == "all" for e in positive)
        by_name = [
            e
            for e in positive
            if any(_named(e, candidate) for candidate in (*nodes, cluster.get("coordinator") or "", cluster["pseudo_host"]))
        ]
        if not inside and not by_name:
            continue
        if inside and len(inside) != len(nodes):
            outside = [node for node in nodes if node not in inside]
            raise InputError(
                "--limit",
                f"{limit!r} would split cluster {name}: {', '.join(inside) or 'none'} in, "
                f"{', '.join(outside)} out. CAU updates a cluster as a whole; use --limit {group}",
            )
        if not by_group or not inside:
            raise InputError(
                "--limit",
                f"{limit!r} names {', '.join(by_name or inside)} of cluster {name} but not its group; Ansible "
                f"then reaches no in-memory cluster host and nothing would run. Use --limit {group}",
            )
        coordinator = cluster.get("coordinator")
        if (
            require_coordinators
            and coordinator
            and cluster.get("third_party_plugins")
            and str(coordinator).lower() not in limited
        ):
            raise InputError(
                "--limit",
                f"{limit!r} leaves out {coordinator}, the coordinator of cluster {name}, where its third-party "
                f"plug-ins are registered; use --limit {group},{coordinator}",
            )
        selected.append(name)
        where = f", coordinator {coordinator}" if coordinator else ""
        lines.append(f"{name} (group {group}: nodes {', '.join(nodes)}{where})")
    if not selected:
        raise InputError(
            "--limit",
            f"{limit!r} selects no cluster of the {clusters_group} group; name a cluster's group, e.g. "
            f"--limit {next(iter(cluster_groups.values()), clusters_group)}",
        )
    return LimitedClusters(
        tuple(selected),
        {name: cluster_groups.get(name, name) for name in selected},
        f"--limit {limit}: updating whole cluster(s) " + "; ".join(lines),
    )
