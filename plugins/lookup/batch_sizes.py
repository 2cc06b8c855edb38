# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: batch_sizes
short_description: A play's serial batch sizes, refused with an error naming the user's variable when invalid
version_added: 0.1.0
description:
  - Returns the batch sizes for a play's C(serial) keyword, as Ansible reads them (a whole number of
    hosts of at least 1, a whole percentage such as C(25%), or a list of those), or fails with a message
    naming the user's variable.
  - Play keywords are templated before any task of the play runs, so a task cannot check them when
    C(--limit) skipped the controller's preflight play; without this lookup a non-numeric C(serial)
    ends the run with Ansible's C(Unexpected Exception). 0 or less, which Ansible reads as "every host
    in one batch" (so a failed host could not stop the others), is refused too.
options:
  _terms:
    description: The batch size, or a list of batch sizes.
    required: true
  variable:
    description: The user's variable that set the batch sizes, named in the error.
    type: str
    default: virtio_serial
author:
  - winfleet.updates maintainers (@winfleet)
"""

EXAMPLES = r"""
- name: Roll out in batches of virtio_serial hosts
  hosts: all
  serial: "{{ lookup('winfleet.updates.batch_sizes', virtio_serial | default(1)) }}"
  roles:
    - winfleet.updates.virtio_rollout
"""

RETURN = r"""
_raw:
  description: One value, the batch size (an integer or a percentage string) or a list of them.
  type: list
  elements: raw
"""

from typing import Any

from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase

from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._preflight import check_serial


class LookupModule(LookupBase):
    def run(self, terms: list[Any], variables: dict[str, Any] | None = None, **kwargs: Any) -> list[Any]:
        self.set_options(var_options=variables, direct=kwargs)
        value = terms[0] if len(terms) == 1 else list(terms)
        try:
            return [check_serial(self.get_option("variable"), value)]
        except InputError as err:
            raise AnsibleError(f"{err} (checked in the play's serial keyword, before any task)") from None
