# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which clusters the inventory describes, and where CAU plug-ins must go (for internal collection use only).

The inventory layout (docs/cau.md):

* every failover cluster is an inventory group whose hosts are the cluster's nodes; the cluster
  groups are children of ``cau_clusters``;
* the cluster group's variables describe the cluster: ``cau_cluster_name``, ``cau_mode``
  (``self_updating`` or ``remote_updating``), ``cau_coordinator`` (the inventory host that runs
  the CAU cmdlets; required in remote-updating mode, where it must not be a node), ``cau_plugins``,
  ``cau_third_party_plugins`` and the run settings.

:func:`plan_clusters` reads those variables (as the action plugin found them in hostvars) and
returns the clusters in inventory order plus the hosts every third-party plug-in must be
installed and registered on: **every node** for self-updating mode, **the coordinator** for
remote-updating mode ("How Cluster-Aware Updating plug-ins work",
https://learn.microsoft.com/windows-server/failover-clustering/cluster-aware-updating-plug-ins). Every mistake is an :class:`InputError` naming the cluster and
the variable, raised before any host is contacted.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from ansible_collections.winfleet.updates.plugins.module_utils._cau_plugins import (
    WINDOWS_UPDATE_PLUGIN,
    builtin_plugin,
    parse_plugins,
    validate_plugin_name,
)
from ansible_collections.winfleet.updates.plugins.module_utils._cau_run import (
    ABSOLUTE_WINDOWS_PATH,
    CAU_MODES,
    RUN_OPTIONS,
    as_bool,
    check_max_failed_nodes,
    normalise_run_options,
    normalise_schedule,
    validate_cluster_name,
)
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError

__all__ = [
    "CLUSTER_VARIABLES",
    "PSEUDO_HOST_GROUP",
    "PSEUDO_HOST_PREFIX",
    "CauPlan",
    "ClusterPlan",
    "ThirdPartyPlugin",
    "parse_third_party_plugins",
    "plan_clusters",
    "validate_plugin_binary",
]

PSEUDO_HOST_PREFIX: Final = "cau-cluster-"
"""The name the playbooks give each cluster in messages; a --limit may name a cluster by it."""
PSEUDO_HOST_GROUP: Final = "cau_plan_clusters"
"""The group the role cau_plan puts each cluster's lead (the inventory host its plays run as) in."""

_SWITCH_VARIABLES: Final = ("cau_run_plugins_serially", "cau_stop_on_plugin_failure", "cau_separate_reboots")
# Variables that describe a whole cluster: every node must see the same value (set them on the
# cluster's group), otherwise the cluster would be updated with whichever node came first.
_SHARED_VARIABLES: Final = (
    "cau_mode",
    "cau_coordinator",
    "cau_plugins",
    *_SWITCH_VARIABLES,
    "cau_third_party_plugins",
    "cau_schedule",
    "cau_force_recovery",
    *(f"cau_{name}" for name in RUN_OPTIONS),
)
CLUSTER_VARIABLES: Final = ("cau_cluster_name", *_SHARED_VARIABLES)
"""Every inventory variable :func:`plan_clusters` reads from a node."""

# Register-CauPlugin -Path takes the binary that implements the plug-in.
_BINARY_RE: Final = re.compile(ABSOLUTE_WINDOWS_PATH + r"[^\x00\r\n]*\.dll\Z", re.IGNORECASE)


@dataclass(frozen=True)
class ThirdPartyPlugin:
    """A plug-in that is not built into CAU: its name and the binary Register-CauPlugin loads."""

    name: str
    path: str
    allow_unc_path: bool = False


@dataclass(frozen=True)
class ClusterPlan:
    """One cluster as the inventory describes it, validated."""

    name: str
    mode: str
    nodes: tuple[str, ...]
    runner: str
    coordinator: str | None
    plugins: list[Any]
    plugin_names: tuple[str, ...]
    registered_plugins: tuple[str, ...]
    switches: dict[str, bool]
    run_options: dict[str, Any]
    force_recovery: bool
    schedule: dict[str, Any] | None
    third_party_plugins: tuple[ThirdPartyPlugin, ...]

    @property
    def pseudo_host(self) -> str:
        return PSEUDO_HOST_PREFIX + self.name

    def placement(self) -> tuple[str, ...]:
        """Where third-party plug-ins must be installed and registered for this cluster's mode.

        Self-updating: every node ("How Cluster-Aware Updating plug-ins work",
        https://learn.microsoft.com/windows-server/failover-clustering/cluster-aware-updating-plug-ins),
        and also the host that runs the CAU cmdlets when that is a coordinator outside the
        cluster: Invoke-CauRun / Invoke-CauScan resolve -CauPluginName on the computer they run
        on (Get-CauPlugin lists "plug-ins registered on the local computer",
        https://learn.microsoft.com/powershell/module/clusterawareupdating/get-cauplugin). Remote
        updating: the coordinator.
        """
        if self.mode == "self_updating":
            return self.nodes if self.runner in self.nodes else (*self.nodes, self.runner)
        return (self.coordinator,) if self.coordinator else ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "mode": self.mode,
            "nodes": list(self.nodes),
            "runner": self.runner,
            "coordinator": self.coordinator,
            "pseudo_host": self.pseudo_host,
            "plugins": self.plugins,
            "plugin_names": list(self.plugin_names),
            "registered_plugins": list(self.registered_plugins),
            **self.switches,
            "run_options": self.run_options,
            "force_recovery": self.force_recovery,
            "schedule": self.schedule,
            "third_party_plugins": [
                {"name": p.name, "path": p.path, "allow_unc_path": p.allow_unc_path} for p in self.third_party_plugins
            ],
            "plugin_hosts": list(self.placement()) if self.third_party_plugins else [],
        }


@dataclass
class CauPlan:
    """Clusters in inventory order and, per host, the third-party plug-ins it needs."""

    clusters: list[ClusterPlan]
    plugin_hosts: dict[str, list[ThirdPartyPlugin]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "clusters": [cluster.as_dict() for cluster in self.clusters],
            "plugin_hosts": [
                {
                    "host": host,
                    "plugins": [{"name": p.name, "path": p.path, "allow_unc_path": p.allow_unc_path} for p in plugins],
                }
                for host, plugins in self.plugin_hosts.items()
            ],
        }


def validate_plugin_binary(raw: object, field: str = "path", *, allow_unc: bool = False, allow_field: str = "") -> str:
    """Check the path handed to ``Register-CauPlugin -Path``: an absolute path to a .dll.

    A UNC path is refused unless ``allow_unc``: CAU loads the plug-in's binary into the process
    that runs the updating (``Register-CauPlugin`` registers "on the local computer", and a
    plug-in is installed on every node of a self-updating cluster, on the coordinator of a
    remote-updating one: https://learn.microsoft.com/windows-server/failover-clustering/cluster-aware-updating-plug-ins).
    From a share, whoever can write the share runs code on every cluster node, and a share that
    does not answer while a node restarts fails the run.
    """
    if not isinstance(raw, str) or not _BINARY_RE.match(raw):
        raise InputError(
            field,
            "expected the absolute path of the plug-in's .dll on the Windows host, e.g. "
            f"C:\\Program Files\\Contoso\\Contoso.CauPlugin.dll, got {raw!r}",
        )
    if raw.startswith("\\\\") and not allow_unc:
        raise InputError(
            field,
            f"{raw!r} is a UNC path: CAU would load the plug-in's code from a share on every host that runs it. "
            "Install the plug-in on each of those hosts (its publisher's installer) and give its local path, "
            f"or set {allow_field or 'allow_unc_path'}: true to register it from the share anyway",
        )
    return raw


def parse_third_party_plugins(
    raw: object, field: str = "cau_third_party_plugins"
) -> tuple[ThirdPartyPlugin, ...]:
    """Validate the declared third-party plug-ins: ``[{name, path}]``, each name once, no built-ins."""
    if raw is None:
        return ()
    if isinstance(raw, (str, bytes, Mapping)) or not isinstance(raw, Sequence):
        raise InputError(field, "expected a list of {name: ..., path: ...} (the plug-in binary to register)")
    plugins: list[ThirdPartyPlugin] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(raw):
        item_field = f"{field}[{index}]"
        if not isinstance(item, Mapping):
            raise InputError(item_field, "expected a mapping with name and path")
        unknown = sorted(str(key) for key in item if key not in ("name", "path", "allow_unc_path"))
        if unknown:
            raise InputError(item_field, f"unknown key(s) {', '.join(unknown)}; valid keys: name, path, allow_unc_path")
        name = validate_plugin_name(item.get("name"), f"{item_field}.name")
        if builtin_plugin(name):
            raise InputError(
                f"{item_field}.name",
                f"{builtin_plugin(name)} is built into CAU and always registered; list only other plug-ins here",
            )
        if name.lower() in seen:
            raise InputError(
                f"{item_field}.name", f"{name} is already declared at {field}[{seen[name.lower()]}]"
            )
        seen[name.lower()] = index
        allow_unc = item.get("allow_unc_path", False)
        if not isinstance(allow_unc, bool):
            raise InputError(f"{item_field}.allow_unc_path", f"expected true or false, got {allow_unc!r}")
        path = validate_plugin_binary(
            item.get("path"), f"{item_field}.path", allow_unc=allow_unc, allow_field=f"{item_field}.allow_unc_path"
        )
        plugins.append(ThirdPartyPlugin(name, path, allow_unc))
    return tuple(plugins)


def _shared_value(
    cluster: str, nodes: Sequence[str], variables: Mapping[str, Mapping[str, Any]], name: str
) -> Any:
    """The value every node of a cluster sees for ``name``; nodes that disagree are an error."""
    values = [(node, variables[node].get(name)) for node in nodes]
    first_node, first = values[0]
    for node, value in values[1:]:
        if value != first:
            raise InputError(
                f"{cluster}.{name}",
                f"the nodes of cluster {cluster} disagree ({first_node}: {first!r}, {node}: {value!r}); "
                "set cluster variables on the cluster's inventory group, not on single hosts",
            )
    return first


def _flag(value: object, field: str) -> bool:
    """An optional boolean variable: unset means false."""
    return False if value is None else as_bool(value, field)


def _cluster_plan(
    cluster: str,
    nodes: tuple[str, ...],
    variables: Mapping[str, Mapping[str, Any]],
    inventory_hosts: Collection[str],
) -> ClusterPlan:
    """Validate one cluster's variables and decide its runner and plug-in placement."""
    shared = {name: _shared_value(cluster, nodes, variables, name) for name in _SHARED_VARIABLES}
    mode = shared["cau_mode"]
    if mode not in CAU_MODES:
        raise InputError(
            f"{cluster}.cau_mode",
            f"expected {' or '.join(CAU_MODES)} (self_updating: the CAU clustered role updates the cluster; "
            f"remote_updating: an update coordinator outside the cluster does), got {mode!r}",
        )
    coordinator = shared["cau_coordinator"]
    if coordinator is not None and (not isinstance(coordinator, str) or coordinator not in inventory_hosts):
        raise InputError(
            f"{cluster}.cau_coordinator",
            f"{coordinator!r} is not a host of the inventory; name the inventory host that runs the CAU cmdlets",
        )
    if mode == "remote_updating":
        if coordinator is None:
            raise InputError(
                f"{cluster}.cau_coordinator",
                "is required in remote_updating mode: the inventory host (outside the cluster) that coordinates the run",
            )
        if coordinator in nodes:
            raise InputError(
                f"{cluster}.cau_coordinator",
                f"{coordinator} is a node of cluster {cluster}; in remote_updating mode the update coordinator must be "
                "a computer outside the cluster (it stays up while every node restarts). Name another host, or use "
                "cau_mode: self_updating",
            )
    third_party = parse_third_party_plugins(
        shared["cau_third_party_plugins"], f"{cluster}.cau_third_party_plugins"
    )
    plugins = (
        shared["cau_plugins"] if shared["cau_plugins"] is not None else [{"name": WINDOWS_UPDATE_PLUGIN}]
    )
    switches = {name[len("cau_") :]: _flag(shared[name], f"{cluster}.{name}") for name in _SWITCH_VARIABLES}
    try:
        plugin_set = parse_plugins(
            plugins, registered=[p.name for p in third_party], field="cau_plugins", **switches
        )
    except InputError as err:
        prefix = "cau_" if err.field in switches else ""
        raise InputError(f"{cluster}.{prefix}{err.field}", err.message) from None
    run_options = normalise_run_options(
        {name: shared[f"cau_{name}"] for name in RUN_OPTIONS}, prefix=f"{cluster}.cau_"
    )
    check_max_failed_nodes(run_options, len(nodes), f"{cluster}.cau_max_failed_nodes")
    schedule = normalise_schedule(shared["cau_schedule"], field=f"{cluster}.cau_schedule")
    if schedule is not None and mode != "self_updating":
        raise InputError(
            f"{cluster}.cau_schedule",
            "only applies to self_updating clusters (the CAU clustered role runs on that schedule); "
            "remote_updating clusters are updated when cau_update runs",
        )
    return ClusterPlan(
        name=cluster,
        mode=mode,
        nodes=nodes,
        runner=coordinator or nodes[0],
        coordinator=coordinator,
        plugins=list(plugins),
        plugin_names=tuple(plugin_set.names),
        registered_plugins=tuple(p.name for p in third_party),
        switches=switches,
        run_options=run_options,
        force_recovery=_flag(shared["cau_force_recovery"], f"{cluster}.cau_force_recovery"),
        schedule=schedule,
        third_party_plugins=third_party,
    )


def _place(clusters: Sequence[ClusterPlan], host_order: Sequence[str]) -> dict[str, list[ThirdPartyPlugin]]:
    """Merge every cluster's placement per host; one name must mean one binary on a host."""
    placed: dict[str, dict[str, tuple[ThirdPartyPlugin, str]]] = {}
    for cluster in clusters:
        for host in cluster.placement():
            for plugin in cluster.third_party_plugins:
                entry = placed.setdefault(host, {})
                known = entry.get(plugin.name.lower())
                if known is not None and known[0].path.lower() != plugin.path.lower():
                    raise InputError(
                        f"{cluster.name}.cau_third_party_plugins",
                        f"{plugin.name} must be registered on {host} from {plugin.path}, but cluster {known[1]} "
                        f"registers it from {known[0].path}; one host can register a plug-in from one binary",
                    )
                entry.setdefault(plugin.name.lower(), (plugin, cluster.name))
    order = {host: index for index, host in enumerate(host_order)}
    return {
        host: [plugin for plugin, _cluster in placed[host].values()]
        for host in sorted(placed, key=lambda h: order.get(h, len(order)))
    }


def _targets(targets: object, known: Mapping[str, str]) -> set[str]:
    """The lower-cased names of the clusters asked for; an unknown one is an error."""
    if isinstance(targets, (str, bytes)) or not isinstance(targets, Sequence):
        raise InputError("clusters", "expected a list of cluster names")
    wanted = set()
    for index, name in enumerate(targets):
        if not isinstance(name, str) or name.lower() not in known:
            raise InputError(
                f"clusters[{index}]",
                f"{name!r} is not a cluster of the inventory; known clusters: {', '.join(known.values())}",
            )
        wanted.add(name.lower())
    return wanted


def plan_clusters(
    cluster_hosts: Sequence[str],
    variables: Mapping[str, Mapping[str, Any]],
    inventory_hosts: Sequence[str],
    targets: Sequence[str] = (),
    *,
    group: str = "cau_clusters",
) -> CauPlan:
    """Group the hosts of ``cau_clusters`` into clusters, validate them, and place plug-ins.

    ``cluster_hosts`` is the group's hosts in inventory order; ``variables`` maps each of them to
    the CAU variables it sees. ``targets`` names the clusters to plan (case-insensitively, like
    Windows); empty plans all. A target the inventory does not know is an error listing the known
    clusters. Clusters come out in the order their first node appears in the inventory.
    """
    if not cluster_hosts:
        raise InputError(
            group,
            f"the inventory group has no hosts; make each failover cluster a child group of {group} "
            "whose hosts are its nodes (docs/cau.md)",
        )
    members: dict[str, list[str]] = {}
    spelled: dict[str, str] = {}
    for host in cluster_hosts:
        raw = variables.get(host, {}).get("cau_cluster_name")
        if raw is None:
            raise InputError(
                f"{host}.cau_cluster_name",
                f"is not set; every host of the {group} group is a cluster node and needs its cluster's name "
                "(set cau_cluster_name on the cluster's group)",
            )
        name = validate_cluster_name(raw, f"{host}.cau_cluster_name")
        spelled.setdefault(name.lower(), name)
        members.setdefault(name.lower(), [])
        if host not in members[name.lower()]:
            members[name.lower()].append(host)
    wanted = _targets(targets, spelled)
    clusters = []
    inventory = set(inventory_hosts)
    for key, nodes in members.items():
        if wanted and key not in wanted:
            continue
        plan = _cluster_plan(spelled[key], tuple(nodes), variables, inventory)
        if plan.pseudo_host in inventory:
            raise InputError(
                f"{plan.name}.cau_cluster_name",
                f"the playbooks name this cluster {plan.pseudo_host} (in --limit and messages), which is already "
                "an inventory host; rename that host",
            )
        clusters.append(plan)
    return CauPlan(clusters, _place(clusters, inventory_hosts))
