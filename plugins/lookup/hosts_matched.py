# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: hosts_matched
short_description: A play's host patterns, refused with a clear error when they match no host within --limit
version_added: 0.1.0
description:
  - Returns the host patterns unchanged, for a play's C(hosts) keyword, after checking that they match
    at least one host of the inventory within C(--limit).
  - Ansible runs a play whose C(hosts) match nothing as a success ("skipping, no hosts matched"), and
    C(--limit) skips the controller's preflight play too, so a rollout or an audit limited to hosts
    outside its pattern would end with success having done nothing. Play keywords are templated
    before any task runs, so the error stops the playbook before any host is contacted.
options:
  _terms:
    description: Host patterns (a pattern string, or host names / patterns as a list).
    required: true
  limit:
    description: The run's C(--limit) pattern (C(ansible_limit)); empty for none.
    type: str
    default: ""
  variable:
    description: The user's variable that set the patterns, named in the error.
    type: str
    default: virtio_hosts
  shown:
    description: The patterns as the user wrote them, named in the error (default the terms), e.g. the waves
      when the terms are the host names they expanded to.
    type: str
    default: ""
  expand:
    description:
      - Return the names of the matched hosts (in inventory order, within C(--limit)) instead of the patterns.
      - For a play that runs on one of them and works on all from the controller (the ECS API audit), and for the
        list of hosts such a play reports on.
    type: bool
    default: false
notes:
  - Under C(--syntax-check), C(--list-hosts), C(--list-tasks) and C(--list-tags) nothing runs, so the patterns
    are returned without the check.
author:
  - winfleet.updates maintainers (@winfleet)
"""

EXAMPLES = r"""
- name: Audit the hosts of virtio_hosts, failing when --limit leaves none of them
  hosts: "{{ query('winfleet.updates.hosts_matched', virtio_hosts | default('all'), limit=ansible_limit | default('')) }}"
  roles:
    - winfleet.updates.virtio_audit

# One play host for work done from the controller for every matched host (no per-host task).
- name: Audit the hosts of virtio_hosts through the ECS API from one play host
  hosts: "{{ query('winfleet.updates.hosts_matched', virtio_hosts | default('all'), limit=ansible_limit | default(''), expand=true)[:1] }}"
  roles:
    - role: winfleet.updates.virtio_audit
      vars:
        virtio_audit_transport: ecs_api
        virtio_audit_ecs_hosts: "{{ virtio_hosts | default('all') }}"  # the role expands it the same way
"""

RETURN = r"""
_raw:
  description: The host patterns, unchanged; with O(expand=true) the names of the hosts they match within C(--limit).
  type: list
  elements: str
"""

from typing import Any

from ansible import context
from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase

from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._preflight import hosts_matched
from ansible_collections.winfleet.updates.plugins.plugin_utils._host_patterns import hosts_within_limit


# ansible-playbook options under which the play's keywords are templated but nothing runs (ansible-lint
# and AWX check the syntax against an empty inventory).
_NOT_A_RUN = ("syntax", "listhosts", "listtasks", "listtags")


def _patterns(terms: list[Any]) -> list[str]:
    patterns: list[str] = []
    for term in terms:
        patterns.extend(str(item) for item in (term if isinstance(term, (list, tuple)) else [term]))
    return patterns


class LookupModule(LookupBase):
    def run(self, terms: list[Any], variables: dict[str, Any] | None = None, **kwargs: Any) -> list[str]:
        self.set_options(var_options=variables, direct=kwargs)
        patterns = _patterns(terms)
        limit = self.get_option("limit") or None
        expand = self.get_option("expand")
        if any(context.CLIARGS.get(option) for option in _NOT_A_RUN) and not expand:
            return patterns  # --syntax-check and the --list-* modes run nothing: no host to require
        try:
            matched = hosts_within_limit(self._loader, (variables or {}).get("groups", {}), patterns, limit) if patterns else []
            if any(context.CLIARGS.get(option) for option in _NOT_A_RUN):
                return matched
            shown = self.get_option("shown") or ", ".join(patterns)
            hosts_matched("virtio_rollout", shown, matched, limit, self.get_option("variable"))
        except InputError as err:
            raise AnsibleError(str(err)) from None
        return matched if expand else patterns
