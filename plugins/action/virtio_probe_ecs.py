# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of winfleet.updates.virtio_probe_ecs: the virtio probe through Cloud Assistant, batched.

With ``report_dest`` it also writes the virtio_audit report itself and returns only its summary:
every host's result stays in this process, instead of being registered, copied into each host's
variables, templated into a report task's options and sent through Ansible's result queue again,
which for 1,000 hosts cost more than the API calls.
"""

from __future__ import annotations

from typing import Any, Mapping

from ansible_collections.winfleet.updates.plugins.module_utils import _virtio
from ansible_collections.winfleet.updates.plugins.module_utils._alicloud import (
    HAS_SDK,
    SDK_REQUIREMENT,
    EcsClient,
    Waiting,
    alicloud_argument_spec,
)
from ansible_collections.winfleet.updates.plugins.module_utils._ecs_probe_script import probe_script
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._progress import BatchTally, ProgressLog
from ansible_collections.winfleet.updates.plugins.module_utils._virtio_report import AUDIT_COLUMNS
from ansible_collections.winfleet.updates.plugins.plugin_utils import _ecs_audit
from ansible_collections.winfleet.updates.plugins.plugin_utils._action import WinfleetAction
from ansible_collections.winfleet.updates.plugins.plugin_utils._fleet_report import write_fleet_report
from ansible_collections.winfleet.updates.plugins.plugin_utils._progress import heartbeat, show_progress
from ansible_collections.winfleet.updates.plugins.plugin_utils._virtio_probe import CAPABILITY_OPTIONS


# What the virtio_audit report reads of a probe result (_virtio_report.audit_row): with report_dest
# only these are kept per host until the report is written, not every driver file's details.
_REPORT_FIELDS = frozenset(AUDIT_COLUMNS) | {"unreachable", "failed", "msg"}


def _report_fields(result: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in result.items() if key in _REPORT_FIELDS}


def _whole(result: dict[str, Any]) -> dict[str, Any]:
    return result


class ActionModule(WinfleetAction):
    ARGUMENT_SPEC = {
        **alicloud_argument_spec(),
        "hosts": {"type": "list", "elements": "str", "required": True},
        "driver_files": {"type": "list", "elements": "str", "default": list(_virtio.DEFAULT_DRIVER_FILES)},
        **CAPABILITY_OPTIONS,
        "batch_size": {"type": "int", "default": 100},
        "concurrency": {"type": "int", "default": 10},
        "script_timeout": {"type": "int", "default": 300},
        "wait_timeout": {"type": "float", "default": 600},
        "poll_interval": {"type": "float", "default": 1.0},
        "report_dest": {"type": "path"},
    }
    _requires_connection = False

    def run_validated(self, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        if not HAS_SDK:
            raise InputError("requirements", f"the Python packages {SDK_REQUIREMENT} are not installed on the controller; "
                                             "pip install -r requirements.txt")
        if not 1 <= args["concurrency"] <= 50:
            raise InputError("concurrency", f"expected 1 to 50 batches in flight, got {args['concurrency']}")
        settings = _ecs_audit.Settings(
            required_capabilities=_virtio.normalise_required_capabilities(args["required_capabilities"]),
            thresholds=_virtio.normalise_thresholds(args["thresholds"]),
            batch_size=args["batch_size"],
            concurrency=args["concurrency"],
            script_timeout=args["script_timeout"],
            waiting=Waiting(timeout=args["wait_timeout"], interval=args["poll_interval"]),
        )
        script = probe_script(args["driver_files"])
        variables = _ecs_audit.hostvars_reader(task_vars.get("hostvars", {}), args.get("region_id"))
        targets, results = _ecs_audit.targets_from_hostvars(args["hosts"], variables)
        batches = _ecs_audit.plan_batches(targets, settings.batch_size)
        # Credentials and endpoint are checked once, before any call (InputError names the field).
        if targets:
            self._client(args, targets[0].region)
        # At default verbosity: a large fleet's audit waits minutes for the scripts. A line per finished
        # batch, and a heartbeat every 30 s from a thread, since the wait is in the batches' threads.
        tally = BatchTally(len(targets), len(batches))
        log = ProgressLog("ECS audit", show_progress)
        with heartbeat(log):
            if batches:
                log.show(*tally.phase())
            probed, calls = _ecs_audit.audit(targets, lambda region: self._client(args, region), script, settings,
                                             on_batch=lambda answer: log.show(*tally.add(answer)),
                                             keep=_report_fields if args["report_dest"] is not None else _whole)
        results.update(probed)
        ordered = {host: results[host] for host in args["hosts"] if host in results}
        cost = {"changed": False, "api_calls": calls, "batches": len(batches)}
        if args["report_dest"] is None:
            return {**cost, "results": ordered}
        extra = {"required_capabilities": args["required_capabilities"], "thresholds": args["thresholds"]}
        written = write_fleet_report("virtio_audit", args["report_dest"], args["hosts"], ordered.get, extra,
                                     check_mode=bool(self._task.check_mode), dest_field="report_dest")
        return {**cost, **written}

    @staticmethod
    def _client(args: Mapping[str, Any], region: str) -> EcsClient:
        return _ecs_audit.client_for_region(args, region)
