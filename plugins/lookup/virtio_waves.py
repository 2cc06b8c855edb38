# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: virtio_waves
short_description: Cut a play's hosts into ordered waves of host patterns (the canary first, also in AWX)
version_added: 0.1.0
description:
  - Expands each wave's host pattern against the inventory (as the C(hosts) keyword of a play would),
    keeps a host in the first wave that matches it, applies C(--limit), drops empty waves, and returns
    the hosts in wave order with one batch size per wave.
  - Use the result as a play's C(hosts) (a list of host names keeps its order) and C(serial) (a list of
    batch sizes), so that each wave is one batch, in the same order from the command line and from AWX,
    which otherwise runs hosts sorted by name.
options:
  waves:
    description: Host patterns or group names, one per wave, in order; text with one pattern per line is accepted.
    type: raw
    required: true
  limit:
    description: The run's C(--limit) pattern (C(ansible_limit)); empty for none.
    type: str
    default: ""
author:
  - winfleet.updates maintainers (@winfleet)
"""

EXAMPLES = r"""
- name: Roll out the canary first, then the web servers, then everything else
  hosts: "{{ plan.hosts }}"
  serial: "{{ plan.sizes }}"
  vars:
    plan: "{{ query('winfleet.updates.virtio_waves', waves=['canary', 'web', 'all'], limit=ansible_limit | default('')) | first }}"
  roles:
    - winfleet.updates.virtio_rollout
"""

RETURN = r"""
_raw:
  description: One plan.
  type: list
  elements: dict
  contains:
    waves:
      description: The wave patterns.
      type: list
      elements: str
    hosts:
      description: The hosts in wave order.
      type: list
      elements: str
    sizes:
      description: The number of hosts of each non-empty wave (a play's C(serial) list).
      type: list
      elements: int
"""

from typing import Any

from ansible.errors import AnsibleError
from ansible.inventory.manager import InventoryManager
from ansible.plugins.lookup import LookupBase

from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._waves import normalise_waves, plan_waves


class LookupModule(LookupBase):
    def run(self, terms: list[Any], variables: dict[str, Any] | None = None, **kwargs: Any) -> list[dict[str, Any]]:
        self.set_options(var_options=variables, direct=kwargs)
        try:
            waves = normalise_waves(self.get_option("waves"))
        except InputError as err:
            raise AnsibleError(str(err)) from None
        # The same inventory view as ansible.builtin.inventory_hostnames: the groups magic variable.
        manager = InventoryManager(self._loader, parse=False)
        for group, hosts in (variables or {}).get("groups", {}).items():
            manager.add_group(group)
            for host in hosts:
                manager.add_host(host, group=group)
        limit = self.get_option("limit") or ""
        allowed = {host.name for host in manager.get_hosts(pattern=limit)} if limit else None
        wave_hosts = [[host.name for host in manager.get_hosts(pattern=wave)] for wave in waves]
        return [plan_waves(wave_hosts, waves, allowed).as_dict()]
