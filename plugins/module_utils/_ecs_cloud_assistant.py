# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cloud Assistant commands and reboots on ECS instances (for internal collection use only).

The virtio driver can be updated on many instances at once through Cloud Assistant, without
WinRM: the public common command ``ACS-ECS-InstallVirtioDriver-windows.ps1`` (run with
InvokeCommand, which accepts a common command's name as its CommandId), or a custom PowerShell
command (RunCommand with the content inline, Base64, at most 24 KB after encoding) such as
``acs-plugin-manager.exe --exec --plugin=UpdateVirtIo``. Then a reboot through the API
(RebootInstances), because the new driver only loads at boot.

Pure parts (content encoding and its limit, batching by 100, result interpretation, when a wait
is over) are unit-tested; :func:`run_on_instances` and :func:`reboot` drive an
:class:`~._alicloud.EcsClient` with them.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any, Mapping, Sequence

from ansible_collections.winfleet.updates.plugins.module_utils._alicloud import (
    CONNECTION,
    TRANSIENT,
    AlicloudError,
    EcsClient,
    Waiting,
    client_token,
    dig,
    max_polls,
    wait_until,
)
from ansible_collections.winfleet.updates.plugins.module_utils._ecs_limits import (
    MAX_CONTENT_BYTES,
    MAX_INSTANCES_PER_CALL,
    MAX_INSTANCES_PER_INVOCATION,
    limit,
)
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._strings import check_text

#: Alibaba's public common command that updates the virtio drivers of a Windows instance.
VIRTIO_COMMON_COMMAND = "ACS-ECS-InstallVirtioDriver-windows.ps1"
#: The custom-command alternative the same page gives: the Cloud Assistant plug-in, run from the
#: newest agent version directory (compared as versions: as strings 1.0.0.99 > 1.0.0.137).
#: Windows PowerShell 2.0 syntax (Windows Server 2008 R2 ships 2.0): PSIsContainer, not -Directory (3.0).
VIRTIO_PLUGIN_CONTENT = (
    "$agent = Get-ChildItem 'C:\\ProgramData\\aliyun\\assist' |\n"
    "    Where-Object { $_.PSIsContainer -and ($_.Name -as [version]) } |\n"
    "    Sort-Object { [version]$_.Name } -Descending |\n"
    "    Select-Object -First 1\n"
    "$exe = Join-Path $agent.FullName 'acs-plugin-manager.exe'\n"
    "& $exe '--exec' '--plugin=UpdateVirtIo'\n"
    "exit $LASTEXITCODE\n"
)
# The API's limits (MAX_CONTENT_BYTES, MAX_INSTANCES_PER_INVOCATION, MAX_INSTANCES_PER_CALL) come
# from the one table with their sources, _ecs_limits.py.

#: InvocationStatus values after which an instance's result no longer changes.
FINAL_STATUSES = frozenset(
    {"Success", "Failed", "Timeout", "Cancelled", "Stopped", "Terminated", "Error", "Invalid", "Aborted"}
)

#: Installer exit codes that mean "done, a restart completes it": Windows Installer's
#: ERROR_SUCCESS_REBOOT_REQUIRED (3010) and ERROR_SUCCESS_REBOOT_INITIATED (1641),
#: https://learn.microsoft.com/en-us/windows/win32/msi/error-codes . Cloud Assistant reports any
#: non-zero exit code as InvocationStatus Failed with ErrorCode ExitCodeNonzero
#: (https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-describeinvocationresults),
#: so these two are read from the exit code, not from the status.
REBOOT_EXIT_CODES = frozenset({3010, 1641})

_INSTANCE_ID_RE = re.compile(r"i-[A-Za-z0-9]+")
MAX_NAME = 128


# ---------------------------------------------------------------------------------------------
# Pure parts.
# ---------------------------------------------------------------------------------------------


def check_action_options(action: str, *, content: Any = None, command_id: Any = None) -> None:
    """Refuse a command with ``action=reboot``: RebootInstances runs nothing, so the command would be dropped silently.

    (https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-rebootinstances)
    """
    if action != "reboot":
        return
    for name, value in (("content", content), ("command_id", command_id)):
        if value not in (None, ""):
            raise InputError(
                name,
                "is only used with action=run; action=reboot only restarts the instances and would not run "
                "it. Run the command first (action=run), then reboot",
            )


def validate_instance_ids(instance_ids: Sequence[str]) -> list[str]:
    """Instance ids, in order; an empty list, a duplicate or a malformed id is an InputError."""
    if not instance_ids:
        raise InputError("instance_ids", "expected at least one instance id")
    seen: set[str] = set()
    for index, instance_id in enumerate(instance_ids):
        if not isinstance(instance_id, str) or not _INSTANCE_ID_RE.fullmatch(instance_id):
            raise InputError(
                f"instance_ids[{index}]",
                f"{instance_id!r} is not an ECS instance id such as 'i-bp67acfmxazb4p****'",
            )
        if instance_id in seen:
            raise InputError(f"instance_ids[{index}]", f"{instance_id} is listed twice")
        seen.add(instance_id)
    return list(instance_ids)


def encode_content(content: str) -> str:
    """The command as RunCommand wants it: UTF-8, Base64, at most 24 KB after encoding."""
    if not content or not content.strip():
        raise InputError("content", "the PowerShell command is empty")
    encoded = base64.b64encode(content.encode("utf-8")).decode("ascii")
    if len(encoded) > MAX_CONTENT_BYTES:
        raise InputError(
            "content",
            f"the command is {len(encoded)} bytes after Base64 encoding, more than the "
            f"{MAX_CONTENT_BYTES} RunCommand accepts; copy the script to the instances and run a short "
            f"command that calls it, or use command_id: {VIRTIO_COMMON_COMMAND}",
        )
    return encoded


def batches(items: Sequence[str], size: int) -> list[list[str]]:
    """``items`` in consecutive chunks of at most ``size`` (the API's per-call limits)."""
    if size < 1:
        raise InputError("batch_size", f"expected >= 1, got {size}")
    return [list(items[start : start + size]) for start in range(0, len(items), size)]


def run_command_params(
    region_id: str, instance_ids: Sequence[str], content_b64: str, timeout: int, name: str, token: str,
    tags: Sequence[Mapping[str, str]] = (),
) -> dict[str, Any]:
    """RunCommand: a one-off PowerShell command (not kept as a saved command), with the invocation's ``Tag.N``."""
    return {
        **({"Tag": [dict(t) for t in tags]} if tags else {}),
        "RegionId": region_id,
        "InstanceId": list(instance_ids),
        "Type": "RunPowerShellScript",
        "CommandContent": content_b64,
        "ContentEncoding": "Base64",
        "Timeout": timeout,
        "Name": name,
        "KeepCommand": False,
        "ClientToken": token,
    }


def invoke_command_params(
    region_id: str, instance_ids: Sequence[str], command_id: str, token: str, timeout: int | None = None,
    tags: Sequence[Mapping[str, str]] = (),
) -> dict[str, Any]:
    """InvokeCommand: a saved or common command, by id (a common command also by its name).

    ``Timeout`` applies to this execution only (InvokeCommandRequest: "If you do not set this
    value, the timeout period specified when the command was created is used"), so the module's
    ``timeout`` is passed rather than silently replaced by the command's own.
    """
    params: dict[str, Any] = {
        "RegionId": region_id,
        "InstanceId": list(instance_ids),
        "CommandId": command_id,
        "ClientToken": token,
    }
    if timeout is not None:
        params["Timeout"] = timeout
    if tags:
        params["Tag"] = [dict(t) for t in tags]  # the invocation's tags (DescribeInvocations filters by them)
    return params


def describe_results_params(region_id: str, invoke_id: str) -> dict[str, Any]:
    return {"RegionId": region_id, "InvokeId": invoke_id, "ContentEncoding": "Base64"}


def decode_output(output: str | None) -> str:
    """Cloud Assistant returns the output Base64-encoded; undecodable bytes are replaced, not fatal."""
    if not output:
        return ""
    try:
        raw = base64.b64decode(output, validate=True)
    except (binascii.Error, ValueError):
        return output
    return raw.decode("utf-8", errors="replace")


def instance_result(record: Mapping[str, Any]) -> dict[str, Any]:
    """One instance's invocation result as the module returns it."""
    status = str(record.get("InvocationStatus") or record.get("InvokeRecordStatus") or "Pending")
    exit_code = record.get("ExitCode")
    dropped = int(record.get("Dropped") or 0)
    finished = status in FINAL_STATUSES
    reboot_required = finished and exit_code is not None and int(exit_code) in REBOOT_EXIT_CODES
    clean = finished and status == "Success" and (exit_code in (0, None))
    return {
        "instance_id": record.get("InstanceId"),
        "invoke_id": record.get("InvokeId"),
        "status": status,
        "finished": finished,
        "succeeded": clean or reboot_required,
        "reboot_required": reboot_required,
        "exit_code": int(exit_code) if exit_code is not None else None,
        "error_code": record.get("ErrorCode") or None,
        "error_info": record.get("ErrorInfo") or None,
        "output": decode_output(record.get("Output")),
        "dropped": dropped,
        "output_truncated": dropped > 0,
        "start_time": record.get("StartTime"),
        "finished_time": record.get("FinishedTime"),
    }


def failure_message(result: Mapping[str, Any]) -> str:
    """Why one instance's command did not succeed, in words an operator can act on."""
    code = result.get("error_code")
    if result.get("error_info") and code in (None, "NotFound", "InstanceNotRunning"):
        return f"{result.get('instance_id')}: {result['error_info']}"  # skipped, or a reboot not observed
    hints = {
        "ClientNotRunning": "the Cloud Assistant agent is not running on the instance; start the "
        "'AliyunService' service (agent >= 1.0.0.137 is needed for plug-ins) and run again",
        "ClientNetworkBlocked": "the instance cannot reach the Cloud Assistant server; "
        "check its security group / VPC",
        "DeliveryTimeout": "the command was not delivered in time; "
        "check the agent and the instance's network",
        "ExecutionTimeout": "the command ran longer than its timeout; raise timeout",
        "ExitCodeNonzero": f"the command ended with exit code {result.get('exit_code')}; see its output",
    }
    if code in hints:
        text = hints[code]
    elif result.get("status") == "Success":
        text = f"the command ended with exit code {result.get('exit_code')}; see its output"
    elif not result.get("finished"):
        text = f"still {result.get('status')} when the wait ended; raise wait_timeout"
    else:
        text = f"the invocation ended {result.get('status')}"
    info = (
        f" ({code}: {result.get('error_info')})"
        if code and result.get("error_info")
        else (f" ({code})" if code else "")
    )
    return f"{result.get('instance_id')}: {text}{info}"


def skipped_result(instance_id: str, status: str, message: str) -> dict[str, Any]:
    """A result for an instance the command was not sent to (missing or not running)."""
    return {
        "instance_id": instance_id,
        "invoke_id": None,
        "status": status,
        "finished": True,
        "succeeded": False,
        "reboot_required": False,
        "exit_code": None,
        "error_code": status,
        "error_info": message,
        "output": "",
        "dropped": 0,
        "output_truncated": False,
        "start_time": None,
        "finished_time": None,
    }


def reboot_finished(
    before_start: str | None, seen_not_running: bool, status: str, start_time: str | None
) -> bool:
    """An instance has rebooted once it is Running again after having been seen down or restarted.

    Right after RebootInstances the instance may still report Running for a moment; waiting for
    Running alone could return before the reboot began. So it must also have been seen in
    another state, or report a StartTime different from the one before the reboot.
    """
    return status == "Running" and (
        seen_not_running or (start_time is not None and start_time != before_start)
    )


# ---------------------------------------------------------------------------------------------
# Driving the API.
# ---------------------------------------------------------------------------------------------


def describe_instances(client: EcsClient, instance_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Instance id -> described instance, for the ids that exist in the client's region."""
    found: dict[str, dict[str, Any]] = {}
    for chunk in batches(instance_ids, MAX_INSTANCES_PER_CALL):
        body = client.call(
            "DescribeInstances",
            {
                "RegionId": client.region_id,
                "InstanceIds": json.dumps(chunk),
                "PageSize": MAX_INSTANCES_PER_CALL,
            },
            context=f"{len(chunk)} instance(s) in {client.region_id}",
        )
        for instance in dig(body, ("Instances", "Instance")):
            found[instance["InstanceId"]] = instance
    return found


def agent_states(client: EcsClient, instance_ids: Sequence[str]) -> dict[str, bool]:
    """Instance id -> whether its Cloud Assistant agent is running (DescribeCloudAssistantStatus).

    RunCommand / InvokeCommand refuse the whole call when one instance "does not meet the
    execution conditions" (RunCommandRequest.instance_id), so instances without a running agent
    are found first and left out.
    """
    states: dict[str, bool] = {}
    for chunk in batches(instance_ids, limit("describe_cloud_assistant_status_max_results")):
        body = client.call(
            "DescribeCloudAssistantStatus",
            {"RegionId": client.region_id, "InstanceId": chunk},
            context=f"{len(chunk)} instance(s) in {client.region_id}",
        )
        for item in dig(body, ("InstanceCloudAssistantStatusSet", "InstanceCloudAssistantStatus")):
            states[str(item.get("InstanceId"))] = str(item.get("CloudAssistantStatus")).lower() == "true"
    return states


def _runnable(
    client: EcsClient, instance_ids: Sequence[str], need_agent: bool = False
) -> tuple[list[str], dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Split ids into those Running and skip results for the others (per instance, not for all).

    One missing or stopped instance, or one without a running Cloud Assistant agent
    (``need_agent``), must not fail the call for the others in its batch, so they are checked
    first and reported on their own.
    """
    described = describe_instances(client, instance_ids)
    runnable, skipped = [], {}
    for instance_id in instance_ids:
        instance = described.get(instance_id)
        if instance is None:
            skipped[instance_id] = skipped_result(
                instance_id,
                "NotFound",
                f"no instance {instance_id} in region "
                f"{client.region_id}; check ecs_instance_id and alicloud_region",
            )
        elif instance.get("Status") != "Running":
            skipped[instance_id] = skipped_result(
                instance_id, "InstanceNotRunning", f"the instance is {instance.get('Status')}, not Running"
            )
        else:
            runnable.append(instance_id)
    if need_agent and runnable:
        agents = agent_states(client, runnable)
        for instance_id in [i for i in runnable if not agents.get(i, False)]:
            skipped[instance_id] = skipped_result(
                instance_id,
                "ClientNotRunning",
                "the Cloud Assistant agent is not running on the instance (DescribeCloudAssistantStatus); "
                "the command was not sent to it",
            )
        runnable = [i for i in runnable if agents.get(i, False)]
    return runnable, skipped, described


def run_on_instances(
    client: EcsClient,
    instance_ids: Sequence[str],
    *,
    content: str | None = None,
    command_id: str | None = None,
    timeout: int = 600,
    name: str = "winfleet-updates",
    wait: bool = True,
    waiting: Waiting | None = None,
    check_mode: bool = False,
    tags: Sequence[Mapping[str, str]] = (),
) -> dict[str, Any]:
    """Run a command on the instances (100 per invocation) and collect each one's result."""
    waiting = waiting or Waiting()
    ids = validate_instance_ids(instance_ids)
    if wait:
        max_polls(waiting.timeout, waiting.interval)  # bad bounds fail before anything runs
    if bool(content) == bool(command_id):
        raise InputError("content", "give exactly one of content (a PowerShell command) or command_id")
    # RunCommand's Name and InvokeCommand's CommandId: at most 128 characters
    # (https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-runcommand), one line.
    check_text("name", name, max_length=MAX_NAME, allow_empty=False, what="an invocation name")
    if command_id:
        check_text("command_id", command_id, max_length=MAX_NAME, what="a command id or common command name")
    encoded = encode_content(content) if content else None
    low, high = limit("command_timeout_min_seconds"), limit("command_timeout_max_seconds")
    if not low <= timeout <= high:
        raise InputError("timeout", f"expected {low} to {high} seconds, got {timeout}")
    runnable, skipped, _described = _runnable(client, ids, need_agent=True)
    plan = batches(runnable, MAX_INSTANCES_PER_INVOCATION)
    result: dict[str, Any] = {
        "changed": bool(runnable),
        "region_id": client.region_id,
        "command": command_id or f"RunPowerShellScript ({len(encoded or '')} bytes Base64)",
        "batches": [list(b) for b in plan],
    }
    if check_mode or not runnable:
        results = [skipped.get(i) or {"instance_id": i, "status": "WouldRun"} for i in ids]
        result.update(results=results, failed_instance_ids=[i for i in ids if i in skipped], invocations=[])
        return result
    invocations = []
    for chunk in plan:
        if encoded is not None:
            body = client.call(
                "RunCommand",
                run_command_params(client.region_id, chunk, encoded, timeout, name, client_token(), tags),
                context=f"{len(chunk)} instance(s)",
            )
        else:
            body = client.call(
                "InvokeCommand",
                invoke_command_params(client.region_id, chunk, command_id, client_token(), timeout, tags),
                context=f"{command_id} on {len(chunk)} instance(s)",
            )
        invocations.append({"invoke_id": body.get("InvokeId"), "instance_ids": chunk})
    result["invocations"] = invocations
    records = _collect(client, invocations, waiting if wait else None)
    results = [
        skipped.get(i)
        or records.get(i)
        or {**skipped_result(i, "Pending", "no result reported"), "finished": False}
        for i in ids
    ]
    result["results"] = results
    result["failed_instance_ids"] = [
        r["instance_id"] for r in results if not r.get("succeeded") and (r.get("finished") or wait)
    ]
    return result


def _collect(
    client: EcsClient, invocations: Sequence[Mapping[str, Any]], waiting: Waiting | None
) -> dict[str, dict[str, Any]]:
    """Poll DescribeInvocationResults for every invocation until every instance is final."""
    expected = {i for inv in invocations for i in inv["instance_ids"]}

    def poll() -> dict[str, dict[str, Any]]:
        latest: dict[str, dict[str, Any]] = {}
        for inv in invocations:
            for record in client.call_paged(
                "DescribeInvocationResults",
                describe_results_params(client.region_id, inv["invoke_id"]),
                ("Invocation", "InvocationResults", "InvocationResult"),
                context=f"invocation {inv['invoke_id']}",
                page_size=limit("describe_invocation_results_max_results"),
            ):
                latest[record["InstanceId"]] = instance_result(record)
        return latest

    def done(latest: dict[str, dict[str, Any]]) -> bool:
        return all(latest.get(i, {}).get("finished") for i in expected)

    if waiting is None:
        return poll()
    return wait_until(poll, done, waiting.timeout, waiting.interval, waiting.clock, waiting.sleep).value


def reboot(
    client: EcsClient,
    instance_ids: Sequence[str],
    *,
    force: bool = False,
    wait: bool = True,
    waiting: Waiting | None = None,
    check_mode: bool = False,
) -> dict[str, Any]:
    """RebootInstances (100 per call), then wait until every instance is Running again."""
    waiting = waiting or Waiting()
    ids = validate_instance_ids(instance_ids)
    if wait:
        max_polls(waiting.timeout, waiting.interval)
    runnable, skipped, described = _runnable(client, ids)
    before = {i: described.get(i, {}).get("StartTime") for i in runnable}
    result: dict[str, Any] = {
        "changed": bool(runnable),
        "region_id": client.region_id,
        "batches": batches(runnable, MAX_INSTANCES_PER_CALL),
    }
    if check_mode or not runnable:
        result.update(
            results=[skipped.get(i) or {"instance_id": i, "status": "WouldReboot"} for i in ids],
            failed_instance_ids=[i for i in ids if i in skipped],
        )
        return result
    # RebootInstances is not repeated on a lost answer (a second call could reboot a host that is
    # already back); whether the lost call rebooted the instances is read from their Status and
    # StartTime instead, so an instance that did reboot is not reported as failed.
    lost: str | None = None
    for chunk in result["batches"]:
        try:
            client.call(
                "RebootInstances",
                {"RegionId": client.region_id, "InstanceId": chunk, "ForceReboot": force},
                context=f"{len(chunk)} instance(s)",
                idempotent=False,
            )
        except AlicloudError as err:
            if err.kind not in (TRANSIENT, CONNECTION):
                raise
            lost = str(err)
    wait = wait or lost is not None
    seen_down: set[str] = set()

    def poll() -> dict[str, dict[str, Any]]:
        latest = describe_instances(client, runnable)
        for instance_id, instance in latest.items():
            if instance.get("Status") != "Running":
                seen_down.add(instance_id)
        return latest

    def done(latest: dict[str, dict[str, Any]]) -> bool:
        return all(
            reboot_finished(
                before[i],
                i in seen_down,
                latest.get(i, {}).get("Status", ""),
                latest.get(i, {}).get("StartTime"),
            )
            for i in runnable
        )

    if wait:
        latest = wait_until(poll, done, waiting.timeout, waiting.interval, waiting.clock, waiting.sleep).value
    else:
        latest = {}
    results = []
    for instance_id in ids:
        if instance_id in skipped:
            results.append(skipped[instance_id])
            continue
        instance = latest.get(instance_id, {})
        rebooted = reboot_finished(
            before[instance_id],
            instance_id in seen_down,
            instance.get("Status", ""),
            instance.get("StartTime"),
        )
        results.append(
            {
                "instance_id": instance_id,
                "status": instance.get("Status", "Rebooting"),
                "rebooted": rebooted,
                "succeeded": rebooted or not wait,
                "start_time": instance.get("StartTime"),
                "error_info": None
                if rebooted or not wait
                else (
                    f"the answer to RebootInstances was lost ({lost}) and the instance did not restart within "
                    f"{waiting.timeout:g} s (its StartTime did not change): it was probably not rebooted; reboot it again"
                    if lost
                    else f"not Running again after {waiting.timeout:g} s; raise wait_timeout or check the console"
                ),
            }
        )
    result["results"] = results
    result["failed_instance_ids"] = [r["instance_id"] for r in results if not r.get("succeeded")]
    return result
