# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module is implemented by the action plugin of the same name; this file holds its documentation.

DOCUMENTATION = r"""
module: fleet_report
short_description: Write a fleet report (JSON, CSV, Markdown) on the controller
version_added: 0.1.0
description:
  - Builds rows from each host's registered result and writes C(<kind>.json), C(<kind>.csv) and
    C(<kind>.md) into O(dest) on the controller.
  - C(virtio_audit) writes one row per host. C(cau_report) writes one row per cluster node from
    each cluster's C(cau_update_result) record (see the C(cau_update) role), including clusters
    that were not run.
  - Hosts that were unreachable or failed get a row too, with their error.
  - Runs on the controller without contacting any host; use it with C(run_once=true).
options:
  kind:
    description: Which report to write.
    type: str
    required: true
    choices: [virtio_audit, virtio_rollout, cau_report]
  dest:
    description: Directory on the controller for the report files; created when missing.
    type: path
    required: true
  hosts:
    description: The hosts to report on, in report order (usually C(ansible_play_hosts_all)).
    type: list
    elements: str
    required: true
  result_var:
    description: Name of the variable each host registered its result in.
    type: str
    required: true
  extra:
    description: Additional top-level fields recorded in the report (for example a rollout id).
    type: dict
    default: {}
  results:
    description:
      - Host name to its result, instead of reading O(result_var) from each host's variables; for a
        task that ran once for all hosts (M(winfleet.updates.virtio_probe_ecs)).
    type: dict
attributes:
  check_mode:
    support: full
    description: The report is written in check mode too and marked C(check_mode=true).
  diff_mode:
    support: none
    description: Reports are new files each run.
  platform:
    support: full
    platforms: posix
    description: Runs on the controller.
author:
  - winfleet.updates maintainers (@winfleet)
"""

EXAMPLES = r"""
- name: Write the audit report
  winfleet.updates.fleet_report:
    kind: virtio_audit
    dest: ./reports
    hosts: "{{ ansible_play_hosts_all }}"
    result_var: virtio_audit_probe
  run_once: true
"""

RETURN = r"""
summary:
  description: The report's summary (counts by status and state).
  returned: success
  type: dict
paths:
  description: Path of each written file by format (json, csv, md).
  returned: success
  type: dict
  sample: {json: ./reports/virtio_audit.json, csv: ./reports/virtio_audit.csv, md: ./reports/virtio_audit.md}
rows:
  description: Number of rows written (hosts for C(virtio_audit), cluster nodes for C(cau_report)).
  returned: success
  type: int
"""
