# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of winfleet.updates.virtio_update_ecs: one rollout batch through the ECS API, no WinRM.

Every option and every host's ECS variables are checked before the first API call; the steps live
in ``plugin_utils._ecs_rollout``, the decisions in ``module_utils._ecs_rollout``.
"""

from __future__ import annotations

from typing import Any, Mapping

from ansible_collections.winfleet.updates.plugins.module_utils import _ecs_rollout, _virtio
from ansible_collections.winfleet.updates.plugins.module_utils._alicloud import (
    HAS_SDK,
    SDK_REQUIREMENT,
    EcsClient,
    Waiting,
    alicloud_argument_spec,
)
from ansible_collections.winfleet.updates.plugins.module_utils._antivirus import validate_antivirus_services
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._virtio_install import validate_timeouts
from ansible_collections.winfleet.updates.plugins.module_utils._strings import check_text
from ansible_collections.winfleet.updates.plugins.plugin_utils import _ecs_audit, _ecs_host_lock, _ecs_rollout as rollout
from ansible_collections.winfleet.updates.plugins.plugin_utils._action import WinfleetAction
from ansible_collections.winfleet.updates.plugins.plugin_utils._virtio_probe import CAPABILITY_OPTIONS


class ActionModule(WinfleetAction):
    ARGUMENT_SPEC = {
        **alicloud_argument_spec(),
        "hosts": {"type": "list", "elements": "str", "required": True},
        "source": {"type": "str", "default": "cloud_assistant_api",
                   "choices": ["script", "package", "cloud_assistant", "cloud_assistant_api"]},
        "script_src": {"type": "str"},
        "script_url": {"type": "str", "no_log": True},
        "script_checksum": {"type": "str"},
        "package_src": {"type": "str"},
        "package_url": {"type": "str", "no_log": True},
        "package_checksum": {"type": "str"},
        "api_command_id": {"type": "str"},
        "api_content": {"type": "str"},
        **CAPABILITY_OPTIONS,
        "antivirus_services": {"type": "list", "elements": "str", "default": []},
        "snapshot_provider": {"type": "str", "default": "none", "choices": ["none", "alicloud_ecs", "custom"]},
        "snapshot_rollout_id": {"type": "str", "default": ""},
        "snapshot_disk_scope": {"type": "str", "default": "all", "choices": ["all", "system"]},
        "snapshot_timeout": {"type": "int", "default": 1800},
        "snapshot_retention": {"type": "str", "default": "keep", "choices": ["keep", "delete_after_verify"]},
        "snapshot_grace_minutes": {"type": "int", "default": 0},
        "install_timeout": {"type": "int", "default": 1800},
        "reboot_timeout": {"type": "int", "default": 900},
        "poll_interval": {"type": "float", "default": 2.0},
        "probe_timeout": {"type": "int", "default": 300},
        "rollout_id": {"type": "str", "default": ""},
        "host_lock": {"type": "bool", "default": True},
    }
    _requires_connection = False

    def run_validated(self, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        if not HAS_SDK:
            raise InputError("requirements", f"the Python packages {SDK_REQUIREMENT} are not installed on the controller; "
                                             "pip install -r requirements.txt")
        settings = self._settings(args)
        targets = self._targets(args, task_vars)
        # Credentials and endpoint are checked once, before any call (InputError names the field).
        for region in {t.region for t in targets}:
            _ecs_audit.client_for_region(args, region)
        clients: list[EcsClient] = []

        def client_for(region: str) -> EcsClient:
            """A new client per use: the probe's batches run on threads that share nothing."""
            clients.append(_ecs_audit.client_for_region(args, region))
            return clients[-1]

        results = rollout.run_batch(targets, client_for, settings)
        calls = sum(len(c.calls) for c in clients)
        changed = any((r["update"].get("install") or {}).get("changed") for r in results.values())
        return {"changed": changed, "results": results, "api_calls": calls}

    def _settings(self, args: Mapping[str, Any]) -> rollout.Settings:
        install = _ecs_rollout.install_command(
            args["source"], script_src=args["script_src"], script_url=args["script_url"],
            script_checksum=args["script_checksum"], package_src=args["package_src"],
            api_command_id=args["api_command_id"], api_content=args["api_content"],
            package_url=args["package_url"], package_checksum=args["package_checksum"])
        if args["snapshot_provider"] not in _ecs_rollout.ECS_SNAPSHOT_PROVIDERS:
            raise InputError("snapshot_provider", "custom runs your tasks in the host's play, which the ECS API path "
                                                  f"does not use; choose one of {', '.join(_ecs_rollout.ECS_SNAPSHOT_PROVIDERS)}")
        if args["snapshot_provider"] == "alicloud_ecs" and not args["snapshot_rollout_id"]:
            raise InputError("snapshot_rollout_id", "snapshot_provider=alicloud_ecs tags the snapshots with the rollout id; give one")
        for name in ("reboot_timeout", "probe_timeout", "snapshot_timeout"):
            if args[name] <= 0:
                raise InputError(name, f"expected a number of seconds greater than 0, got {args[name]!r}")
        # the reboot's wait is bounded like the WinRM path's reconnect: checked above, under its own name
        timeouts = validate_timeouts(args["install_timeout"], args["poll_interval"], args["reboot_timeout"])
        probe = _ecs_audit.Settings(
            required_capabilities=_virtio.normalise_required_capabilities(args["required_capabilities"]),
            thresholds=_virtio.normalise_thresholds(args["thresholds"]),
            script_timeout=args["probe_timeout"],
            waiting=Waiting(timeout=args["probe_timeout"] + 60, interval=timeouts.poll_interval),
        )
        return rollout.Settings(
            probe=probe,
            install=install,
            source=args["source"],
            antivirus_services=validate_antivirus_services(args["antivirus_services"], field="antivirus_services"),
            install_timeout=int(timeouts.install),
            reboot_timeout=float(args["reboot_timeout"]),
            poll_interval=timeouts.poll_interval,
            snapshot=rollout.SnapshotSettings(
                provider=args["snapshot_provider"], rollout_id=args["snapshot_rollout_id"],
                disk_scope=args["snapshot_disk_scope"], retention=args["snapshot_retention"],
                grace_minutes=args["snapshot_grace_minutes"],
                waiting=Waiting(timeout=args["snapshot_timeout"], interval=timeouts.poll_interval)),
            check_mode=bool(self._task.check_mode),
            lock=self._lock_settings(args, timeouts.poll_interval) if args["host_lock"] else None,
            rollout_id=check_text("rollout_id", args["rollout_id"] or "", max_length=128),
        )

    def _lock_settings(self, args: Mapping[str, Any], poll_interval: float) -> _ecs_host_lock.LockSettings:
        """The host's virtio lock, held for the longest time the batch's work can take (as the WinRM role does)."""
        rollout_id = check_text("rollout_id", args["rollout_id"] or "", max_length=128)
        return _ecs_host_lock.LockSettings(
            rollout_id=rollout_id,
            ttl_s=int(args["install_timeout"]) + int(args["reboot_timeout"]) + 3600,
            script_timeout=int(args["probe_timeout"]),
            waiting=Waiting(timeout=args["probe_timeout"] + 60, interval=poll_interval),
            check_mode=bool(self._task.check_mode),
        )

    @staticmethod
    def _targets(args: Mapping[str, Any], task_vars: Mapping[str, Any]) -> list[_ecs_audit.Target]:
        """Every host's instance and region; one host without them refuses the batch before any call."""
        variables = _ecs_audit.hostvars_reader(task_vars.get("hostvars", {}), args.get("region_id"))
        targets, missing = _ecs_audit.targets_from_hostvars(args["hosts"], variables)
        if missing:
            raise InputError("ecs_instance_id", "virtio_transport=ecs_api needs the host variables ecs_instance_id and "
                                                f"alicloud_region, missing for {', '.join(sorted(missing))}; nothing was "
                                                "changed (the winfleet.updates.ecs inventory sets them)")
        return targets
