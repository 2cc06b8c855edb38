# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module is implemented by the action plugin of the same name; this file holds its documentation.

DOCUMENTATION = r"""
module: preflight
short_description: Check every option of a rollout, audit or CAU update before any host is contacted
version_added: 0.1.0
description:
  - Checks the variables a user set for the shipped playbook O(kind) (for example C(virtio_serial),
    C(virtio_reboot_timeout), C(virtio_required_capabilities)) and fails once, naming every wrong
    variable and what would be valid, before the first host is contacted.
  - For C(virtio_rollout) it also checks that the file named by C(virtio_script_src) or
    C(virtio_package_src) exists on the controller.
  - With O(hosts_pattern), fails when the pattern matches no host of the inventory within C(--limit).
  - Runs on the controller without contacting any host; the shipped playbooks run it in a first play
    on C(localhost). Use it the same way in your own playbooks.
options:
  kind:
    description: Which playbook's options O(variables) holds.
    type: str
    required: true
    choices: [virtio_rollout, virtio_audit, cau_update]
  variables:
    description:
      - The variables the user set, by their playbook names (C(virtio_serial), C(cau_poll_interval), ...).
        Variables not given keep their documented defaults and are not checked.
    type: dict
    default: {}
  names:
    description:
      - "Show a variable under another name in messages, for example C({virtio_serial: virtio_rollout_serial})
        when your play passes the role's variables."
    type: dict
    default: {}
  hosts_pattern:
    description: The host pattern of the play that follows; at least one host must match within C(--limit).
    type: str
attributes:
  check_mode:
    support: full
    description: Checks the same way in check mode; it never changes anything.
  diff_mode:
    support: none
    description: Nothing to compare.
  platform:
    support: full
    platforms: posix
    description: Runs on the controller.
author:
  - winfleet.updates maintainers (@winfleet)
"""

EXAMPLES = r"""
# In a first play of your playbook with hosts: localhost, so that a mistake stops it before any host.
- name: Check the rollout's options before any host is contacted
  winfleet.updates.preflight:
    kind: virtio_rollout
    variables:
      virtio_serial: "{{ virtio_serial | default(1) }}"
      virtio_reboot_timeout: "{{ virtio_reboot_timeout | default(900) }}"
      virtio_script_src: "{{ virtio_script_src | default('') }}"
    hosts_pattern: "{{ virtio_hosts | default('all') }}"
"""

RETURN = r"""
hosts:
  description: The hosts O(hosts_pattern) matched within C(--limit) (empty without O(hosts_pattern)).
  returned: success
  type: list
  elements: str
checked:
  description: The names of the variables that were checked.
  returned: success
  type: list
  elements: str
"""
