# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module is implemented by the action plugin of the same name; this file holds its documentation.

DOCUMENTATION = r"""
module: fleet_report
short_description: Write a fleet report (JSON, CSV, Markdown, HTML) on the controller
version_added: 0.1.0
description:
  - Builds rows from each host's registered result and writes C(<kind>.json), C(<kind>.csv),
    C(<kind>.md) and C(<kind>.html) into O(dest) on the controller. The HTML page is self-contained
    and readable offline, with counts by status that filter the host table, status colours and the run's
    parameters.
  - Values a host reported are inert in every file - a CSV cell starting with C(=), C(+), C(-), C(@), tab
    or carriage return is prefixed with a quote, Markdown escapes C(|), line breaks and HTML, the HTML page
    escapes everything.
  - C(virtio_audit) and C(virtio_rollout) merge into the existing report - rows of hosts this run did not
    write are kept (for the rollout only when the existing report has the same C(rollout_id) in O(extra)),
    and each row's C(written_at) says when it was written. The files are rewritten under a lock
    (C(.<kind>.lock) in O(dest)) and replaced atomically, so two runs writing at once never corrupt them.
  - In check mode, C(virtio_rollout) writes C(virtio_rollout_preview.*), so a preview never overwrites
    the record of a real rollout.
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
    description:
      - Additional top-level fields recorded in the report (for example C(rollout_id), C(serial),
        C(max_fail_percentage)); C(serial) and C(max_fail_percentage) are written as numbers.
    type: dict
    default: {}
  batch:
    description:
      - With C(virtio_rollout), the hosts of the play's current batch (C(ansible_play_batch) at its start),
        so that the summary's C(stopped_early) and C(last_batch) follow Ansible's stop rule.
    type: list
    elements: str
    default: []
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
    description: Reports are rewritten each run.
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
  sample:
    json: ./reports/virtio_audit.json
    csv: ./reports/virtio_audit.csv
    md: ./reports/virtio_audit.md
    html: ./reports/virtio_audit.html
rows:
  description: Number of rows written (hosts for C(virtio_audit), cluster nodes for C(cau_report)).
  returned: success
  type: int
"""
