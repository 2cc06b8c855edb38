"""Simulated ``winfleet.updates.virtio_install``: the three operations of the PowerShell module.

``poll`` reads the boot time, the last (or the asked) run and the Cloud Assistant agent's path;
``record`` writes the finished run of an install the ECS API ran (source ``cloud_assistant_api``);
``prepare`` creates the run directory; ``start`` checks the pushed file's SHA-256 against the blob
the connection stored (or needs ``internet`` for a URL, ``cloud_assistant`` for the agent), checks
a package's folder layout from the real zip, then starts the installer on the host's timeline
(``winhost.start_install``): it finishes ``update.duration_s`` later with ``update.exit_code``,
dropping the network for ``faults.nic_drop_s`` on the way. Same messages as the real module.
"""

from __future__ import annotations

import io
import re
import time
import zipfile
from typing import Any

from tests.simlab import raw, winhost
from tests.simlab.dispatch import HostCall
from tests.simlab.state import Lab

SUPPORTS_CHECK_MODE = True


def _fail(msg: str, **result: Any) -> dict[str, Any]:
    return {"failed": True, "msg": msg, **result}


def _run(call: HostCall, run_id: str | None) -> dict[str, Any] | None:
    runs = call.state.get("virtio_runs", {})
    run = runs.get(run_id or call.state.get("virtio_last_run") or "")
    return winhost.run_view(run, call.args.get("_log_lines", 20)) if run else None


def _poll(call: HostCall) -> dict[str, Any]:
    return {
        "changed": False,
        "boot_time": winhost.wmi_boot_time(call.state),
        "run": _run(call, call.args.get("_run_id")),
        "cloud_assistant_agent": winhost.AGENT_PATH if call.state.get("cloud_assistant", True) else None,
    }


def _check_file(call: HostCall, path: str, checksum: str) -> str | None:
    entry = call.state.get("files", {}).get(path.lower())
    if entry is None:
        return f"the pushed file {path} is missing on the host"
    if entry["sha256"] != checksum.lower():
        return (
            f"checksum mismatch for {path}: SHA-256 {entry['sha256']}, expected {checksum}; "
            "the file was changed or truncated on the way"
        )
    return None


def _package_inf_dir(call: HostCall, path: str, driver_dir: str) -> str | None:
    """The folder the real module would install from, read from the pushed zip (None: no match)."""
    data = raw.read_file(call.state, path, Lab(call.lab_dir))
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        names = [name.lower() for name in package.namelist()]
    base = f"{driver_dir.lower()}/" if driver_dir else ""
    for candidate in (f"{base}amd64/", base):
        if any(
            n.startswith(candidate) and n.endswith(".inf") and "/" not in n[len(candidate) :] for n in names
        ):
            return candidate.rstrip("/")
    return None


def _package_infs(call: HostCall, path: str, inf_dir: str) -> list[str]:
    """The INF files of the chosen folder, as host paths under the run's package folder."""
    data = raw.read_file(call.state, path, Lab(call.lab_dir))
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        names = package.namelist()
    prefix = f"{inf_dir}/" if inf_dir else ""
    run_dir = f"{winhost.STATE_ROOT}\\{call.args['_run_id']}\\package"
    return sorted(
        f"{run_dir}\\{name.replace('/', chr(92))}"
        for name in names
        if name.lower().startswith(prefix) and name.lower().endswith(".inf") and "/" not in name[len(prefix):]
    )


# Any user may create folders in %ProgramData% (its default ACL grants Users "create folders"):
# a %ProgramData%\winfleet that someone else made first, or a junction, is what the module refuses.
# https://learn.microsoft.com/windows/win32/fileio/reparse-points
# https://learn.microsoft.com/dotnet/api/system.security.accesscontrol.objectsecurity.getowner
_TRUSTED_OWNERS = ("S-1-5-18", "S-1-5-32-544")


def _unsafe_state_folder(call: HostCall) -> dict[str, Any] | None:
    folder = call.state.get("winfleet_folder")
    if not folder:
        return None
    path = "C:\\ProgramData\\winfleet"
    prefix = "the state folder is not safe to run an install from as SYSTEM: "
    if folder.get("junction"):
        return _fail(f"{prefix}the folder {path} is a reparse point (junction or symbolic link); remove it and run "
                     "again, the collection creates it itself")
    owner = folder.get("owner", "S-1-5-32-544")
    if owner not in _TRUSTED_OWNERS:
        return _fail(f"{prefix}the folder {path} is owned by {owner}, not by SYSTEM or Administrators; another "
                     "account may have created it: remove it and run again")
    return None


def _start(call: HostCall) -> dict[str, Any]:
    args, state = call.args, call.state
    run_id = args["_run_id"]
    if run_id in state.get("virtio_runs", {}):
        return {"changed": False, "run": _run(call, run_id)}
    unsafe = _unsafe_state_folder(call)
    if unsafe:
        return unsafe
    source = args.get("_source")
    details: dict[str, Any] = {}
    if source == "script":
        if args.get("_url"):
            if not state.get("internet", True):
                scheme, _, rest = args["_url"].partition("://")
                host = rest.split("/", 1)[0].split("?", 1)[0]
                return _fail(
                    f"cannot download the script from {scheme}://{host}/... (WebException). A host without "
                    "internet access needs source=package (or source=cloud_assistant, which downloads over "
                    "the VPC)"
                )
            details["script"] = f"{winhost.STATE_ROOT}\\{run_id}\\InstallVirtIo.ps1"
        else:
            problem = _check_file(call, args["_payload"], args.get("_checksum") or "")
            if problem:
                return _fail(problem)
            details["script"] = args["_payload"]
    elif source == "package":
        problem = _check_file(call, args["_payload"], args.get("_checksum") or "")
        if problem:
            return _fail(problem)
        inf_dir = _package_inf_dir(call, args["_payload"], args.get("_driver_dir") or "")
        if inf_dir is None:
            return _fail(
                "the package has no .inf files for this host's Windows version and architecture (amd64)"
            )
        details["inf_dir"] = inf_dir
        details["inf_files"] = _package_infs(call, args["_payload"], inf_dir)
    else:
        if not state.get("cloud_assistant", True):
            return _fail(
                "the Cloud Assistant agent is not installed (no acs-plugin-manager.exe under "
                "C:\\ProgramData\\aliyun\\assist\\<version>\\)"
            )
        signature = {"status": "Valid", "signer": "", **state.get("cloud_assistant_signature", {})}
        if signature["status"] != "Valid":
            return _fail(
                f"the Cloud Assistant agent {winhost.AGENT_PATH} has no valid Authenticode signature (status "
                f"{signature['status']}); it is not run as SYSTEM. Reinstall the agent from Alibaba Cloud, or use "
                "source=script or source=package"
            )
        if not re.search(r'(^|,\s*)(O|CN)="?Alibaba', signature["signer"]):
            return _fail(
                f"the Cloud Assistant agent {winhost.AGENT_PATH} is signed by '{signature['signer']}', not by "
                "Alibaba; it is not run as SYSTEM. Reinstall the agent from Alibaba Cloud, or use source=script "
                "or source=package"
            )
        details["agent"] = winhost.AGENT_PATH
    # run.json records what the run is for, as the module writes it
    recorded = {key: args.get(f"_{key}") for key in ("rollout_id", "version_before", "build_before")}
    winhost.start_install(state, call.lab, run_id, source, **details, **recorded)
    state["virtio_last_run"] = run_id  # the module's last_run.txt, written by the module only
    return {"changed": True, "run": _run(call, run_id)}


def _record(call: HostCall) -> dict[str, Any]:
    """An install the ECS API's Cloud Assistant ran, recorded as the real module writes it: run.json
    and result.json of a finished run, with this boot's time, and last_run.txt pointing at it."""
    args, state = call.args, call.state
    run_id = args["_run_id"]
    if run_id in state.get("virtio_runs", {}):
        return {"changed": False, "run": _run(call, run_id)}
    unsafe = _unsafe_state_folder(call)
    if unsafe:
        return unsafe
    now = time.time()
    state.setdefault("virtio_runs", {})[run_id] = {
        "run_id": run_id,
        "source": args["_source"],
        "state": "finished",
        "started_at": now,
        "finishes_at": now,
        "exit_code": args["_exit_code"],
        "boot_time": winhost.wmi_boot_time(state),
        "log": [],
        "invoke_id": args.get("_invoke_id"),
        **{key: args.get(f"_{key}") for key in ("rollout_id", "version_before", "build_before")},
    }
    state["virtio_last_run"] = run_id
    return {"changed": True, "run": _run(call, run_id)}


def run(call: HostCall) -> dict[str, Any]:
    operation = call.args["_operation"]
    if operation == "poll":
        return _poll(call)
    if call.check_mode:
        return _fail(
            f"_operation={operation} changes the host; the action plugin never sends it in check mode"
        )
    if not call.args.get("_run_id"):
        return _fail(f"_run_id is required for _operation={operation}")
    recordable = call.args.get("_source") == "cloud_assistant_api" and call.args.get("_exit_code") is not None
    if operation != "prepare" and (operation == "record") != recordable:
        return _fail(
            "_operation=record is for _source=cloud_assistant_api with _exit_code, and only for it; got "
            f"_operation={operation}, _source={call.args.get('_source')}"
        )
    if operation == "record":
        return _record(call)
    if operation == "prepare":
        unsafe = _unsafe_state_folder(call)
        if unsafe:
            return unsafe
        run_dir = f"{winhost.STATE_ROOT}\\{call.args['_run_id']}"
        call.state.setdefault("run_dirs", []).append(run_dir)
        return {"changed": True, "run_dir": run_dir}
    return _start(call)
