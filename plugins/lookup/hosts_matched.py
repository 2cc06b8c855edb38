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
"""

RETURN = r"""
_raw:
  description: The host patterns, unchanged.
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
        if any(context.CLIARGS.get(option) for option in _NOT_A_RUN):
            return patterns  # --syntax-check and the --list-* modes run nothing: no host to require
        limit = self.get_option("limit") or None
        try:
            matched = hosts_within_limit(self._loader, (variables or {}).get("groups", {}), patterns, limit) if patterns else []
            shown = self.get_option("shown") or ", ".join(patterns)
            hosts_matched("virtio_rollout", shown, matched, limit, self.get_option("variable"))
        except InputError as err:
            raise AnsibleError(str(err)) from None
        return patterns
