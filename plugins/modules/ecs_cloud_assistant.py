#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a Cloud Assistant command on ECS instances, or reboot them, through the ECS API."""

from __future__ import annotations

DOCUMENTATION = r"""
module: ecs_cloud_assistant
short_description: Run a Cloud Assistant command on ECS instances, or reboot them, through the ECS API
version_added: 0.1.0
description:
  - O(action=run) runs a command on a list of Alibaba Cloud ECS instances with Cloud Assistant, without WinRM,
    waits for every instance's result and returns, per instance, the status, exit code, error code and the
    decoded output.
  - A common command or a saved command is run with InvokeCommand (O(command_id)); Alibaba's public common
    command C(ACS-ECS-InstallVirtioDriver-windows.ps1), which updates the virtio drivers, is accepted by its name.
    A custom PowerShell command (O(content)) is run with RunCommand, sent Base64-encoded; it must stay within
    24 KB after encoding.
  - Instances are sent 100 per invocation (the API's limit); larger lists are batched. Instances that do not
    exist in the region or are not Running are reported on their own and the command still runs on the others.
  - O(action=reboot) reboots the instances (RebootInstances) and waits until each is Running again after the
    reboot. The virtio driver only takes effect after a restart.
  - Runs on the controller; use C(delegate_to=localhost) (with C(run_once=true) for a whole batch of hosts).
options:
  action:
    description: V(run) a command, or V(reboot) the instances.
    type: str
    choices: [run, reboot]
    default: run
  instance_ids:
    description: ECS instance ids (the C(ecs_instance_id) host variable of each host).
    type: list
    elements: str
    required: true
  command_id:
    description:
      - Id of a saved command, or the name of a common command such as V(ACS-ECS-InstallVirtioDriver-windows.ps1).
      - Mutually exclusive with O(content); one of them is required with O(action=run).
    type: str
  content:
    description:
      - A PowerShell command, as text. It is Base64-encoded for the API and must be at most 24 KB once encoded.
      - For the virtio update through the Cloud Assistant plug-in, the command runs
        C(acs-plugin-manager.exe --exec --plugin=UpdateVirtIo) from the agent's directory.
    type: str
  name:
    description: Name of the invocation, shown in the ECS console's Cloud Assistant history.
    type: str
    default: winfleet-updates
  timeout:
    description:
      - Seconds the command may run on an instance before Cloud Assistant stops it; passed to RunCommand and to
        InvokeCommand (for O(command_id) it replaces the saved command's own timeout for this run). The virtio
        update takes 1 to 2 minutes with many data disks.
    type: int
    default: 600
  force_reboot:
    description: With O(action=reboot), force the reboot (like pulling the power) instead of a clean restart.
    type: bool
    default: false
  wait:
    description: Wait until every instance has finished (V(run)) or is Running again (V(reboot)).
    type: bool
    default: true
  wait_timeout:
    description: How long to wait, in seconds, for all instances together.
    type: int
    default: 1800
  poll_interval:
    description: Seconds between two status queries while waiting.
    type: float
    default: 5
  fail_on_instance_error:
    description:
      - Fail the task when any instance did not succeed. With V(false) the task succeeds and each instance's
        outcome is in RV(results) and RV(failed_instance_ids) (what a rollout needs to judge each host).
    type: bool
    default: true
extends_documentation_fragment:
  - winfleet.updates.alicloud
attributes:
  check_mode:
    support: full
    description: Checks which instances exist and are Running, and reports the batches that would run or reboot.
  diff_mode:
    support: none
    description: No diff is produced.
  platform:
    support: full
    platforms: posix
    description: Runs on the controller and calls the ECS API.
seealso:
  - module: winfleet.updates.ecs_snapshot
author:
  - winfleet.updates maintainers (@winfleet)
"""

EXAMPLES = r"""
# The API works per region: a batch that spans regions is sent as one call per region.
- name: Update the virtio drivers of the batch with Alibaba's common command, one call per region
  winfleet.updates.ecs_cloud_assistant:
    instance_ids: >-
      {{ ansible_play_batch | map('extract', hostvars) | selectattr('alicloud_region', 'equalto', item)
         | map(attribute='ecs_instance_id') | list }}
    region_id: "{{ item }}"
    command_id: ACS-ECS-InstallVirtioDriver-windows.ps1
  loop: "{{ ansible_play_batch | map('extract', hostvars, 'alicloud_region') | unique | list }}"
  delegate_to: localhost
  run_once: true
  register: virtio_install

- name: Update through the Cloud Assistant plug-in, judging each instance in a later task
  winfleet.updates.ecs_cloud_assistant:
    instance_ids: ["i-bp67acfmxazb4p****"]
    region_id: cn-hangzhou
    content: |
      $agent = Get-ChildItem 'C:\ProgramData\aliyun\assist' |
          Where-Object { $_.PSIsContainer -and ($_.Name -as [version]) } |
          Sort-Object { [version]$_.Name } -Descending |
          Select-Object -First 1
      $exe = Join-Path $agent.FullName 'acs-plugin-manager.exe'
      & $exe '--exec' '--plugin=UpdateVirtIo'
      exit $LASTEXITCODE
    timeout: 900
    fail_on_instance_error: false
  delegate_to: localhost

- name: Reboot the batch so the new driver loads, one call per region, until every instance is Running
  winfleet.updates.ecs_cloud_assistant:
    action: reboot
    instance_ids: >-
      {{ ansible_play_batch | map('extract', hostvars) | selectattr('alicloud_region', 'equalto', item)
         | map(attribute='ecs_instance_id') | list }}
    region_id: "{{ item }}"
  loop: "{{ ansible_play_batch | map('extract', hostvars, 'alicloud_region') | unique | list }}"
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
region_id:
  description: The region used.
  returned: always
  type: str
  sample: cn-hangzhou
batches:
  description: The instance ids sent in each call (100 per invocation, 100 per reboot call).
  returned: always
  type: list
  elements: list
invocations:
  description: One entry per invocation, with C(invoke_id) and C(instance_ids).
  returned: action=run and not check mode
  type: list
  elements: dict
results:
  description: One entry per instance, in the order of O(instance_ids).
  returned: always
  type: list
  elements: dict
  contains:
    instance_id:
      description: The instance.
      type: str
    status:
      description:
        - The InvocationStatus (V(Success), V(Failed), V(Timeout), ...), V(NotFound) or V(InstanceNotRunning) when
          the command was not sent, V(WouldRun) / V(WouldReboot) in check mode; with O(action=reboot), the
          instance status.
      type: str
    succeeded:
      description:
        - The command finished with exit code 0, or with 3010 / 1641 (installed, a restart completes it; Cloud
          Assistant itself reports these as V(Failed) with C(ExitCodeNonzero)). With O(action=reboot), the
          instance rebooted and is Running.
      type: bool
    reboot_required:
      description: The command ended with exit code 3010 or 1641 (success, a restart completes it).
      type: bool
    exit_code:
      description: Exit code of the command.
      type: int
    error_code:
      description: Cloud Assistant's error code, such as C(ExitCodeNonzero), C(ClientNotRunning), C(ExecutionTimeout).
      type: str
    error_info:
      description: Cloud Assistant's explanation, or why the instance was skipped.
      type: str
    output:
      description: The command's output, decoded from Base64.
      type: str
    dropped:
      description: Bytes of output Cloud Assistant dropped (it keeps 24 KB).
      type: int
    output_truncated:
      description: Whether the output was cut (C(dropped) > 0).
      type: bool
    invoke_id:
      description: The invocation this instance ran in.
      type: str
    rebooted:
      description: With O(action=reboot), whether the reboot was observed and the instance is Running again.
      type: bool
failed_instance_ids:
  description: Instances that did not succeed (or were skipped as missing or not Running).
  returned: always
  type: list
  elements: str
error_code:
  description: The Alibaba Cloud error code, when an API call failed.
  returned: failure
  type: str
missing_permission:
  description: The RAM action that was denied, when the failure is a missing permission.
  returned: failure
  type: str
  sample: ecs:RunCommand
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.winfleet.updates.plugins.module_utils._alicloud import EcsClient, OperationFailed
from ansible_collections.winfleet.updates.plugins.module_utils._alicloud_module import (
    argument_spec,
    run_ecs_module,
    waiting_from,
)
from ansible_collections.winfleet.updates.plugins.module_utils._ecs_cloud_assistant import (
    check_action_options,
    failure_message,
    reboot,
    run_on_instances,
)

ARGUMENT_SPEC = argument_spec(
    {
        "action": {"type": "str", "choices": ["run", "reboot"], "default": "run"},
        "instance_ids": {"type": "list", "elements": "str", "required": True},
        "command_id": {"type": "str"},
        "content": {"type": "str"},
        "name": {"type": "str", "default": "winfleet-updates"},
        "timeout": {"type": "int", "default": 600},
        "force_reboot": {"type": "bool", "default": False},
        "wait": {"type": "bool", "default": True},
        "wait_timeout": {"type": "int", "default": 1800},
        "poll_interval": {"type": "float", "default": 5},
        "fail_on_instance_error": {"type": "bool", "default": True},
    }
)


def work(module: AnsibleModule, client: EcsClient) -> dict[str, Any]:
    """Run or reboot; fail with every instance's reason when asked to."""
    params = module.params
    check_action_options(params["action"], content=params["content"], command_id=params["command_id"])
    if params["action"] == "reboot":
        result = reboot(
            client,
            params["instance_ids"],
            force=params["force_reboot"],
            wait=params["wait"],
            waiting=waiting_from(params),
            check_mode=module.check_mode,
        )
    else:
        result = run_on_instances(
            client,
            params["instance_ids"],
            content=params["content"],
            command_id=params["command_id"],
            timeout=params["timeout"],
            name=params["name"],
            wait=params["wait"],
            waiting=waiting_from(params),
            check_mode=module.check_mode,
        )
    failed = [r for r in result["results"] if r["instance_id"] in result["failed_instance_ids"]]
    if failed and params["fail_on_instance_error"]:
        reasons = "; ".join(failure_message(r) for r in failed)
        raise OperationFailed(
            f"{len(failed)} of {len(result['results'])} instance(s) did not succeed: {reasons}", result
        )
    return result


def main() -> None:
    run_ecs_module(
        ARGUMENT_SPEC,
        work,
        mutually_exclusive=[("command_id", "content")],
        required_if=[("action", "run", ("command_id", "content"), True)],
    )


if __name__ == "__main__":
    main()
