# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of the virtio driver install (for internal collection use only).

The install is the long-running pattern of ``ansible.windows.win_updates``: the host module
starts a detached worker (a scheduled task running as SYSTEM) that writes its result to a file,
and the controller polls that file. A dropped connection while polling (the NIC driver reset)
costs a reconnect, not the task. This module holds that control flow; the decisions it applies
are in ``module_utils._virtio_install``.

Every install has a ``run_id`` chosen here, on the controller. If the answer to ``start`` is lost,
polling by that id tells whether the host started it, so a retry never installs twice.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
import uuid
import zipfile
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._progress import ProgressLog
from ansible_collections.winfleet.updates.plugins.module_utils._virtio_install import (
    RECONNECTING_PHASE,
    HostStatus,
    InstallSource,
    LastRun,
    Timeouts,
    install_phase,
    package_driver_dir,
    package_os_folder,
    parse_host_status,
)
from ansible_collections.winfleet.updates.plugins.plugin_utils._host_poll import (
    CONNECTION_ERRORS,
    Reconnector,
    follow_run,
)

__all__ = [
    "HOST_MODULE",
    "InstallFailed",
    "InstallFlow",
    "Payload",
    "check_local_source",
    "new_run_id",
    "payload_work_dir",
    "prepare_payload",
    "sha256_file",
]

HOST_MODULE = "winfleet.updates.virtio_install"

RunHostModule = Callable[[str, dict[str, Any], dict[str, Any]], dict[str, Any]]
TransferFile = Callable[[str, str], Any]


class InstallFailed(Exception):
    """The install could not be completed; ``details`` go into the task result."""

    def __init__(self, msg: str, **details: Any) -> None:
        super().__init__(msg)
        self.details = details


@dataclass(frozen=True)
class Payload:
    """A file to push to the host: the script, or the package as one zip archive."""

    local_path: str
    name: str
    checksum: str
    driver_dir: str | None = None  # package only: folder with the .inf files ("" = the root)


def new_run_id() -> str:
    """A run id unique per install attempt, safe in a Windows path and a scheduled task name."""
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:8]


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _walk_relative(root: str) -> Iterator[str]:
    for directory, _dirs, files in os.walk(root):
        for name in files:
            yield os.path.relpath(os.path.join(directory, name), root).replace(os.sep, "/")


def check_local_source(source: InstallSource) -> None:
    """Refuse a missing or wrong controller file before any host is contacted."""
    if source.script_src is not None and not os.path.isfile(source.script_src):
        raise InputError("script_src", f"{source.script_src} is not a file on the controller")
    if source.package_src is not None:
        path = source.package_src
        if not (os.path.isdir(path) or (os.path.isfile(path) and zipfile.is_zipfile(path))):
            raise InputError(
                "package_src", f"{path} is neither a directory nor a .zip archive on the controller"
            )


def prepare_payload(source: InstallSource, os_version: str, work_dir: str) -> Payload | None:
    """The file to push for ``source`` (None for sources that push nothing).

    A package directory is zipped into ``work_dir`` so that it travels as one file with one
    checksum; an archive is checked for the folder matching the host's Windows version first.
    """
    if source.source == "script" and source.script_src is not None:
        checksum = sha256_file(source.script_src)
        if source.script_checksum and checksum != source.script_checksum:
            raise InputError(
                "script_checksum", f"{source.script_src} has SHA-256 {checksum}, not {source.script_checksum}"
            )
        return Payload(
            local_path=source.script_src, name=os.path.basename(source.script_src), checksum=checksum
        )
    if source.source != "package" or source.package_src is None:
        return None
    os_folder = package_os_folder(os_version)
    path = source.package_src
    if os.path.isdir(path):
        driver_dir = package_driver_dir(_walk_relative(path), os_folder)
        archive = shutil.make_archive(os.path.join(work_dir, "virtio_package"), "zip", root_dir=path)
    else:
        with zipfile.ZipFile(path) as package:
            driver_dir = package_driver_dir(
                (info.filename for info in package.infolist() if not info.is_dir()), os_folder
            )
        archive = path
    return Payload(
        local_path=archive, name="virtio_package.zip", checksum=sha256_file(archive), driver_dir=driver_dir
    )


class InstallFlow:
    """Start an install on one host and wait for it, surviving dropped connections."""

    def __init__(
        self,
        run_host_module: RunHostModule,
        transfer_file: TransferFile,
        connection: Any,
        task_vars: dict[str, Any],
        timeouts: Timeouts,
        log_lines: int,
        host: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        progress: Callable[[str], None] = lambda line: None,
    ) -> None:
        self._run_host_module = run_host_module
        self._host_name = host
        self._progress = progress
        self._transfer_file = transfer_file
        self._task_vars = task_vars
        self._timeouts = timeouts
        self._log_lines = log_lines
        self._sleep = sleep
        self._clock = clock
        self.reconnector = Reconnector(
            connection, timeouts.reconnect, timeouts.poll_interval, host=host, sleep=sleep, clock=clock
        )

    def _host(self, operation: str, **options: Any) -> dict[str, Any]:
        args = {
            "_operation": operation,
            **{f"_{key}": value for key, value in options.items() if value is not None},
        }
        return self._run_host_module(HOST_MODULE, args, self._task_vars)

    def status(self, run_id: str | None = None) -> HostStatus:
        """The host's boot time and its last run (or the run ``run_id``); read-only, check-mode safe."""
        return parse_host_status(self._host("poll", run_id=run_id, log_lines=self._log_lines))

    def record(self, run_id: str, **options: Any) -> None:
        """Record an install the ECS API ran (no worker) as the finished run ``run_id``.

        The host writes what a worker writes when it ends, so ``status`` reads it like any run;
        recording the same run id twice (a retry after a lost answer) changes nothing.
        """
        self.reconnector.call(
            "record",
            lambda: self._host(
                "record", run_id=run_id, source="cloud_assistant_api", log_lines=self._log_lines, **options
            ),
        )

    def stage(self, run_id: str, payload: Payload) -> str:
        """Create the run's directory on the host and push the payload there; return its host path."""
        run_dir = self.reconnector.call("prepare", lambda: self._host("prepare", run_id=run_id))["run_dir"]
        remote = f"{run_dir}\\{payload.name}"
        self.reconnector.call("upload", lambda: self._transfer_file(payload.local_path, remote))
        return remote

    def start(self, run_id: str, **start_options: Any) -> None:
        """Ask the host to start the worker; if the answer is lost, ask the host whether it did."""
        try:
            self._host("start", run_id=run_id, log_lines=self._log_lines, **start_options)
            return
        except Exception as err:  # only a lost connection is resolved by asking the host, below
            if not isinstance(err, CONNECTION_ERRORS):
                raise
        status = self.reconnector.call("start", lambda: self.status(run_id))
        if status.last_run is None or status.last_run.run_id != run_id:
            self.reconnector.call(
                "start",
                lambda: self._host("start", run_id=run_id, log_lines=self._log_lines, **start_options),
            )

    def wait(self, run_id: str) -> LastRun:
        """Poll until run ``run_id`` is no longer running, at most ``install_timeout`` seconds.

        The loop is the collection's one poll loop (``plugin_utils._host_poll.follow_run``): a lost
        connection is reset and retried; a host silent for ``reconnect_timeout`` is unreachable.
        While it waits, ``progress`` gets a line (host, phase, elapsed time) on every poll that
        sees a change and a heartbeat otherwise (``module_utils._progress``).
        """
        log = ProgressLog(f"virtio_install {self._host_name or 'host'}", self._progress, self._clock)

        def show(answer: dict[str, Any] | None) -> None:
            if answer is None:
                log.show(RECONNECTING_PHASE)
                return
            seen = install_phase(answer["last_run"])
            if seen is not None:
                log.show(*seen)

        def poll() -> dict[str, Any]:
            status = self.status(run_id)
            run = status.last_run
            if run is None or run.run_id != run_id:
                raise InstallFailed(
                    f"the host has no record of install run {run_id}; its state directory under "
                    "%ProgramData%\\winfleet\\virtio_install may have been removed",
                    run_id=run_id,
                )
            return {"last_run": run}

        outcome = follow_run(
            poll,
            self.reconnector.reset,
            timeout=self._timeouts.install,
            interval=self._timeouts.poll_interval,
            clock=self._clock,
            sleep=self._sleep,
            is_final=lambda answer: answer["last_run"].state != "running",
            silence_timeout=self._timeouts.reconnect,
            wait_first=True,
            progress=show,
        )
        self.reconnector.failures += outcome.reconnects
        run: LastRun | None = (outcome.last or {}).get("last_run")
        if run is not None and run.state != "running":
            return run
        raise InstallFailed(
            f"the install (run {run_id}) is still running after "
            f"install_timeout={self._timeouts.install:g} s; it was left running on the host "
            f"(scheduled task winfleet-virtio-install-{run_id}). Re-run to wait for it (it is not "
            "started twice) or raise install_timeout",
            run_id=run_id,
            log_excerpt=run.log_excerpt if run else "",
            log_path=run.log_path if run else None,
        )


def payload_work_dir() -> tempfile.TemporaryDirectory[str]:
    """A controller temporary directory for a zipped package, removed when the task ends."""
    return tempfile.TemporaryDirectory(prefix="winfleet-virtio-")
