# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A few variables of many hosts, read without computing each host's whole variable set.

``hostvars[host]`` makes Ansible's VariableManager compute every variable of the host (all its
groups' variables, the vars plugins' files, magic variables) before one of them is read: about a
millisecond per host, so an action that runs once for 10,000 hosts (the ECS API audit) spends
most of its time there. Most fleets get ``ecs_instance_id`` and ``alicloud_region`` from the
inventory source itself (the ``winfleet.updates.ecs`` inventory sets them as host variables), so
they are read here from the inventory's host and group objects, with extra variables (``-e``)
first, as Ansible orders them
(https://docs.ansible.com/ansible/latest/playbook_guide/playbooks_variables.html#understanding-variable-precedence).
A host whose inventory lacks one of the names, or holds a template for it, is read through
``hostvars`` as before (host_vars files, play variables, templating): only that host pays for it.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from ansible.inventory.helpers import sort_groups

_TEMPLATE_MARKERS = ("{{", "{%", "{#")
_MISSING = object()


def is_plain_value(value: Any) -> bool:
    """Whether an inventory value can be used as it is: set, and not a template still to render."""
    if value is _MISSING or value is None:
        return False
    return not (isinstance(value, str) and any(marker in value for marker in _TEMPLATE_MARKERS))


def inventory_value(name: str, host_vars: Mapping[str, Any], groups_vars: Sequence[Mapping[str, Any]],
                    extra_vars: Mapping[str, Any]) -> Any:
    """The value Ansible would give ``name`` from these sources (``groups_vars`` lowest priority first)."""
    if name in extra_vars:
        return extra_vars[name]
    if name in host_vars:
        return host_vars[name]
    for group_vars in reversed(groups_vars):
        if name in group_vars:
            return group_vars[name]
    return _MISSING


def variable_reader(hostvars: Any, names: Sequence[str]) -> Callable[[str], dict[str, Any]]:
    """A function host -> {name: value or None} for ``names``, reading ``hostvars`` only when needed.

    ``hostvars`` is the ``hostvars`` task variable (Ansible's HostVars); without the inventory
    behind it (another mapping) every host is read through it.
    """
    inventory = getattr(hostvars, "_inventory", None)
    manager = getattr(hostvars, "_variable_manager", None)
    extra_vars = getattr(manager, "extra_vars", None) or {}

    def through_hostvars(host: str) -> dict[str, Any]:
        try:
            found = hostvars[host]
        except KeyError:
            return {name: None for name in names}
        return {name: found.get(name) for name in names}

    def read(host: str) -> dict[str, Any]:
        if inventory is None:
            return through_hostvars(host)
        entry = inventory.get_host(host)
        if entry is None:  # not in the inventory: no variables (HostVars would answer an undefined marker)
            return {name: None for name in names}
        groups_vars = [group.vars for group in sort_groups(entry.get_groups())]
        values = {name: inventory_value(name, entry.vars, groups_vars, extra_vars) for name in names}
        if not all(is_plain_value(value) for value in values.values()):
            return through_hostvars(host)
        return values

    return read
