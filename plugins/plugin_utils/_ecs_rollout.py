# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One batch of the virtio rollout through the ECS API: every host step batched, no WinRM.

The rollout play cuts the fleet into batches (``serial`` / waves); for one batch this runs, from
the controller, each step for all the batch's instances at once:

1. probe and decide: the audit's batched probe (``_ecs_audit.audit``), judged by the WinRM path's
   ``decide`` (``_ecs_rollout.decision_record``);
2. snapshot the hosts to install (``_ecs_snapshot.ensure_snapshots``, the snapshot role's code);
3. pause the third-party antivirus (one RunCommand), install (one RunCommand or InvokeCommand),
   resume the antivirus that was paused (one RunCommand), all through ``run_on_instances``;
4. RebootInstances and wait for Running (``_ecs_cloud_assistant.reboot``), then for the Cloud
   Assistant agent (DescribeCloudAssistantStatus);
5. verify by the same probe.

A host that fails a step leaves the later steps with its reason; the others go on. Every host
ends with the ``virtio_update_result`` / ``reboot_verify_result`` pair the WinRM roles publish, so
the role writes the same report and fails the failed hosts outside any block.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from ansible_collections.winfleet.updates.plugins.module_utils import _ecs_cloud_assistant as ca
from ansible_collections.winfleet.updates.plugins.module_utils import _ecs_rollout as decisions
from ansible_collections.winfleet.updates.plugins.module_utils import _virtio
from ansible_collections.winfleet.updates.plugins.module_utils._alicloud import AlicloudError, EcsClient, Waiting, wait_until
from ansible_collections.winfleet.updates.plugins.module_utils._ecs_antivirus_script import (
    antivirus_script,
    parse_antivirus_output,
)
from ansible_collections.winfleet.updates.plugins.module_utils._ecs_package_script import parse_package_output
from ansible_collections.winfleet.updates.plugins.module_utils._ecs_probe_script import probe_script
from ansible_collections.winfleet.updates.plugins.module_utils._ecs_snapshot import ensure_snapshots, remove_snapshots
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._ecs_install_runs import install_tags
from ansible_collections.winfleet.updates.plugins.plugin_utils import _ecs_audit, _ecs_host_lock, _ecs_install_attach
from ansible_collections.winfleet.updates.plugins.plugin_utils._ecs_audit import Target


#: Decisions that change the host: a new install, or one an interrupted run of this rollout started.
_CHANGES_HOST = ("install", "attach", "reboot_pending")


@dataclass(frozen=True)
class SnapshotSettings:
    provider: str = "none"
    rollout_id: str = ""
    disk_scope: str = "all"
    retention: str = "keep"
    grace_minutes: int = 0
    waiting: Waiting = field(default_factory=lambda: Waiting(timeout=1800, interval=5.0))


@dataclass(frozen=True)
class Settings:
    probe: _ecs_audit.Settings
    install: decisions.InstallCommand
    source: str
    antivirus_services: Sequence[str]
    install_timeout: int
    reboot_timeout: float
    poll_interval: float
    snapshot: SnapshotSettings
    check_mode: bool = False
    # the reboot's wait reads and sleeps on these (injectable, so a test's clock can drive it)
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    #: The host's virtio lock (None: not taken), the WinRM rollout's lock through Cloud Assistant.
    lock: _ecs_host_lock.LockSettings | None = None
    #: The rollout id the install invocation is tagged with, so a re-run finds it (``_ecs_install_attach``).
    rollout_id: str = ""


@dataclass
class _Host:
    """What one host went through so far."""

    target: Target
    decided: dict[str, Any]
    snapshot_ids: list[str] = field(default_factory=list)
    paused: list[str] = field(default_factory=list)
    antivirus_error: str | None = None
    install: dict[str, Any] = field(default_factory=dict)
    rebooted: bool = False
    verify_probe: dict[str, Any] | None = None
    snapshots_deleted: list[str] = field(default_factory=list)
    unreachable: bool = False
    error: str | None = None

    @property
    def going(self) -> bool:
        return self.error is None and not self.unreachable

    def fail(self, message: str, unreachable: bool = False) -> None:
        self.error = self.error or message
        self.unreachable = self.unreachable or unreachable


def decide_batch(targets: Sequence[Target], client_for: Callable[[str], EcsClient], settings: Settings,
                 previous: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """Probe the batch (read-only) and decide each host, as ``virtio_install`` in check mode does."""
    probed, _calls = _ecs_audit.audit(targets, client_for, probe_script(_virtio.DEFAULT_DRIVER_FILES), settings.probe)
    statuses, unknown = _ecs_install_attach.earlier_installs(targets, probed, client_for, settings.rollout_id, previous) \
        if settings.rollout_id and targets else ({}, {})
    for host, reason in unknown.items():
        probed[host] = {**probed[host], "failed": True, "msg": reason}
    return {t.host: decisions.decision_record(probed[t.host], statuses.get(t.host), settings.rollout_id) for t in targets}


def run_batch(targets: Sequence[Target], client_for: Callable[[str], EcsClient], settings: Settings) -> dict[str, dict[str, Any]]:
    """Every step for the batch; host -> {"update": ..., "verify": ..., "error": ...}."""
    locks = _ecs_host_lock.take_locks(targets, client_for, settings.lock) if settings.lock else {}
    refused = {host: _lock_refusal(host, lock) for host, lock in locks.items() if not lock.acquired}
    hosts: list[_Host] = []
    try:
        # a lock taken over from another rollout: that rollout's install may still run there
        previous = {host: lock.previous_rollout_id for host, lock in locks.items() if lock.previous_rollout_id}
        decided = {**refused, **decide_batch([t for t in targets if t.host not in refused], client_for, settings, previous)}
        hosts = [_Host(t, decided[t.host]) for t in targets]
        to_install = [h for h in hosts if h.decided["decision"] in _CHANGES_HOST]
        if not settings.check_mode and to_install:
            by_region: dict[str, list[_Host]] = {}
            for host in to_install:
                by_region.setdefault(host.target.region, []).append(host)
            for region, members in by_region.items():
                _update_region(client_for, region, members, settings)
        if not settings.check_mode and settings.antivirus_services:
            _resume_left_paused(hosts, client_for, settings)
    finally:
        _release_locks(targets, hosts, locks, client_for, settings)
    return {h.target.host: _published(h, settings) for h in hosts}


def _lock_refusal(host: str, lock: _ecs_host_lock.HostLock) -> dict[str, Any]:
    """The decision record of a host whose lock this run could not take (busy, unreachable, failed)."""
    error = _ecs_host_lock.busy_error(host, lock.busy) if lock.busy else lock.error or f"{host}: the virtio lock was not taken"
    return {"decision": "busy" if lock.busy else None, "decision_msg": None, "build_before": None,
            "version_before": None, "unreachable": lock.unreachable, "error": error}


def _release_locks(targets: Sequence[Target], hosts: list[_Host], locks: Mapping[str, _ecs_host_lock.HostLock],
                   client_for: Callable[[str], EcsClient], settings: Settings) -> None:
    """Release what this run took, even when the batch failed; an unreachable host keeps it (an install may run)."""
    if settings.lock is None or settings.lock.check_mode:
        return
    lost = {h.target.host for h in hosts if h.unreachable or h.decided.get("unreachable")}
    held = [t for t in targets if locks.get(t.host) and locks[t.host].acquired and t.host not in lost]
    if held:
        _ecs_host_lock.release_locks(held, client_for, settings.lock)


def _update_region(client_for: Callable[[str], EcsClient], region: str, hosts: list[_Host], settings: Settings) -> None:
    """Snapshot, pause, install, resume, reboot, wait, verify: one call per step for the region's hosts."""
    client = client_for(region)
    if settings.snapshot.provider == "alicloud_ecs":
        _snapshot_in_parallel(client_for, region, hosts, settings.snapshot)
    if settings.antivirus_services:
        _pause_antivirus(client, [h for h in hosts if h.going], settings)
    _install(client, [h for h in hosts if h.going], settings)
    # the hosts whose record names paused services after the pause (or whose pause failed)
    _resume_antivirus(client, [h for h in hosts if h.paused], settings)
    _reboot(client, [h for h in hosts if h.going], settings)
    _verify(client_for, [h for h in hosts if h.going], settings)
    if settings.snapshot.provider == "alicloud_ecs" and settings.snapshot.retention == "delete_after_verify":
        _delete_snapshots(client, [h for h in hosts if h.going and h.snapshot_ids], settings.snapshot)


#: Hosts of a batch snapshotted at once: each waits for its snapshots to complete, which takes
#: minutes, so one after another a batch of 20 would wait 20 times as long as one host.
SNAPSHOT_PARALLELISM = 10


def _snapshot_in_parallel(client_for: Callable[[str], EcsClient], region: str, hosts: list[_Host],
                          snapshot: SnapshotSettings) -> None:
    """Snapshot every host of the batch at the same time (each on its own client, as the probe's threads)."""
    if not hosts:
        return
    with ThreadPoolExecutor(max_workers=min(SNAPSHOT_PARALLELISM, len(hosts))) as pool:
        list(pool.map(lambda host: _snapshot_host(client_for(region), host, snapshot), hosts))


def _snapshot_host(client: EcsClient, host: _Host, snapshot: SnapshotSettings) -> None:
    try:
        made = ensure_snapshots(client, host.target.instance_id, snapshot.rollout_id, disk_scope=snapshot.disk_scope,
                                waiting=snapshot.waiting)
        host.snapshot_ids = list(made.get("snapshot_ids") or [])
    except (AlicloudError, InputError) as err:
        host.fail(f"the snapshot before the update failed, so {host.target.host} was not changed: {err}")


def _run(client: EcsClient, hosts: list[_Host], settings: Settings, *, content: str | None = None,
         command_id: str | None = None, timeout: int | None = None, name: str,
         tags: Sequence[Mapping[str, str]] = ()) -> dict[str, dict[str, Any]]:
    """One Cloud Assistant command on these hosts; instance id -> its record (an API error: every host's)."""
    ids = [h.target.instance_id for h in hosts]
    timeout = timeout or settings.probe.script_timeout
    try:
        run = ca.run_on_instances(client, ids, content=content, command_id=command_id, timeout=timeout, name=name,
                                  waiting=Waiting(timeout=timeout + 60, interval=settings.poll_interval), tags=tags)
    except AlicloudError as err:
        return {i: ca.skipped_result(i, "Failed", str(err)) for i in ids}
    return {r["instance_id"]: r for r in run.get("results", [])}


def _step_failure(host: _Host, record: Mapping[str, Any], what: str) -> None:
    output = (record.get("output") or "").strip()
    tail = f"; output: {output[-300:]}" if output else ""
    host.fail(f"{what} on {host.target.host} ({host.target.instance_id}) failed: {ca.failure_message(record)}{tail}",
              unreachable=_ecs_audit.agent_unreachable(record))


def _pause_antivirus(client: EcsClient, hosts: list[_Host], settings: Settings) -> None:
    if not hosts:
        return
    records = _run(client, hosts, settings, content=antivirus_script(settings.antivirus_services, "stop"),
                   name="winfleet-antivirus-pause")
    for host in hosts:
        record = records.get(host.target.instance_id) or ca.skipped_result(host.target.instance_id, "Pending", "no result")
        if not record.get("succeeded"):
            _step_failure(host, record, "pausing the antivirus")
            # whatever the script stopped before it failed is resumed below
            host.paused = list(settings.antivirus_services)
            continue
        try:
            # the host's record after the pause: what this run stopped and what an interrupted one left
            host.paused = parse_antivirus_output(record.get("output", ""))["paused"]
        except InputError as err:
            host.fail(f"pausing the antivirus on {host.target.host}: {err}")
            host.paused = list(settings.antivirus_services)


def _install(client: EcsClient, hosts: list[_Host], settings: Settings) -> None:
    if not hosts:
        return
    command = settings.install
    fresh = [h for h in hosts if h.decided["decision"] == "install"]
    records = _run(client, fresh, settings, content=command.content, command_id=command.command_id,
                   timeout=settings.install_timeout, name="winfleet-virtio-install",
                   tags=install_tags(settings.rollout_id)) if fresh else {}
    records.update(_earlier_installs(client, [h for h in hosts if h not in fresh], settings))
    for host in hosts:
        record = records.get(host.target.instance_id) or ca.skipped_result(host.target.instance_id, "Pending", "no result")
        host.install = {
            "changed": record.get("invoke_id") is not None and host in fresh,
            "attached": host not in fresh,
            "failed": not record.get("succeeded"),
            "succeeded": bool(record.get("succeeded")),
            "source": settings.source,
            "command": command.description,
            "instance_id": host.target.instance_id,
            "invoke_id": record.get("invoke_id"),
            "exit_code": record.get("exit_code"),
            "status": record.get("status"),
            "error_code": record.get("error_code"),
            "output": (record.get("output") or "")[-2000:],
        }
        package = parse_package_output(record.get("output") or "") if settings.source == "package" else None
        if package is not None:
            host.install["infs"] = package["infs"]
        if host not in fresh and not record.get("finished"):
            host.fail(f"the install started earlier on {host.target.host} ({host.target.instance_id}, invocation "
                      f"{record.get('invoke_id')}) is still running after install_timeout={settings.install_timeout} s; "
                      "it goes on on the instance: re-run with the same virtio_rollout_id to wait for it and finish "
                      "(it is not started twice)")
        elif package is not None and package["error"]:
            _package_failure(host, package)
        elif not record.get("succeeded"):
            _step_failure(host, record, "the virtio install through Cloud Assistant")


def _package_failure(host: _Host, package: Mapping[str, Any]) -> None:
    """The package script's own reason (download, checksum, unpack, pnputil), which says whether anything changed."""
    host.fail(f"the offline package install on {host.target.host} ({host.target.instance_id}) failed at its "
              f"{package['step']} step: {package['error']}")


def _earlier_installs(client: EcsClient, hosts: list[_Host], settings: Settings) -> dict[str, dict[str, Any]]:
    """The installs an interrupted run of this rollout started: waited for (attach), or read (reboot_pending)."""
    earlier = [(h.target.instance_id, str(h.decided.get("invoke_id"))) for h in hosts]
    if not earlier:
        return {}
    return _ecs_install_attach.wait_for_earlier(client, earlier, settings.install_timeout, settings.poll_interval)


def _resume_antivirus(client: EcsClient, hosts: list[_Host], settings: Settings) -> None:
    """Restart what each host's record names among antivirus_services (one call for the hosts).

    The record on the host, not the controller's memory, says what was paused: a run killed between
    the pause and the resume left it, and this resume (of the next run) restarts those services.
    """
    if not hosts:
        return
    records = _run(client, hosts, settings, content=antivirus_script(list(settings.antivirus_services), "start"),
                   name="winfleet-antivirus-resume")
    for host in hosts:
        record = records.get(host.target.instance_id) or ca.skipped_result(host.target.instance_id, "Pending", "no result")
        started: list[str] = []
        problem = None if record.get("succeeded") else ca.failure_message(record)
        if problem is None:
            try:
                started = parse_antivirus_output(record.get("output", ""))["done"]
            except InputError as err:
                problem = str(err)
        host.paused = host.paused + [n for n in started if n.lower() not in {p.lower() for p in host.paused}]
        if problem is not None:
            names = ", ".join(host.paused or settings.antivirus_services)
            host.antivirus_error = problem
            host.fail(f"The antivirus services paused on {host.target.host} ({names}) could not be "
                      f"restarted ({host.antivirus_error}): they are still stopped; the next run restarts them, "
                      "or start them by hand.")


# Hosts a run does not install but whose record may name services an interrupted run paused (the
# WinRM role resumes for these decisions too); refused or unprobed hosts are left alone.
_RESUME_ONLY_DECISIONS = ("compliant", "updated")


def _resume_left_paused(hosts: Sequence[_Host], client_for: Callable[[str], EcsClient], settings: Settings) -> None:
    """Restart what the record of a host that needs no install still names (a killed run's pause)."""
    by_region: dict[str, list[_Host]] = {}
    for host in hosts:
        if host.decided.get("decision") in _RESUME_ONLY_DECISIONS:
            by_region.setdefault(host.target.region, []).append(host)
    for region, members in by_region.items():
        _resume_antivirus(client_for(region), members, settings)


def _reboot(client: EcsClient, hosts: list[_Host], settings: Settings) -> None:
    if not hosts:
        return
    waiting = Waiting(timeout=settings.reboot_timeout, interval=settings.poll_interval,
                      clock=settings.clock, sleep=settings.sleep)
    # one deadline for the whole reboot: Running again AND the agent online, within reboot_timeout
    deadline = waiting.clock() + settings.reboot_timeout
    try:
        answer = ca.reboot(client, [h.target.instance_id for h in hosts], waiting=waiting)
    except AlicloudError as err:
        for host in hosts:
            host.fail(f"RebootInstances failed for {host.target.host}: {err}", unreachable=True)
        return
    records = {r["instance_id"]: r for r in answer.get("results", [])}
    for host in hosts:
        record = records.get(host.target.instance_id, {})
        host.rebooted = bool(record.get("rebooted"))
        if not record.get("succeeded"):
            host.fail(f"{host.target.host} did not come back within reboot_timeout={settings.reboot_timeout:g} s after "
                      f"its restart ({record.get('error_info') or record.get('status')}). Check the instance's console.",
                      unreachable=True)
    left = Waiting(timeout=max(0.0, deadline - waiting.clock()), interval=settings.poll_interval,
                   clock=waiting.clock, sleep=waiting.sleep)
    _wait_for_agents(client, [h for h in hosts if h.going], left, settings.reboot_timeout)


def _wait_for_agents(client: EcsClient, hosts: list[_Host], waiting: Waiting, reboot_timeout: float) -> None:
    """After the boot, the Cloud Assistant agent must be online again before the verifying probe.

    ``waiting.timeout`` is what is left of ``reboot_timeout`` once the instances were Running again
    (at least one poll is made, so an agent already online is seen even when nothing is left).
    """
    if not hosts:
        return
    ids = [h.target.instance_id for h in hosts]
    try:
        states = wait_until(lambda: ca.agent_states(client, ids), lambda s: all(s.get(i) for i in ids),
                            waiting.timeout, waiting.interval, waiting.clock, waiting.sleep).value
    except AlicloudError as err:
        states = {}
        reason = str(err)
    else:
        reason = "DescribeCloudAssistantStatus"
    for host in hosts:
        if not states.get(host.target.instance_id):
            host.fail(f"{host.target.host} is Running again but its Cloud Assistant agent did not come online within "
                      f"reboot_timeout={reboot_timeout:g} s of the restart ({reason}); the update cannot be verified. "
                      "Check the AliyunService service.", unreachable=True)


def _verify(client_for: Callable[[str], EcsClient], hosts: list[_Host], settings: Settings) -> None:
    if not hosts:
        return
    probed, _calls = _ecs_audit.audit([h.target for h in hosts], client_for,
                                      probe_script(_virtio.DEFAULT_DRIVER_FILES), settings.probe)
    for host in hosts:
        probe = probed[host.target.host]
        host.verify_probe = probe
        problem = decisions.verification_error(host.target.host, probe)
        if problem:
            host.fail(problem, unreachable=bool(probe.get("unreachable")))


def _delete_snapshots(client: EcsClient, hosts: list[_Host], snapshot: SnapshotSettings) -> None:
    for host in hosts:
        try:
            removed = remove_snapshots(client, snapshot.rollout_id, instance_id=host.target.instance_id,
                                       grace_minutes=snapshot.grace_minutes)
            host.snapshots_deleted = list(removed.get("deleted") or [])
        except (AlicloudError, InputError):
            host.snapshots_deleted = []  # kept: the update is verified, the snapshots only cost money


def _published(host: _Host, settings: Settings) -> dict[str, Any]:
    decision = host.decided.get("decision")
    update = decisions.update_record(
        host.decided, source=settings.source, snapshot_provider=settings.snapshot.provider,
        antivirus_services=settings.antivirus_services, check_mode=settings.check_mode,
        snapshot_ids=host.snapshot_ids, antivirus_paused=host.paused, antivirus_error=host.antivirus_error,
        install=host.install, unreachable=host.unreachable and not host.rebooted and not host.install, error=host.error,
    )
    acted = decision in _CHANGES_HOST and not settings.check_mode and bool(host.install) and host.install.get("succeeded")
    verify = decisions.verify_record(
        host.verify_probe, rebooted=host.rebooted, check_mode=settings.check_mode,
        unreachable=host.unreachable and bool(acted), error=host.error if acted else None,
        snapshots_deleted=host.snapshots_deleted,
    ) if acted or settings.check_mode else None
    return {"ecs_instance_id": host.target.instance_id, "update": update, "verify": verify,
            "error": update["error"] or (verify or {}).get("error")}
