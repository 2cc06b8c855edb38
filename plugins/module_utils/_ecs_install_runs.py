# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An interrupted ECS API install, found again through Cloud Assistant (for internal collection use only).

Over WinRM, ``virtio_install.ps1`` keeps a run record on the host, so a re-run of the same
rollout waits for an install still running, only reboots after one that finished, or reports the
host ``updated`` (``_virtio_install.decide``). Through the ECS API, Cloud Assistant keeps that
record itself: every invocation, with its per-instance status and exit code, is listed by
DescribeInvocations
(https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-describeinvocations),
which filters by ``Tag.N.Key`` / ``Tag.N.Value`` among others. So the install's RunCommand or
InvokeCommand carries the tag ``winfleet-virtio-rollout-id=<rollout id>`` (both actions take
``Tag.N``:
https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-runcommand,
https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-invokecommand),
and a re-run of the same rollout id finds its own installs with one paged call per region.

Each instance's latest invocation becomes the WinRM path's ``LastRun``: ``running`` while its
InvocationStatus is not final (Pending, Scheduled, Running, Stopping), else ``finished`` with its
ExitCode (Cloud Assistant reports a non-zero exit code, 3010 too, as Failed / ExitCodeNonzero:
https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-describeinvocationresults).
Whether the host restarted since is read from the probe's ``Win32_OperatingSystem.LastBootUpTime``
against the invocation's StartTime (an instance's own StartTime in DescribeInstances has minute
precision only). Then the same ``decide`` judges: attach, reboot_pending, updated or install.
"""

from __future__ import annotations

import datetime
from typing import Any, Collection, Iterable, Mapping

from ansible_collections.winfleet.updates.plugins.module_utils._alicloud import EcsClient
from ansible_collections.winfleet.updates.plugins.module_utils._virtio_install import HostStatus, LastRun

#: The tag the install invocation carries (tag keys: at most 128 characters, not aliyun / acs:).
ROLLOUT_TAG = "winfleet-virtio-rollout-id"
#: Per-instance InvocationStatus values after which the invocation no longer changes.
FINAL = frozenset({"Success", "Failed", "Timeout", "Cancelled", "Stopped", "Terminated", "Error", "Invalid", "Aborted"})
#: DescribeInvocations' PageSize maximum.
PAGE_SIZE = 50
_FILETIME_EPOCH_S = 11_644_473_600
_FILETIME_PER_SECOND = 10_000_000


def install_tags(rollout_id: str) -> list[dict[str, str]]:
    """``Tag`` of the install's RunCommand / InvokeCommand (none without a rollout id)."""
    return [{"Key": ROLLOUT_TAG, "Value": rollout_id}] if rollout_id else []


def describe_params(region_id: str, rollout_id: str) -> dict[str, Any]:
    """DescribeInvocations for this rollout's installs in a region (the output is not needed)."""
    return {"RegionId": region_id, "Tag": install_tags(rollout_id), "IncludeOutput": False}


def parse_time(text: Any) -> float | None:
    """An API time (``2020-01-19T09:15:46Z``, or minutes only) as epoch seconds; None if absent or unreadable."""
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp()


def filetime(epoch: float) -> int:
    """Epoch seconds as a Windows FileTime (what ``HostStatus.boot_time`` holds)."""
    return int((epoch + _FILETIME_EPOCH_S) * _FILETIME_PER_SECOND)


def latest_invocations(invocations: Iterable[Mapping[str, Any]], rollout_ids: str | Collection[str],
                       ) -> dict[str, dict[str, Any]]:
    """Instance id -> its latest install invocation of one of ``rollout_ids`` (InvokeId, status, exit code, times)."""
    wanted = {rollout_ids} if isinstance(rollout_ids, str) else set(rollout_ids)
    latest: dict[str, dict[str, Any]] = {}
    for invocation in invocations:
        tags = (invocation.get("Tags") or {}).get("Tag") or []
        owner = next((t.get("TagValue") for t in tags if t.get("TagKey") == ROLLOUT_TAG and t.get("TagValue") in wanted), None)
        if owner is None:
            continue  # the filter is the API's; a record without our tag is not ours whatever it says
        for item in (invocation.get("InvokeInstances") or {}).get("InvokeInstance") or []:
            instance_id = str(item.get("InstanceId"))
            started = parse_time(item.get("StartTime")) or parse_time(item.get("CreationTime")) \
                or parse_time(invocation.get("CreationTime")) or 0.0
            record = {
                "invoke_id": invocation.get("InvokeId"),
                "status": str(item.get("InvocationStatus") or "Pending"),
                "exit_code": item.get("ExitCode"),
                "started": started,
                "finished": item.get("FinishTime") or None,
                "rollout_id": owner,
            }
            if instance_id not in latest or started >= latest[instance_id]["started"]:
                latest[instance_id] = record
    return latest


def host_status(invocation: Mapping[str, Any] | None, rollout_id: str, last_boot: Any) -> HostStatus:
    """The WinRM path's ``HostStatus`` from an instance's latest install invocation and its boot time."""
    boot = parse_time(last_boot)
    boot_time = filetime(boot) if boot is not None else 0
    if invocation is None:
        return HostStatus(boot_time=boot_time, last_run=None, cloud_assistant_agent="running")
    status = str(invocation.get("status"))
    running = status not in FINAL
    exit_code = invocation.get("exit_code")
    # the install ran in this boot when the host has not started since the invocation began
    same_boot = boot is not None and boot <= float(invocation.get("started") or 0)
    run = LastRun(
        run_id=str(invocation.get("invoke_id")),
        state="running" if running else "finished",
        source="cloud_assistant_api",
        exit_code=None if running or exit_code is None else int(exit_code),
        boot_time=boot_time if same_boot and not running else None,
        log_excerpt="",
        log_path=None,
        # the rollout that started it: only its own re-run reports the host "updated" by it
        rollout_id=str(invocation.get("rollout_id") or rollout_id),
        finished=invocation.get("finished"),
    )
    return HostStatus(boot_time=boot_time, last_run=run, cloud_assistant_agent="running")


def list_installs(client: EcsClient, rollout_id: str) -> list[dict[str, Any]]:
    """Every invocation of the client's region tagged with ``rollout_id`` (DescribeInvocations, paged)."""
    return client.call_paged("DescribeInvocations", describe_params(client.region_id, rollout_id),
                             ("Invocations", "Invocation"), context=f"rollout {rollout_id} in {client.region_id}",
                             page_size=PAGE_SIZE)
