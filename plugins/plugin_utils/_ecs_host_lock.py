# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host's virtio lock through Cloud Assistant, for a whole batch (for internal collection use only).

The WinRM rollout takes each host's lock with ``winfleet.updates.virtio_lock``; with
``virtio_transport: ecs_api`` this takes the same lock (the same file, the same mutex,
``module_utils._ecs_lock_script``) for every instance of a batch with one RunCommand per region,
under the same run identity (``_controller_run.this_run``), so a WinRM rollout and an API rollout
on one host exclude each other. The decisions are the WinRM path's: the script's for the host
side, ``_virtio_lock.owner_gone`` for a holder whose controller process is gone (taken over at
once, one more RunCommand for those hosts only). The lock is released at the end of the batch,
whatever happened to it, except on hosts that could not be reached, where an install may still
be running.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from ansible_collections.winfleet.updates.plugins.module_utils import _ecs_cloud_assistant as ca
from ansible_collections.winfleet.updates.plugins.module_utils._alicloud import AlicloudError, EcsClient, Waiting
from ansible_collections.winfleet.updates.plugins.module_utils._ecs_lock_script import lock_script, parse_lock_output
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._virtio_lock import Controller, owner_gone
from ansible_collections.winfleet.updates.plugins.plugin_utils._controller_run import process_started, this_run
from ansible_collections.winfleet.updates.plugins.plugin_utils._ecs_audit import Target, agent_unreachable

#: RunCommand's Name for the lock steps (DescribeInvocations can find them by it).
LOCK_COMMAND = "winfleet-virtio-lock"
RELEASE_COMMAND = "winfleet-virtio-unlock"


@dataclass(frozen=True)
class LockSettings:
    """How the batch's lock is taken: for which rollout, for how long, and whether only previewed."""

    rollout_id: str
    ttl_s: int
    script_timeout: int
    waiting: Waiting
    check_mode: bool = False


@dataclass
class HostLock:
    """One host's lock after the take step."""

    acquired: bool = False
    attached: bool = False
    took_over: str | None = None
    busy: str | None = None  # the holder, in the script's words
    error: str | None = None
    unreachable: bool = False
    holder: dict[str, Any] = field(default_factory=dict)
    #: The rollout id of the run whose lock this run took over (its install may still run on the host).
    previous_rollout_id: str | None = None


def busy_error(host: str, busy: str) -> str:
    """The refusal of a host another run holds, as the WinRM rollout words it (roles/virtio_update/tasks/lock.yml)."""
    return (f"{host} is {busy}: another rollout is updating it, so this run does not touch it. Wait for that run, "
            "or re-run with the same virtio_rollout_id to take it over; the lock expires by itself at the time "
            "shown if its run was killed.")


def _run_script(client: EcsClient, targets: Sequence[Target], script: str, name: str,
                settings: LockSettings) -> dict[str, dict[str, Any]]:
    """The script on these instances; instance id -> its record (an API error is every instance's)."""
    ids = [t.instance_id for t in targets]
    try:
        run = ca.run_on_instances(client, ids, content=script, timeout=settings.script_timeout, name=name,
                                  waiting=settings.waiting)
    except (AlicloudError, InputError) as err:
        return {i: ca.skipped_result(i, "Failed", str(err)) for i in ids}
    return {r["instance_id"]: r for r in run.get("results", [])}


def _read(target: Target, record: Mapping[str, Any], lock: HostLock) -> dict[str, Any] | None:
    """The script's answer for one host, or None with the host's error set."""
    if not record.get("succeeded"):
        output = (record.get("output") or "").strip()
        tail = f"; output: {output[-300:]}" if output else ""
        lock.unreachable = agent_unreachable(record)
        lock.error = (f"{target.host}: {ca.failure_message(record)}{tail}" if lock.unreachable else
                      f"taking the virtio lock on {target.host} ({target.instance_id}) through Cloud Assistant failed: "
                      f"{ca.failure_message(record)}{tail}")
        return None
    try:
        return parse_lock_output(record.get("output", ""))
    except InputError as err:
        lock.error = f"taking the virtio lock on {target.host} ({target.instance_id}): {err}"
        return None


def _apply(answer: Mapping[str, Any], lock: HostLock) -> None:
    if answer["busy"] or answer["attached"]:
        lock.previous_rollout_id = lock.previous_rollout_id or str((answer.get("holder") or {}).get("rollout_id") or "")
    lock.acquired = bool(answer["acquired"])
    lock.attached = lock.attached or bool(answer["attached"])
    lock.holder = dict(answer.get("holder") or {})
    lock.busy = str(answer.get("msg") or "busy") if answer["busy"] else None


def take_locks(targets: Sequence[Target], client_for: Callable[[str], EcsClient],
               settings: LockSettings) -> dict[str, HostLock]:
    """Take every target's lock for this run (check mode: only read who holds it); host -> its lock."""
    here = this_run()
    locks = {t.host: HostLock() for t in targets}
    by_region: dict[str, list[Target]] = {}
    for target in targets:
        by_region.setdefault(target.region, []).append(target)
    for region, members in by_region.items():
        client = client_for(region)
        records = _run_script(client, members, _script("present", here, settings), LOCK_COMMAND, settings)
        stale: dict[str, list[Target]] = {}
        for target in members:
            lock = locks[target.host]
            answer = _read(target, records.get(target.instance_id) or
                           ca.skipped_result(target.instance_id, "Pending", "no result reported"), lock)
            if answer is None:
                continue
            _apply(answer, lock)
            holder = lock.holder
            if lock.busy and owner_gone(str(holder.get("controller", "")), here, process_started):
                stale.setdefault(str(holder.get("run_id")), []).append(target)
        for run_id, group in stale.items():
            records = _run_script(client, group, _script("present", here, settings, takeover=run_id),
                                  LOCK_COMMAND, settings)
            for target in group:
                lock = locks[target.host]
                answer = _read(target, records.get(target.instance_id) or
                               ca.skipped_result(target.instance_id, "Pending", "no result reported"), lock)
                if answer is not None:
                    _apply(answer, lock)
                    lock.took_over = run_id if lock.acquired else None
    return locks


def release_locks(targets: Sequence[Target], client_for: Callable[[str], EcsClient],
                  settings: LockSettings) -> dict[str, bool]:
    """Release this run's lock on these hosts; host -> released. A failure is left to the lock's expiry."""
    here = this_run()
    released: dict[str, bool] = {}
    by_region: dict[str, list[Target]] = {}
    for target in targets:
        by_region.setdefault(target.region, []).append(target)
    for region, members in by_region.items():
        try:
            client = client_for(region)
        except (AlicloudError, InputError):
            continue
        records = _run_script(client, members, _script("absent", here, settings), RELEASE_COMMAND, settings)
        for target in members:
            record = records.get(target.instance_id) or {}
            try:
                released[target.host] = bool(record.get("succeeded")) and parse_lock_output(record.get("output", ""))["released"]
            except InputError:
                released[target.host] = False  # the lock expires by itself
    return released


def _script(state: str, here: Controller, settings: LockSettings, takeover: str = "") -> str:
    return lock_script(state, here.identity, rollout_id=settings.rollout_id, controller=here.identity,
                       ttl_s=settings.ttl_s, takeover=takeover, check_mode=settings.check_mode)
