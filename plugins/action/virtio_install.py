# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of winfleet.updates.virtio_install: decide, push, start detached, poll with reconnect.

The decisions come from ``module_utils._virtio_install``, the control flow from
``plugin_utils._virtio_install``; this class wires them to Ansible and shapes the result.
"""

from __future__ import annotations

import os
import time
from typing import Any, Callable

from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible_collections.winfleet.updates.plugins.module_utils import _virtio
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._strings import check_text, redact_secrets, url_secrets
from ansible_collections.winfleet.updates.plugins.module_utils._virtio_install import (
    REFUSALS,
    SOURCES,
    SUCCESS_EXIT_CODES,
    Decision,
    HostStatus,
    InstallSource,
    LastRun,
    decide,
    failed_infs,
    run_succeeded,
    source_problem,
    validate_source,
    validate_timeouts,
)
from ansible_collections.winfleet.updates.plugins.plugin_utils._action import HostModuleFailed, WinfleetAction
from ansible_collections.winfleet.updates.plugins.plugin_utils._host_poll import Reconnector
from ansible_collections.winfleet.updates.plugins.plugin_utils._progress import show_progress
from ansible_collections.winfleet.updates.plugins.plugin_utils._virtio_install import (
    InstallFailed,
    InstallFlow,
    check_local_source,
    new_run_id,
    payload_work_dir,
    prepare_payload,
)
from ansible_collections.winfleet.updates.plugins.plugin_utils._virtio_probe import CAPABILITY_OPTIONS, probe_and_assess


_MAX_LOG_LINES = 1000
# The rollout id becomes an ECS tag value elsewhere: at most 128 characters
# (https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-createsnapshot).
_MAX_ROLLOUT_ID = 128
# Seconds the first contact is retried after a dropped connection (capped by reconnect_timeout):
# longer than the ~10 s NIC reset, short enough that a host that is really down fails soon.
FIRST_CONTACT_RETRY_S = 30.0


def progress_printer(script_url: str | None) -> Callable[[str], None]:
    """Print progress lines at default verbosity, without the secrets of ``script_url``.

    An install runs for minutes and the task prints nothing until it ends; ``Display`` proxies the
    line from the forked worker to the controller's output. The line quotes the installer's log,
    which may quote the URL it downloads, so the URL's credentials and signature are redacted first.
    """
    secrets = url_secrets(script_url)
    return lambda line: show_progress(redact_secrets(line, secrets))


class ActionModule(WinfleetAction):
    ARGUMENT_SPEC = {
        "source": {"type": "str", "required": True, "choices": list(SOURCES)},
        "script_src": {"type": "path"},
        "script_url": {"type": "str", "no_log": True},
        "script_checksum": {"type": "str"},
        "package_src": {"type": "path"},
        **CAPABILITY_OPTIONS,
        "install_timeout": {"type": "int", "default": 1800},
        "poll_interval": {"type": "float", "default": 2.0},
        "reconnect_timeout": {"type": "int", "default": 300},
        "log_lines": {"type": "int", "default": 20},
        "rollout_id": {"type": "str"},
        "api_install": {
            "type": "dict",
            "options": {
                "exit_code": {"type": "int", "required": True},
                "invoke_id": {"type": "str"},
                "version_before": {"type": "str"},
                "build_before": {"type": "int"},
            },
        },
    }
    # Every user-facing option is consumed here; the host module only receives `_` instructions.
    CONTROLLER_OPTIONS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        """The result without the credentials or signature a script URL may carry.

        Whatever quotes the URL (our messages, the host's download error, the installer's log, the
        host module's invocation) is redacted here, before Ansible prints it at any verbosity or a
        report stores it.
        """
        result = super().run(tmp, task_vars)
        return redact_secrets(result, url_secrets(self._task.args.get("script_url")))

    def run_validated(self, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        source = validate_source(
            args["source"],
            script_src=self._find_source(args["script_src"], "script_src"),
            script_url=args["script_url"],
            script_checksum=args["script_checksum"],
            package_src=self._find_source(args["package_src"], "package_src"),
        )
        timeouts = validate_timeouts(
            args["install_timeout"], args["poll_interval"], args["reconnect_timeout"]
        )
        if not 0 < args["log_lines"] <= _MAX_LOG_LINES:
            raise InputError(
                "log_lines",
                f"expected a number of lines between 1 and {_MAX_LOG_LINES}, got {args['log_lines']!r}",
            )
        rollout_id = check_text("rollout_id", args["rollout_id"] or "", max_length=_MAX_ROLLOUT_ID) or None
        required = _virtio.normalise_required_capabilities(args["required_capabilities"])
        thresholds = _virtio.normalise_thresholds(args["thresholds"])
        check_local_source(source)

        flow = InstallFlow(
            self.run_host_module,
            self._transfer_file,
            self._connection,
            task_vars,
            timeouts,
            args["log_lines"],
            host=task_vars.get("inventory_hostname"),
            progress=progress_printer(args["script_url"]),
        )
        if args["api_install"] is not None:
            return self._record_api_install(flow, source, args["api_install"], rollout_id)
        # Two read-only round trips: the driver facts and the host's record of earlier installs. A
        # re-run can meet a host in the middle of the NIC reset of an install an interrupted run
        # started, so the first contact is retried too, for a shorter time than during the install.
        first_contact = Reconnector(
            self._connection,
            min(timeouts.reconnect, FIRST_CONTACT_RETRY_S),
            min(timeouts.poll_interval, 2.0),
            host=task_vars.get("inventory_hostname"),
        )
        assessment = first_contact.call(
            "probe",
            lambda: probe_and_assess(
                self.run_host_module,
                task_vars,
                driver_files=_virtio.DEFAULT_DRIVER_FILES,
                required_capabilities=required,
                thresholds=thresholds,
            ),
        )
        if assessment["is_virtio_guest"] is None:
            # Windows PowerShell older than 5.1: no module runs there, decide() refuses the host
            status = HostStatus(boot_time=0, last_run=None, cloud_assistant_agent=None)
        else:
            status = first_contact.call("poll", flow.status)
        decision = decide(assessment, status, rollout_id)
        result = self._base_result(source, assessment, decision)
        if decision.action == "updated" and status.last_run is not None:
            # the versions of the host's run record: what this rollout changed, read from the host
            result.update(
                build_before=status.last_run.build_before,
                version_before=status.last_run.version_before,
                build_after=assessment["virtio_build"],
                version_after=assessment["file_version"],
                install_finished=status.last_run.finished,
            )
        if decision.action in ("attach", "reboot_pending", "updated") and status.last_run is not None:
            result.update(
                run_id=status.last_run.run_id,
                log_excerpt=status.last_run.log_excerpt,
                log_path=status.last_run.log_path,
                exit_code=status.last_run.exit_code,
            )

        if decision.action in REFUSALS:
            return {**result, "failed": True, "changed": False}
        if not decision.changes_host:
            return {**result, "changed": False}
        problem = source_problem(source, status) if decision.action == "install" else None
        if problem:
            return {
                **result,
                "failed": True,
                "changed": False,
                "msg": f"cannot install from {source.describe()}: {problem}",
            }
        if self._task.check_mode:
            verb = (
                "wait for the running install"
                if decision.action == "attach"
                else f"install from {source.describe()}"
            )
            return {
                **result,
                "changed": True,
                "msg": f"check mode: would {verb}, then require a reboot ({decision.msg})",
            }
        return {**result, **self._install(flow, source, decision, status, assessment, rollout_id)}

    def _record_api_install(
        self, flow: InstallFlow, source: InstallSource, api_install: dict[str, Any], rollout_id: str | None
    ) -> dict[str, Any]:
        """Write on the host the run record of an install the ECS API's Cloud Assistant ran.

        The record is the one a worker leaves (``run.json``, ``result.json``), so the next run's
        ``decide`` reads it like any other: a re-run of the rollout after a controller killed during
        the reboot reports the host ``updated``, one before the reboot ``reboot_pending``.
        """
        if source.source != "cloud_assistant":
            raise InputError(
                "api_install",
                "records an install that Cloud Assistant ran through the ECS API: use it with "
                f"source=cloud_assistant, got source={source.source}",
            )
        exit_code = api_install["exit_code"]
        invocation = api_install["invoke_id"] or "unknown"
        if self._task.check_mode:
            return {
                "changed": True,
                "decision": "install",
                "msg": f"check mode: would record invocation {invocation} on the host",
            }
        run_id = new_run_id()
        try:
            flow.record(
                run_id,
                exit_code=exit_code,
                invoke_id=api_install["invoke_id"],
                rollout_id=rollout_id,
                version_before=api_install["version_before"],
                build_before=api_install["build_before"],
            )
        except AnsibleConnectionFailure as err:
            return {
                "unreachable": True,
                "changed": False,
                "run_id": run_id,
                "msg": f"the install through the ECS API (invocation {invocation}, exit code {exit_code}) "
                f"ended, but its run record could not be written on the host: {err}. A re-run of the "
                "rollout does not know that this rollout installed it",
            }
        return {
            "changed": True,
            "decision": "install",
            "reboot_required": exit_code in SUCCESS_EXIT_CODES,
            "source": "cloud_assistant_api",
            "run_id": run_id,
            "exit_code": exit_code,
            "msg": f"recorded invocation {invocation} (exit code {exit_code}) on the host as install run "
            f"{run_id}",
        }

    def _find_source(self, path: str | None, field: str) -> str | None:
        """Resolve a controller path the way copy and template do (role files/, playbook dir)."""
        if path in (None, ""):
            return None
        if os.path.exists(os.path.expanduser(path)):  # as given, relative to where ansible-playbook runs
            return os.path.abspath(os.path.expanduser(path))
        try:
            return self._find_needle("files", path)
        except AnsibleError:
            raise InputError(
                field,
                f"cannot find {path!r} on the controller (looked in the role's files/ and the "
                "playbook directory, and as given)",
            ) from None

    @staticmethod
    def _base_result(source: InstallSource, assessment: dict[str, Any], decision: Decision) -> dict[str, Any]:
        return {
            "decision": decision.action,
            "reason": decision.msg,
            "msg": decision.msg,
            "source": source.source,
            "reboot_required": decision.reboot_required,
            "build_before": assessment["virtio_build"],
            "version_before": assessment["file_version"],
            "os_version": assessment["os_version"],
            "missing_capabilities": assessment["missing_capabilities"],
            "exit_code": None,
            "log_excerpt": "",
            "run_id": None,
        }

    def _install(
        self,
        flow: InstallFlow,
        source: InstallSource,
        decision: Decision,
        status: HostStatus,
        assessment: dict[str, Any],
        rollout_id: str | None = None,
    ) -> dict[str, Any]:
        """Start (or attach to) the worker and wait for it; shape success and every failure.

        The host records with the run what it is for (the rollout id, the driver version before),
        so that a later run can report the update even if this controller dies before it does.
        """
        started = time.monotonic()
        run_id = status.last_run.run_id if decision.action == "attach" and status.last_run else new_run_id()
        try:
            if decision.action == "install":
                with payload_work_dir() as work_dir:
                    payload = prepare_payload(source, assessment["os_version"], work_dir)
                    staged = flow.stage(run_id, payload) if payload else None
                    flow.start(
                        run_id,
                        source=source.source,
                        payload=staged,
                        checksum=payload.checksum if payload else source.script_checksum,
                        url=source.script_url,
                        driver_dir=payload.driver_dir if payload else None,
                        rollout_id=rollout_id,
                        version_before=assessment["file_version"],
                        build_before=assessment["virtio_build"],
                    )
            run = flow.wait(run_id)
        except InstallFailed as err:
            return {
                "failed": True,
                "changed": True,
                "reboot_required": False,
                "msg": str(err),
                **err.details,
                "install_running": self._still_running(flow, run_id),
                "reconnects": flow.reconnector.failures,
            }
        except HostModuleFailed as err:
            return {
                "failed": True,
                "changed": decision.action == "attach",
                "reboot_required": False,
                "run_id": run_id,
                "msg": f"cannot start the install from {source.describe()}: "
                f"{err.result.get('msg', 'the host module failed')}",
            }
        except AnsibleConnectionFailure as err:
            return {
                "unreachable": True,
                "changed": True,
                "reboot_required": False,
                "run_id": run_id,
                "reconnects": flow.reconnector.failures,
                "msg": f"lost the host while the install (run {run_id}) was running: {err}. The install goes "
                "on on the host; re-run to wait for it and finish (it is not started twice)",
            }
        return self._finished(run, time.monotonic() - started, flow.reconnector.failures)

    @staticmethod
    def _still_running(flow: InstallFlow, run_id: str) -> bool:
        """Whether the host says the install is still running (then the antivirus must stay paused)."""
        try:
            run = flow.status(run_id).last_run
        except (AnsibleConnectionFailure, HostModuleFailed, InputError):
            return True  # unknown: keep the antivirus paused rather than resume it under an install
        return run is not None and run.run_id == run_id and run.state == "running"

    @staticmethod
    def _finished(run: LastRun, elapsed: float, reconnects: int) -> dict[str, Any]:
        common = {
            "changed": True,
            "run_id": run.run_id,
            "exit_code": run.exit_code,
            "log_excerpt": run.log_excerpt,
            "log_path": run.log_path,
            "elapsed_s": round(elapsed, 1),
            "reconnects": reconnects,
            "infs": [inf.as_dict() for inf in run.infs],
        }
        if run_succeeded(run):
            return {
                **common,
                "reboot_required": True,
                "msg": f"the installer finished with exit code {run.exit_code}; "
                "the new driver takes effect after a reboot",
            }
        if run.state == "not_started":
            return {
                **common,
                "changed": False,
                "failed": True,
                "reboot_required": False,
                "msg": "the install worker never started on the host: "
                f"{run.log_excerpt.splitlines()[-1] if run.log_excerpt else 'the scheduled task did not run it'}. "
                "Nothing was installed; check the Task Scheduler event log and docs/windows_requirements.md, then re-run",
            }
        if run.state == "lost":
            why = (
                "the install worker stopped without writing a result (the host may have restarted during the "
                "install)"
            )
        elif failed_infs(run):
            why = "pnputil failed for " + ", ".join(
                f"{inf.inf} (exit code {inf.exit_code})" for inf in failed_infs(run)
            )
        else:
            why = f"the installer exited with code {run.exit_code}"
        return {
            **common,
            "failed": True,
            "reboot_required": False,
            "msg": f"{why}; the host may be partly updated: read {run.log_path or 'the install log'} before "
            "re-running (the next run installs again)",
        }
