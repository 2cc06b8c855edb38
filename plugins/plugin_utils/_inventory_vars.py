# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A few variables of many hosts, read without computing each host's whole variable set.

``hostvars[host]`` makes Ansible's VariableManager compute every variable of the host (all its
groups' variables, the vars plugins' files, magic variables) before one of them is read: about a
millisecond per host, so an action that runs once for 10,000 hosts (the ECS API audit) spends
most of its time there. ``ecs_instance_id`` and ``alicloud_region`` are read here from the same
sources, in the same order, as the VariableManager does for a host
(https://docs.ansible.com/ansible/latest/playbook_guide/playbooks_variables.html#understanding-variable-precedence):

* the inventory's ``all`` group and the host's other groups (``sort_groups`` order), their
  ``group_vars/`` files next to the inventory sources and next to the playbook (the vars plugins,
  ``host_group_vars`` by default, asked through ``ansible.vars.plugins`` as the VariableManager
  asks them: once per group here, not once per host), merged in the order of the
  ``VARIABLE_PRECEDENCE`` setting;
* the host's own inventory variables, then its ``host_vars/`` files (inventory, then playbook);
* ``set_fact`` results of this run, then extra variables (``-e``), which win over everything.

Only the names asked for are kept. A host whose value is missing, or a template still to render,
is read through ``hostvars`` as before (play and role variables, templating): only that host pays.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping, Sequence

from ansible import constants as C
from ansible.inventory.helpers import sort_groups
from ansible.vars.plugins import get_vars_from_inventory_sources, get_vars_from_path

_TEMPLATE_MARKERS = ("{{", "{%", "{#")
_MISSING = object()
# The VariableManager's default order of the group layers (ansible.cfg VARIABLE_PRECEDENCE).
_GROUP_LAYERS = ("all_inventory", "groups_inventory", "all_plugins_inventory", "all_plugins_play",
                 "groups_plugins_inventory", "groups_plugins_play")


def is_plain_value(value: Any) -> bool:
    """Whether an inventory value can be used as it is: set, and not a template still to render."""
    if value is _MISSING or value is None:
        return False
    return not (isinstance(value, str) and any(marker in value for marker in _TEMPLATE_MARKERS))


def layered_value(name: str, layers: Sequence[Mapping[str, Any]]) -> Any:
    """The value Ansible would give ``name`` from ``layers`` (lowest precedence first): the last that sets it."""
    for layer in reversed(layers):
        if name in layer:
            return layer[name]
    return _MISSING


def group_layer_order(precedence: Iterable[str]) -> list[str]:
    """The group layers of a ``VARIABLE_PRECEDENCE`` setting that the VariableManager honours, in its order."""
    allowed = set(_GROUP_LAYERS) | {"plugins_by_groups"}
    return [entry for entry in precedence if entry in allowed]


class _Sources:
    """The inventory objects and vars plugins behind Ansible's HostVars, with per-group answers cached."""

    def __init__(self, hostvars: Any, names: Sequence[str]) -> None:
        self.inventory = hostvars._inventory
        self.names = frozenset(names)
        manager = hostvars._variable_manager
        self.loader = hostvars._loader
        self.extra_vars = manager.extra_vars or {}
        self.set_facts = getattr(manager, "_nonpersistent_fact_cache", {})
        self.inventory_sources = list(getattr(self.inventory, "_sources", []) or [])
        # The VariableManager's play-adjacent directory for a host without a task (what HostVars reads).
        self.basedirs = [self.loader.get_basedir()] if getattr(manager, "safe_basedir", False) else []
        self.order = group_layer_order(C.VARIABLE_PRECEDENCE)
        self._groups: dict[str, dict[str, Mapping[str, Any]]] = {}

    def _kept(self, variables: Mapping[str, Any]) -> dict[str, Any]:
        return {name: variables[name] for name in self.names if name in variables}

    def _plugins_inventory(self, entity: Any) -> dict[str, Any]:
        return self._kept(get_vars_from_inventory_sources(self.loader, self.inventory_sources, [entity], "task"))

    def _plugins_play(self, entity: Any) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for path in self.basedirs:
            found.update(self._kept(get_vars_from_path(self.loader, path, [entity], "task")))
        return found

    def group(self, group: Any) -> dict[str, Mapping[str, Any]]:
        """One group's layers (its inventory variables, its vars plugins' files): computed once per group."""
        cached = self._groups.get(group.name)
        if cached is None:
            cached = {"inventory": self._kept(group.vars), "plugins_inventory": self._plugins_inventory(group),
                      "plugins_play": self._plugins_play(group)}
            self._groups[group.name] = cached
        return cached

    def layers(self, entry: Any) -> list[Mapping[str, Any]]:
        """Every layer of one host, lowest precedence first, as VariableManager.get_vars merges them."""
        groups = entry.get_groups()
        everyone = self.group(self.inventory.groups["all"])
        others = [self.group(g) for g in sort_groups([g for g in groups if g.name != "all"])]
        by_entry = {
            "all_inventory": [everyone["inventory"]],
            "all_plugins_inventory": [everyone["plugins_inventory"]],
            "all_plugins_play": [everyone["plugins_play"]],
            "groups_inventory": [g["inventory"] for g in others],
            "groups_plugins_inventory": [g["plugins_inventory"] for g in others],
            "groups_plugins_play": [g["plugins_play"] for g in others],
            "plugins_by_groups": [layer for g in others for layer in (g["plugins_inventory"], g["plugins_play"])],
        }
        layers: list[Mapping[str, Any]] = [layer for name in self.order for layer in by_entry[name]]
        layers += [self._kept(entry.vars), self._plugins_inventory(entry), self._plugins_play(entry),
                   self._kept(self.set_facts.get(entry.name) or {}), self.extra_vars]
        return layers


def variable_reader(hostvars: Any, names: Sequence[str]) -> Callable[[str], dict[str, Any]]:
    """A function host -> {name: value or None} for ``names``, reading ``hostvars`` only when needed.

    ``hostvars`` is the ``hostvars`` task variable (Ansible's HostVars); without the inventory
    behind it (another mapping) every host is read through it.
    """
    sources = _Sources(hostvars, names) if getattr(hostvars, "_inventory", None) is not None else None

    def through_hostvars(host: str) -> dict[str, Any]:
        try:
            found = hostvars[host]
        except KeyError:
            return {name: None for name in names}
        return {name: found.get(name) for name in names}

    def read(host: str) -> dict[str, Any]:
        if sources is None:
            return through_hostvars(host)
        entry = sources.inventory.get_host(host)
        if entry is None:  # not in the inventory: no variables (HostVars would answer an undefined marker)
            return {name: None for name in names}
        layers = sources.layers(entry)
        values = {name: layered_value(name, layers) for name in names}
        if not all(is_plain_value(value) for value in values.values()):
            return through_hostvars(host)
        return values

    return read
