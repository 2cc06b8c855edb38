# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which hosts a play's pattern will run on under ``--limit`` (for internal collection use only).

Ansible skips a play whose pattern matches no host and ends with success, so a ``--limit`` that
leaves ``virtio_hosts`` empty would do nothing and say nothing. The preflight action and the
``hosts_matched`` lookup answer the question before the play starts, from the same view of the
inventory as ``ansible.builtin.inventory_hostnames``: the ``groups`` magic variable, with the
limit applied the way ansible-playbook applies it (``InventoryManager.subset``).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ansible.inventory.manager import InventoryManager


def hosts_within_limit(loader: Any, groups: Mapping[str, Sequence[str]], patterns: str | Sequence[str],
                       limit: str | None) -> list[str]:
    """The names of the hosts ``patterns`` matches within ``limit``; AnsibleError for a bad pattern."""
    manager = InventoryManager(loader, parse=False)
    for group, members in groups.items():
        manager.add_group(group)
        for host in members:
            manager.add_host(host, group=group)
    if limit:
        manager.subset(limit)
    return [host.name for host in manager.get_hosts(pattern=patterns)]
