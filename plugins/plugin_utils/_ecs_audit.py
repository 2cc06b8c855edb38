# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The virtio audit through the ECS API: Cloud Assistant batches instead of WinRM round trips.

Hosts are grouped by region and cut into batches of at most ``batch_size`` instances (RunCommand takes 100 at most).
Each batch is one DescribeInstances (who is Running), one RunCommand of the PowerShell 2.0 probe
script, and DescribeInvocationResults (paged) until every instance of the batch is final; the
batches run on a small pool of threads per region, so the API's latency and the script's run time overlap.
Every instance's output goes through the same assessment as the WinRM probe
(``_virtio.assess_probe``). One host's problem (no instance, stopped, agent offline, a script
failure, even an API error for its batch) becomes that host's row; the audit never stops.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from ansible_collections.winfleet.updates.plugins.module_utils import _ecs_cloud_assistant as ca
from ansible_collections.winfleet.updates.plugins.module_utils import _virtio
from ansible_collections.winfleet.updates.plugins.module_utils._alicloud import AlicloudError, EcsClient, Waiting, ecs_client_from_params
from ansible_collections.winfleet.updates.plugins.module_utils._ecs_probe_script import parse_probe_output
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.plugin_utils._inventory_vars import variable_reader

# The agent did not take the command: the instance cannot be reached through Cloud Assistant.
_AGENT_UNREACHABLE = frozenset({"ClientNotRunning", "ClientNetworkBlocked", "ClientNotResponse", "DeliveryTimeout",
                                "ClientIsUpgrading", "ClientNeedUpgrade", "InstanceNotRunning"})


@dataclass(frozen=True)
class Target:
    """One inventory host and the ECS instance behind it."""

    host: str
    instance_id: str
    region: str


@dataclass(frozen=True)
class Settings:
    required_capabilities: Sequence[str]
    thresholds: Mapping[str, int]
    batch_size: int = ca.MAX_INSTANCES_PER_INVOCATION
    concurrency: int = 10
    script_timeout: int = 300
    waiting: Waiting = field(default_factory=lambda: Waiting(timeout=600, interval=1.0))


def targets_from_hostvars(hosts: Sequence[str], variables: Callable[[str], Mapping[str, Any]]) -> tuple[list[Target], dict[str, dict[str, Any]]]:
    """The hosts with ECS variables as targets; the others get a failed result at once."""
    targets, failed = [], {}
    for host in hosts:
        hostvars = variables(host)
        instance_id, region = hostvars.get("ecs_instance_id"), hostvars.get("alicloud_region")
        if not instance_id or not region:
            failed[host] = {"failed": True, "ecs_instance_id": instance_id or None,
                            "msg": "virtio_transport=ecs_api needs the host variables ecs_instance_id and alicloud_region "
                                   "(the winfleet.updates.ecs inventory sets them)"}
        else:
            targets.append(Target(host, str(instance_id), str(region)))
    return targets, failed


def hostvars_reader(hostvars: Mapping[str, Any], default_region: str | None) -> Callable[[str], Mapping[str, Any]]:
    """A host's ECS variables (``region_id`` for hosts without ``alicloud_region``).

    Read from the inventory where it holds them (``_inventory_vars``): ``hostvars[host]`` would compute
    every variable of each of thousands of hosts.
    """
    read = variable_reader(hostvars, ("ecs_instance_id", "alicloud_region"))

    def variables(host: str) -> Mapping[str, Any]:
        found = read(host)
        return {**found, "alicloud_region": found["alicloud_region"] or default_region}

    return variables


def client_for_region(args: Mapping[str, Any], region: str) -> EcsClient:
    """The client the module options give for one region (credentials and endpoint checked, no call made)."""
    try:
        client, _credentials = ecs_client_from_params({**args, "region_id": region}, os.environ)
    except AlicloudError as err:  # pragma: no cover - building a client makes no call
        raise InputError("endpoint", str(err)) from err
    return client


def plan_batches(targets: Sequence[Target], batch_size: int) -> list[list[Target]]:
    """Per region (in first-seen order), consecutive batches of at most ``batch_size``."""
    if not 1 <= batch_size <= ca.MAX_INSTANCES_PER_INVOCATION:
        raise InputError("batch_size", f"expected 1 to {ca.MAX_INSTANCES_PER_INVOCATION} (RunCommand's limit), got {batch_size}")
    by_region: dict[str, list[Target]] = {}
    for target in targets:
        by_region.setdefault(target.region, []).append(target)
    return [chunk for members in by_region.values()
            for chunk in (members[i:i + batch_size] for i in range(0, len(members), batch_size))]


def agent_unreachable(record: Mapping[str, Any]) -> bool:
    """Whether the agent never took the command (one instance's ``ca.instance_result``): unreachable, not failed."""
    return record.get("error_code") in _AGENT_UNREACHABLE


def host_result(target: Target, record: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    """One instance's invocation record (``ca.instance_result``) as the host's probe result."""
    base = {"ecs_instance_id": target.instance_id}
    if not record.get("succeeded"):
        kind = "unreachable" if record.get("error_code") in _AGENT_UNREACHABLE else "failed"
        output = (record.get("output") or "").strip()
        tail = f"; output: {output[-300:]}" if output else ""
        return {**base, kind: True, "msg": f"{target.host}: {ca.failure_message(record)}{tail}"}
    try:
        raw = parse_probe_output(record.get("output", ""))
        assessment = _virtio.assess_probe(raw, settings.required_capabilities, settings.thresholds)
    except InputError as err:
        return {**base, "failed": True, "msg": f"{target.host} ({target.instance_id}): {err}"}
    # when the host last started (the probe's Win32_OperatingSystem.LastBootUpTime, UTC): whether an
    # install of an interrupted run was followed by a restart (plugin_utils._ecs_install_attach)
    return {**base, "changed": False, **assessment, "last_boot_up_time": (raw.get("os") or {}).get("last_boot_up_time")}


def audit_batch(client: EcsClient, batch: Sequence[Target], script: str, settings: Settings) -> dict[str, dict[str, Any]]:
    """Probe one batch (one region, at most ``batch_size`` instances); a result for every host of it."""
    try:
        run = ca.run_on_instances(client, [t.instance_id for t in batch], content=script,
                                  timeout=settings.script_timeout, name="winfleet-virtio-probe", waiting=settings.waiting)
    except (AlicloudError, InputError) as err:
        return {t.host: {"ecs_instance_id": t.instance_id, "failed": True, "msg": f"{t.host}: {err}"} for t in batch}
    records = {r["instance_id"]: r for r in run.get("results", [])}
    return {t.host: host_result(t, records.get(t.instance_id) or ca.skipped_result(t.instance_id, "Pending", "no result reported"),
                                settings) for t in batch}


def audit(targets: Sequence[Target], client_for: Callable[[str], EcsClient], script: str,
          settings: Settings, on_batch: Callable[[dict[str, dict[str, Any]]], None] = lambda results: None,
          keep: Callable[[dict[str, Any]], dict[str, Any]] = lambda result: result,
          ) -> tuple[dict[str, dict[str, Any]], int]:
    """Probe every target; returns host -> result and the number of API calls made.

    ``on_batch`` gets each batch's results as soon as that batch is done (from its thread): the
    progress line of a long audit (``module_utils._progress.BatchTally``). ``keep`` is what is kept
    of each result until the end (the report's fields only, when the caller writes the report):
    the whole result of 10,000 hosts, every driver file's details included, is about 55 MiB.
    """
    batches = plan_batches(targets, settings.batch_size)
    clients: list[EcsClient] = []

    def one(batch: list[Target]) -> dict[str, dict[str, Any]]:
        client = client_for(batch[0].region)  # one client per batch: threads share nothing
        clients.append(client)
        answer = audit_batch(client, batch, script, settings)
        on_batch(answer)
        return {host: keep(result) for host, result in answer.items()}

    results: dict[str, dict[str, Any]] = {}
    if not batches:
        return results, 0
    # ``concurrency`` batches in flight per region: ECS throttles each API per region and account, and
    # a region's throttling does not affect the others
    # (https://www.alibabacloud.com/help/doc-detail/437902.htm), so regions do not
    # share one limit. One pool per region, all regions at once.
    by_region: dict[str, list[list[Target]]] = {}
    for batch in batches:
        by_region.setdefault(batch[0].region, []).append(batch)
    pools = [ThreadPoolExecutor(max_workers=min(settings.concurrency, len(members))) for members in by_region.values()]
    try:
        running = [pool.map(one, members) for pool, members in zip(pools, by_region.values())]
        for answers in running:
            for answer in answers:
                results.update(answer)
    finally:
        for pool in pools:
            pool.shutdown(wait=True)
    return results, sum(len(c.calls) for c in clients)
