# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find and wait for the install an interrupted ECS API rollout left, instead of installing twice.

The decisions are ``module_utils._ecs_install_runs`` (what Cloud Assistant's record means) and
the WinRM path's ``_virtio_install.decide``; this drives the two calls:

* DescribeInvocations, once per region and batch, filtered by the install's rollout tag
  (https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-describeinvocations,
  paged with PageNumber / PageSize up to 50): each instance's latest install of this rollout;
* DescribeInvocationResults for an install still running, filtered by InvokeId and InstanceId
  (https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-describeinvocationresults),
  polled until it is final, as a fresh install's result is.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from ansible_collections.winfleet.updates.plugins.module_utils import _ecs_cloud_assistant as ca
from ansible_collections.winfleet.updates.plugins.module_utils._alicloud import AlicloudError, EcsClient, wait_until
from ansible_collections.winfleet.updates.plugins.module_utils._ecs_install_runs import (
    host_status,
    latest_invocations,
    list_installs,
)
from ansible_collections.winfleet.updates.plugins.module_utils._virtio_install import HostStatus
from ansible_collections.winfleet.updates.plugins.plugin_utils._ecs_audit import Target


def earlier_installs(targets: Sequence[Target], probed: Mapping[str, Mapping[str, Any]],
                     client_for: Callable[[str], EcsClient], rollout_id: str,
                     previous: Mapping[str, str] | None = None,
                     ) -> tuple[dict[str, HostStatus], dict[str, str]]:
    """Host -> its last install (as ``HostStatus``), and host -> why it could not be read.

    The installs looked for are this rollout's and, for a host whose lock this run took over from
    another rollout (``previous``: host -> that rollout id, from the lock record), that rollout's:
    its install may still be running, and over WinRM the host's run record would show it too.
    Only hosts the probe read are looked up. A host whose record cannot be read is not installed
    (it might be installing already): its error says so.
    """
    previous = previous or {}
    readable = [t for t in targets if not probed[t.host].get("failed") and not probed[t.host].get("unreachable")]
    statuses: dict[str, HostStatus] = {}
    errors: dict[str, str] = {}
    by_region: dict[str, list[Target]] = {}
    for target in readable:
        by_region.setdefault(target.region, []).append(target)
    for region, members in by_region.items():
        wanted = sorted({rollout_id, *(previous[t.host] for t in members if previous.get(t.host))} - {""})
        try:
            client = client_for(region)
            invocations = [i for one in wanted for i in list_installs(client, one)]
        except AlicloudError as err:
            for target in members:
                errors[target.host] = (f"{target.host}: the installs of rollout {', '.join(wanted)} could not be listed "
                                       f"(DescribeInvocations: {err}), so nothing was started on it (an install may "
                                       "still run there); run again")
            continue
        for target in members:
            own = {rollout_id, previous.get(target.host) or rollout_id} - {""}
            latest = latest_invocations(invocations, own)
            statuses[target.host] = host_status(latest.get(target.instance_id), rollout_id,
                                                probed[target.host].get("last_boot_up_time"))
    return statuses, errors


def wait_for_earlier(client: EcsClient, earlier: Sequence[tuple[str, str]], timeout: float,
                     interval: float) -> dict[str, dict[str, Any]]:
    """Wait for the earlier installs ``(instance id, invoke id)``; instance id -> its result (``ca.instance_result``)."""

    def poll() -> dict[str, dict[str, Any]]:
        latest: dict[str, dict[str, Any]] = {}
        for instance_id, invoke_id in earlier:
            params = {**ca.describe_results_params(client.region_id, invoke_id), "InstanceId": instance_id}
            for record in client.call_paged("DescribeInvocationResults", params,
                                            ("Invocation", "InvocationResults", "InvocationResult"),
                                            context=f"invocation {invoke_id}"):
                if record.get("InstanceId") == instance_id:
                    latest[instance_id] = ca.instance_result(record)
        return latest

    def all_finished(latest: dict[str, dict[str, Any]]) -> bool:
        return all(latest.get(instance, {}).get("finished") for instance, _invoke in earlier)

    try:
        return wait_until(poll, all_finished, timeout, interval).value
    except AlicloudError as err:
        return {instance: ca.skipped_result(instance, "Failed", str(err)) for instance, _invoke in earlier}
