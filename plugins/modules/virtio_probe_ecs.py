# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module is implemented by the action plugin of the same name; this file holds its documentation.

DOCUMENTATION = r"""
module: virtio_probe_ecs
short_description: Probe the virtio driver of many ECS instances through Cloud Assistant, without WinRM
version_added: 0.2.0
description:
  - Reads the same facts as M(winfleet.updates.virtio_probe) (OS version, the version of every virtio
    driver file) on ECS instances through the Cloud Assistant API, and judges them with the same code,
    so the results land in the same audit report.
  - Groups the hosts by region and sends one C(RunCommand) per batch of at most O(batch_size) instances (100 at most, the API's
    limit), then reads C(DescribeInvocationResults) (paged) until each instance's result is final.
    Batches run concurrently (O(concurrency) per region); no host is contacted over WinRM.
  - The script uses the PowerShell 2.0 language and cmdlets only (no C(ConvertTo-Json), no CIM
    cmdlets), so Windows Server 2008 R2 SP1 and 2012 instances can be audited too.
  - Each host's result is in RV(results), or, with O(report_dest), in the virtio_audit fleet report this
    module writes itself (then RV(results) is not returned); a host without C(ecs_instance_id) / C(alicloud_region), a
    missing instance or a failed script is C(failed) with the reason, a stopped instance or an offline
    agent is C(unreachable). The task itself fails only for invalid options.
  - Runs on the controller; use it with C(run_once=true).
extends_documentation_fragment:
  - winfleet.updates.alicloud
options:
  hosts:
    description:
      - Inventory hosts to probe. Each needs the host variables C(ecs_instance_id) and C(alicloud_region)
        (the M(winfleet.updates.ecs) inventory sets them); C(region_id) is the region of hosts without
        C(alicloud_region).
      - C(ecs_instance_id) and C(alicloud_region) are read from the inventory (the host and group variables
        its source sets, as M(winfleet.updates.ecs) does) and the extra variables, without computing every
        variable of each host; a host whose inventory lacks one of them (set in C(host_vars) files or play
        variables) or holds a template for it is read through all its variables.
    type: list
    elements: str
    required: true
  driver_files:
    description: Driver files to read, as for M(winfleet.updates.virtio_probe).
    type: list
    elements: str
    default: [viostor.sys, netkvm.sys, vioscsi.sys, vioser.sys, balloon.sys, pvpanic.sys, viorng.sys, fwcfg.sys, vioinput.sys]
  required_capabilities:
    description: Capabilities the business needs; a virtio guest lacking any of them needs an update.
    type: list
    elements: str
    choices: [online_resize, serial_query]
    default: [online_resize, serial_query]
  thresholds:
    description: Minimum storage driver build per capability.
    type: dict
    default: {online_resize: 58011, serial_query: 58017}
  batch_size:
    description: Instances per C(RunCommand) call, 1 to 100 (the pinned SDK's limit).
    type: int
    default: 100
  concurrency:
    description:
      - Batches in flight at once in each region, 1 to 50. ECS throttles each API per region and account, and a
        region's throttling does not affect the others, so the regions' batches run side by side.
      - Lower it when the API throttles (C(Throttling.User)).
    type: int
    default: 10
  script_timeout:
    description: Seconds the probe may run on an instance (RunCommand C(Timeout)).
    type: int
    default: 300
  wait_timeout:
    description: Seconds to wait for a batch's results before reporting its instances as not finished.
    type: float
    default: 600
  poll_interval:
    description: Seconds between two C(DescribeInvocationResults) reads of a batch.
    type: float
    default: 1.0
  report_dest:
    description:
      - Directory on the controller where the module writes the C(virtio_audit) fleet report
        (C(virtio_audit.json), C(.csv), C(.md), C(.html)), merged into the existing report as
        M(winfleet.updates.fleet_report) does, and returns its RV(summary) and RV(paths) instead of
        every host's result.
      - Meant for large fleets, where the results of 10,000 hosts are then never registered, copied into every host's
        variables and templated into a report task.
    type: path
attributes:
  check_mode:
    support: full
    description: Reads only; runs unchanged in check mode.
  diff_mode:
    support: none
    description: Changes nothing.
  platform:
    support: full
    platforms: posix
    description: Runs on the controller.
notes:
  - RAM permissions C(ecs:DescribeInstances), C(ecs:DescribeCloudAssistantStatus), C(ecs:RunCommand),
    C(ecs:DescribeInvocationResults).
  - The role C(winfleet.updates.virtio_audit) runs it with C(virtio_audit_transport=ecs_api) and writes the fleet report.
seealso:
  - module: winfleet.updates.virtio_probe
author:
  - winfleet.updates maintainers (@winfleet)
"""

EXAMPLES = r"""
- name: Probe every host of the play through Cloud Assistant
  winfleet.updates.virtio_probe_ecs:
    hosts: "{{ ansible_play_hosts_all }}"
  run_once: true
  register: probes
"""

RETURN = r"""
results:
  description:
    - Host name to its probe result, the same keys as M(winfleet.updates.virtio_probe) returns plus
      C(ecs_instance_id); or C(failed) / C(unreachable) with C(msg).
  returned: when O(report_dest) is not set
  type: dict
summary:
  description: The report's summary, as M(winfleet.updates.fleet_report) returns it.
  returned: when O(report_dest) is set
  type: dict
paths:
  description: Format to the path of the report file written.
  returned: when O(report_dest) is set
  type: dict
rows:
  description: Rows in the report (rows of earlier runs for other hosts included).
  returned: when O(report_dest) is set
  type: int
api_calls:
  description: ECS API calls made (DescribeInstances, RunCommand, DescribeInvocationResults), throttling retries included.
  returned: always
  type: int
batches:
  description: RunCommand batches sent.
  returned: always
  type: int
"""
