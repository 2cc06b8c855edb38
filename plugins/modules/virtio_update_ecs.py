# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module is implemented by the action plugin of the same name; this file holds its documentation.

DOCUMENTATION = r"""
module: virtio_update_ecs
short_description: Update the virtio driver of a batch of ECS instances through the ECS API, without WinRM
version_added: 0.2.0
description:
  - One batch of the virtio rollout (the role C(winfleet.updates.virtio_rollout) with
    C(virtio_rollout_transport=ecs_api)), every step from the controller and batched over the batch's
    instances; no host is contacted over WinRM.
  - Probes the instances with the script of M(winfleet.updates.virtio_probe_ecs) and decides each host with
    the same rules as M(winfleet.updates.virtio_install) (install, compliant, unsupported, not_virtio).
  - For the hosts to install, in order, each step one call for all of them; a host that fails a step skips
    the later ones. Snapshots (O(snapshot_provider=alicloud_ecs), as M(winfleet.updates.ecs_snapshot)); the
    third-party antivirus paused (one C(RunCommand)); the install (C(RunCommand) of a script that downloads
    O(script_url), of the C(UpdateVirtIo) plug-in call, or of O(api_content); or C(InvokeCommand) of
    O(api_command_id)); the antivirus resumed; C(RebootInstances) and a wait until the instances are
    C(Running) and their Cloud Assistant agent is online again; the probe again to verify.
  - Every script uses the PowerShell 2.0 language and cmdlets only, so Windows Server 2008 R2 SP1 and 2012
    instances are updated too.
  - Each host's result is in RV(results), with C(update) and C(verify) in the shape the roles
    C(winfleet.updates.virtio_update) and C(winfleet.updates.reboot_verify) publish. The task fails only for
    invalid options or a host without C(ecs_instance_id) / C(alicloud_region), before any API call.
  - Runs on the controller; use it with C(run_once=true).
extends_documentation_fragment:
  - winfleet.updates.alicloud
options:
  hosts:
    description: Inventory hosts of the batch. Each needs the host variables C(ecs_instance_id) and C(alicloud_region).
    type: list
    elements: str
    required: true
  source:
    description:
      - Where the installer comes from. C(script) needs O(script_url) (a controller path cannot be pushed
        without WinRM); C(cloud_assistant) runs the agent's C(UpdateVirtIo) plug-in; C(cloud_assistant_api)
        runs O(api_command_id) or O(api_content); C(package) needs O(package_url) and O(package_checksum).
    type: str
    default: cloud_assistant_api
    choices: [script, package, cloud_assistant, cloud_assistant_api]
  script_src:
    description: Refused on this path (a controller path); give O(script_url).
    type: str
  script_url:
    description: URL the instances download C(InstallVirtIo.ps1) from (O(source=script)).
    type: str
  script_checksum:
    description: Expected SHA-256 of the downloaded script; a mismatch fails the host before the script runs.
    type: str
  package_src:
    description: Refused on this path (a controller path); give O(package_url).
    type: str
  package_url:
    description:
      - O(source=package) an http or https URL the instances download Alibaba Cloud's offline virtio package
        (C(.zip)) from, for example an OSS object reached over the VPC.
      - The instance checks O(package_checksum), unpacks the package, picks the folder for its Windows version
        (C(win10), C(Win8), C(win7), C(Wlh)) and architecture, and runs C(pnputil) for every C(.inf), as the
        WinRM path does with a pushed package. A download failure or a checksum mismatch changes nothing.
    type: str
  package_checksum:
    description: O(source=package) the SHA-256 of the package (64 hexadecimal digits); required with O(package_url).
    type: str
  api_command_id:
    description: O(source=cloud_assistant_api) the saved or common command to invoke.
    type: str
  api_content:
    description: O(source=cloud_assistant_api) your PowerShell command instead of O(api_command_id).
    type: str
  required_capabilities:
    description: Capabilities the business needs; a virtio guest lacking any of them is updated.
    type: list
    elements: str
    choices: [online_resize, serial_query]
    default: [online_resize, serial_query]
  thresholds:
    description: Minimum storage driver build per capability.
    type: dict
    default: {online_resize: 58011, serial_query: 58017}
  antivirus_services:
    description: Third-party antivirus services stopped before the install and restarted after it (Microsoft Defender is refused).
    type: list
    elements: str
    default: []
  snapshot_provider:
    description: C(alicloud_ecs) snapshots the disks of each host to install first; C(custom) is refused on this path.
    type: str
    default: none
    choices: [none, alicloud_ecs, custom]
  snapshot_rollout_id:
    description: The rollout id the snapshots are tagged with (required with O(snapshot_provider=alicloud_ecs)).
    type: str
    default: ""
  snapshot_disk_scope:
    description: C(all) disks or the C(system) disk only.
    type: str
    default: all
    choices: [all, system]
  snapshot_timeout:
    description: Seconds to wait for the snapshots of a host to become usable.
    type: int
    default: 1800
  snapshot_retention:
    description: C(delete_after_verify) deletes this rollout's snapshots of a host once its update is verified.
    type: str
    default: keep
    choices: [keep, delete_after_verify]
  snapshot_grace_minutes:
    description: With O(snapshot_retention=delete_after_verify), keep snapshots younger than this.
    type: int
    default: 0
  install_timeout:
    description: Seconds the install may run on an instance (the command's C(Timeout)).
    type: int
    default: 1800
  reboot_timeout:
    description: Seconds to wait for the instances to be C(Running) with their agent online after C(RebootInstances).
    type: int
    default: 900
  poll_interval:
    description: Seconds between two status reads while waiting.
    type: float
    default: 2.0
  probe_timeout:
    description: Seconds the probe and the antivirus scripts may run on an instance.
    type: int
    default: 300
  rollout_id:
    description:
      - The rollout id kept in the host's virtio lock. A run of the same rollout id takes over a lock its
        interrupted run left (as M(winfleet.updates.virtio_lock) does).
      - The install's C(RunCommand) / C(InvokeCommand) is tagged C(winfleet-virtio-rollout-id=<rollout_id>).
        Before deciding, the instances' invocations of this rollout are listed with C(DescribeInvocations); an
        install still running is waited for instead of starting another, one that finished only needs the
        reboot, one followed by a restart reports the host updated (decisions C(attach), C(reboot_pending),
        C(updated), as M(winfleet.updates.virtio_install) over WinRM). With an empty value there is no tag and no lookup.
    type: str
    default: ""
  host_lock:
    description:
      - Take the host's virtio lock (C(%ProgramData%\winfleet\virtio_lock.json) under the mutex
        C(Global\winfleet-virtio-lock), the lock of M(winfleet.updates.virtio_lock)) for every instance of the
        batch with one C(RunCommand) before the probe, and release it at the end, also when the batch failed.
      - A host whose lock another live run holds is not touched and reports C(busy) with the holder; an expired
        lock is taken; a lock of the same O(rollout_id), or of a run of this controller whose process is gone,
        is taken over. An unreachable host keeps the lock until it expires (an install may still run there).
      - In check mode the lock is only read, so the preview names a busy host.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Probes (a read-only script) and decides; no snapshot, command, or reboot. The results say what would be done.
  diff_mode:
    support: none
    description: No diff.
  platform:
    support: full
    platforms: posix
    description: Runs on the controller.
notes:
  - RAM permissions C(ecs:DescribeInstances), C(ecs:DescribeCloudAssistantStatus), C(ecs:RunCommand),
    C(ecs:InvokeCommand), C(ecs:DescribeInvocationResults), C(ecs:DescribeInvocations),
    C(ecs:RebootInstances), and those of
    M(winfleet.updates.ecs_snapshot) for snapshots.
  - With O(host_lock=true) (the default) the host's virtio lock of M(winfleet.updates.virtio_lock) (the same
    file and mutex) is taken through C(RunCommand) before the probe and released at the end, so a WinRM
    rollout and an API rollout never work on one host at the same time.
seealso:
  - module: winfleet.updates.virtio_probe_ecs
  - module: winfleet.updates.virtio_install
author:
  - winfleet.updates maintainers (@winfleet)
"""

EXAMPLES = r"""
- name: Update this batch through the ECS API
  winfleet.updates.virtio_update_ecs:
    hosts: "{{ ansible_play_batch }}"
    source: cloud_assistant_api
    antivirus_services: [SAVService]
  run_once: true
  register: batch
"""

RETURN = r"""
results:
  description:
    - Host name to C(update) (the keys of C(virtio_update_result)), C(verify) (the keys of
      C(reboot_verify_result), null when the host was not installed), C(error) and C(ecs_instance_id).
  returned: always
  type: dict
api_calls:
  description: ECS API calls made for the batch (throttling retries included).
  returned: always
  type: int
"""
