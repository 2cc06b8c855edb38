"""What the instance prints when Cloud Assistant runs a script the lab models (test code only).

The lab cannot run PowerShell, so, like the lab's ``win_powershell`` stand-in, the fake recognises
the one read-only script it models and answers it from the host's state:

* the virtio probe: a script that reads ``Win32_OperatingSystem`` with ``Get-WmiObject`` and the
  ``FileVersionInfo`` of driver files listed as ``$names = @('viostor.sys', ...)``, and prints one
  line ``WINFLEET-VIRTIO-PROBE {json}``. The facts are what Windows reports: Win32_OperatingSystem
  Version / Caption / ProductType
  (https://learn.microsoft.com/en-us/windows/win32/cimwin32prov/win32-operatingsystem) and the
  FileVersionInfo strings and numeric parts
  (https://learn.microsoft.com/en-us/dotnet/api/system.diagnostics.fileversioninfo); a driver the
  fleet describes by its version string only has no fixed version resource, so its parts are 0.

* the antivirus pause / resume: a script that lists ``$services = @('A', 'B')`` and ``$action = 'stop'``
  or ``'start'``, reads each with ``Get-Service`` and stops it with ``Stop-Service -Force`` (which
  stops its running dependents first) or starts it with ``Start-Service``, waits with
  ``ServiceController.WaitForStatus(Stopped, timeout)``, and prints one line
  ``WINFLEET-ANTIVIRUS {json}``. The services are the lab host's (tests/simlab/winhost.py), as the
  Service Control Manager has them: Get-Service returns nothing for an unknown name with
  ``-ErrorAction SilentlyContinue``
  (https://learn.microsoft.com/powershell/module/microsoft.powershell.management/get-service),
  Stop-Service -Force stops dependents
  (https://learn.microsoft.com/powershell/module/microsoft.powershell.management/stop-service),
  a service with a slow stop stays StopPending (Win32_Service State,
  https://learn.microsoft.com/windows/win32/cimwin32prov/win32-service), and WaitForStatus throws
  System.ServiceProcess.TimeoutException when the timeout passes first
  (https://learn.microsoft.com/dotnet/api/system.serviceprocess.servicecontroller.waitforstatus).

Windows PowerShell's version follows the OS (2008 R2: 2.0, 2012: 3.0, 2012 R2: 4.0, later 5.1,
https://learn.microsoft.com/en-us/powershell/scripting/windows-powershell/install/windows-powershell-system-requirements):
a script calling a cmdlet newer than the host's PowerShell fails there the way PowerShell does
("The term '...' is not recognized"), so a probe that works only on 5.1 is caught.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import re
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.simlab import winhost
from tests.simlab.modules import antivirus_services

PROBE_MARKER = "WINFLEET-VIRTIO-PROBE "
_PROBE_RE = re.compile(r"Get-WmiObject\s+-Class\s+Win32_OperatingSystem", re.I)
_NAMES_RE = re.compile(r"^\s*\$names\s*=\s*@\(([^)]*)\)", re.I | re.M)
_NAME_RE = re.compile(r"'([A-Za-z0-9_.-]+)'")
_NO_PARTS = [0, 0, 0, 0]
ANTIVIRUS_MARKER = "WINFLEET-ANTIVIRUS "
_SERVICES_RE = re.compile(r"^\s*\$services\s*=\s*@\(([^)]*)\)", re.I | re.M)
_ACTION_RE = re.compile(r"^\s*\$action\s*=\s*'(stop|start)'", re.I | re.M)
_TIMESPAN_RE = re.compile(r"New-Object\s+System\.TimeSpan\s+0,\s*0,\s*(\d+)", re.I)
_QUOTED_RE = re.compile(r"'((?:[^']|'')*)'")
# Cmdlets that appeared after PowerShell 2.0, with the version that brought them.
_NEWER_CMDLETS = {"ConvertTo-Json": (3, 0), "ConvertFrom-Json": (3, 0), "Get-CimInstance": (3, 0),
                  "Invoke-RestMethod": (3, 0)}


_BOOT_RE = re.compile(r"\$os\.LastBootUpTime", re.I)


def _utc_from_filetime(value: int) -> str:
    """A FileTime (100 ns since 1601) as ISO 8601 UTC to the second, as the script prints it."""
    epoch = value / 10_000_000 - 11_644_473_600
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def powershell_version(os_version: str) -> tuple[int, int]:
    """The Windows PowerShell an OS ships with (the one Cloud Assistant runs)."""
    major, minor = (int(x) for x in os_version.split(".")[:2])
    if (major, minor) <= (6, 1):
        return (2, 0)
    return {(6, 2): (3, 0), (6, 3): (4, 0)}.get((major, minor), (5, 1))


def _too_new(state: dict[str, Any], content: str) -> tuple[int, str] | None:
    """PowerShell's answer when the script calls a cmdlet newer than the host's PowerShell."""
    shell = powershell_version(state["os_version"])
    code = "\n".join(line for line in content.splitlines() if not line.lstrip().startswith("#"))  # comments do not run
    for cmdlet, since in _NEWER_CMDLETS.items():
        if cmdlet.lower() in code.lower() and shell < since:
            return 1, (f"The term '{cmdlet}' is not recognized as the name of a cmdlet, function, script file, "
                       "or operable program.")
    return None


def answer(state: dict[str, Any], content: str, lab: dict[str, Any] | None = None) -> tuple[Any, ...] | None:
    """(exit code, output[, when it ends]) of a modelled script on this host; None for any other script."""
    from tests.fakeecs import lock_script  # the host's virtio lock (tests/fakeecs/lock_script.py)

    if lock_script.recognises(content):
        return _too_new(state, content) or lock_script.answer(state, content, lab or {})
    if PACKAGE_MARKER.strip() in content and _PACKAGE_URL_RE.search(content):
        return _too_new(state, content) or package_install(state, content, lab or {})
    if _SERVICES_RE.search(content) and ANTIVIRUS_MARKER.strip() in content:
        return _too_new(state, content) or _antivirus(state, content, lab or {})
    if not _PROBE_RE.search(content) or PROBE_MARKER.strip() not in content:
        return None
    refused = _too_new(state, content)
    if refused:
        return refused
    names_match = _NAMES_RE.search(content)
    names = _NAME_RE.findall(names_match.group(1)) if names_match else []
    drivers = []
    for name in names:
        path = f"C:\\Windows\\System32\\drivers\\{name}"
        entry: dict[str, Any] = {"name": name, "path": path, "present": False}
        file = state["drivers"].get(name.lower())
        if file is not None:
            entry.update(
                present=True,
                file_version=file.get("file_version"),
                product_version=file.get("product_version"),
                file_version_parts=file.get("file_version_parts", _NO_PARTS),
                product_version_parts=file.get("product_version_parts", _NO_PARTS),
            )
        drivers.append(entry)
    facts = {"os": {"version": state["os_version"], "caption": state["os_caption"],
                    "product_type": state["product_type"]}, "drivers": drivers}
    if _BOOT_RE.search(content):
        # Win32_OperatingSystem.LastBootUpTime, the current boot's start
        # (https://learn.microsoft.com/en-us/windows/win32/cimwin32prov/win32-operatingsystem), printed in UTC
        facts["os"]["last_boot_up_time"] = _utc_from_filetime(winhost.wmi_boot_time(state))
    return 0, PROBE_MARKER + json.dumps(facts, separators=(",", ":"))


# A script that keeps the host's record of paused services (the file the WinRM module keeps,
# %ProgramData%\winfleet\antivirus_paused.json, a JSON array of names; the lab holds its text under
# the state key ``antivirus_record``, tests/simlab/modules/antivirus_services.py) writes the names
# before each stop, restarts on ``start`` only what the record names among the services given
# (and their dependents), and removes them from it. A script without the record is modelled as before.
_RECORD_FILE = "antivirus_paused.json"


def _record(state: dict[str, Any]) -> list[str]:
    text = state.get(antivirus_services.RECORD_KEY)
    return [str(n) for n in json.loads(text.lstrip("\ufeff"))] if text else []


def _write_record(state: dict[str, Any], names: list[str]) -> None:
    if names:
        state[antivirus_services.RECORD_KEY] = json.dumps(names, separators=(",", ":"))
    else:
        state.pop(antivirus_services.RECORD_KEY, None)


def _antivirus_with_record(state: dict[str, Any], action: str, names: list[str], timeout_s: int,
                           lab: dict[str, Any]) -> tuple[int, str]:
    table = winhost.services(state)
    paused = _record(state)
    done, missing = [], []
    if action == "stop":
        for name in names:
            service = table.get(name.lower())
            if service is None:
                missing.append(name)
                continue
            if not service["running"]:
                continue
            targets = [d for d in winhost.dependent_services(table, service["name"]) if d["running"]] + [service]
            paused += [t["name"] for t in targets if t["name"].lower() not in {p.lower() for p in paused}]
            _write_record(state, paused)
            winhost.request_stop(table, service, lab)
            for target in targets:
                if winhost.service_status(target) == "StopPending":
                    if target["stop_pending_until"] - time.time() > timeout_s * winhost.scale(lab):
                        return 1, "Exception calling \"WaitForStatus\" with \"2\" argument(s): \"Time out has expired and the operation has not been completed.\""
                    target["stop_pending_until"] = 0
                winhost.log(state, "service_stopped", service=target["name"], via="cloud_assistant")
                done.append(target["name"])
    else:
        wanted = set()
        for name in names:
            service = table.get(name.lower())
            if service is None:
                missing.append(name)
                continue
            wanted |= {service["name"].lower()} | {d["name"].lower() for d in winhost.dependent_services(table, name)}
        for name in list(paused):
            if name.lower() not in wanted:
                continue
            service = table.get(name.lower())
            if service is not None and not service["running"]:
                service["running"] = True
                service["stop_pending_until"] = 0
                winhost.log(state, "service_started", service=service["name"], via="cloud_assistant")
                done.append(service["name"])
            paused.remove(name)
            _write_record(state, paused)
    result = {"action": action, "done": done, "missing": missing, "paused": paused}
    return 0, ANTIVIRUS_MARKER + json.dumps(result, separators=(",", ":"))


def _antivirus(state: dict[str, Any], content: str, lab: dict[str, Any]) -> tuple[int, str]:
    """Stop or start the listed services on the lab host, as Get-Service / Stop-Service / Start-Service do."""
    action = _ACTION_RE.search(content)
    listed = _SERVICES_RE.search(content)
    wait = _TIMESPAN_RE.search(content)
    names = [n.replace("''", "'") for n in _QUOTED_RE.findall(listed.group(1))] if listed else []
    timeout_s = int(wait.group(1)) if wait else 0
    if _RECORD_FILE in content:
        return _antivirus_with_record(state, action.group(1).lower() if action else "", names, timeout_s, lab)
    table = winhost.services(state)
    done, missing = [], []
    for name in names:
        service = table.get(name.lower())
        if service is None:
            missing.append(name)
            continue
        if action and action.group(1).lower() == "stop":
            if not service["running"]:
                continue
            targets = [d for d in winhost.dependent_services(table, service["name"]) if d["running"]] + [service]
            winhost.request_stop(table, service, lab)
            for target in targets:
                if winhost.service_status(target) == "StopPending":
                    remaining = target["stop_pending_until"] - time.time()
                    if remaining > timeout_s * winhost.scale(lab):
                        return 1, "Exception calling \"WaitForStatus\" with \"2\" argument(s): \"Time out has expired and the operation has not been completed.\""
                    target["stop_pending_until"] = 0
                winhost.log(state, "service_stopped", service=target["name"], via="cloud_assistant")
                done.append(target["name"])
        elif not service["running"]:
            service["running"] = True
            winhost.log(state, "service_started", service=service["name"], via="cloud_assistant")
            done.append(service["name"])
    result = {"action": action.group(1).lower() if action else "", "done": done, "missing": missing}
    return 0, ANTIVIRUS_MARKER + json.dumps(result, separators=(",", ":"))


# -- the offline package downloaded from a URL and installed with pnputil ----------------------
#
# The script downloads with System.Net.WebClient.DownloadFile, which throws a WebException whose
# Status says why (NameResolutionFailure for an unknown host, ProtocolError with the HTTP response
# for a server that answers 404):
# https://learn.microsoft.com/dotnet/api/system.net.webclient.downloadfile and
# https://learn.microsoft.com/dotnet/api/system.net.webexceptionstatus. The lab's ``downloads``
# (URL -> file) are the URLs that serve bytes. The SHA-256 is the file's
# (https://learn.microsoft.com/dotnet/api/system.security.cryptography.sha256). The package's layout
# is Alibaba Cloud's (folders win10 / Win8 / win7 / Wlh, each with amd64 and x86,
# https://www.alibabacloud.com/help/en/ecs/user-guide/update-the-virtio-driver-of-a-windows-instance),
# and the install is the lab's pnputil model (winhost: one documented return code per INF, the NIC
# drop, the driver staged for the next boot).
PACKAGE_MARKER = "WINFLEET-VIRTIO-PACKAGE "
_PACKAGE_URL_RE = re.compile(r"^\s*\$url\s*=\s*'((?:[^']|'')*)'", re.M)
_PACKAGE_SHA_RE = re.compile(r"^\s*\$expected\s*=\s*'([0-9A-Fa-f]*)'", re.M)
_OS_FOLDERS = {"10.0": "win10", "6.3": "Win8", "6.2": "Win8", "6.1": "win7", "6.0": "Wlh"}


def _package_outcome(step: str, error: str | None, infs: list[dict[str, Any]], code: int,
                     ends: float | None = None) -> tuple[int, str, float | None]:
    line = {"step": step, "error": error, "infs": infs}
    return code, PACKAGE_MARKER + json.dumps(line, separators=(",", ":")), ends


def _download(url: str, lab: dict[str, Any]) -> tuple[bytes | None, str]:
    """The bytes the URL serves, or the WebException the download would throw (type, Status, HTTP code)."""
    served = lab.get("downloads") or {}
    if url in served:
        return Path(served[url]).read_bytes(), ""
    host = urlsplit(url).netloc.lower()
    if any(urlsplit(known).netloc.lower() == host for known in served):
        return None, "WebException ProtocolError, HTTP 404"
    return None, "WebException NameResolutionFailure"


def package_install(state: dict[str, Any], content: str, lab: dict[str, Any]) -> tuple[int, str, float | None]:
    """Download, check, unpack and install the package on the lab host, as the script does on Windows."""
    url = _PACKAGE_URL_RE.search(content).group(1).replace("''", "'")  # type: ignore[union-attr]
    sha = _PACKAGE_SHA_RE.search(content)
    expected = sha.group(1).upper() if sha else ""
    parts = urlsplit(url)
    shown = f"{parts.scheme}://{parts.netloc}/..."
    data, problem = _download(url, lab)
    if data is None:
        return _package_outcome("download", f"cannot download the package from {shown} ({problem}); nothing was installed", [], 3)
    actual = hashlib.sha256(data).hexdigest().upper()
    if actual != expected:
        return _package_outcome("checksum", f"the package downloaded from {shown} has SHA-256 {actual}, expected {expected}; "
                                            "nothing was installed", [], 2)
    try:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except zipfile.BadZipFile as err:
        return _package_outcome("unpack", f"cannot unpack the package: {err}; nothing was installed", [], 4)
    key = ".".join(state["os_version"].split(".")[:2])
    folder = _OS_FOLDERS.get(key)
    candidates = ([f"{folder}/amd64/", f"{folder}/"] if folder else []) + [""]
    lowered = [n.lower() for n in names]
    chosen = next((c for c in candidates if any(n.startswith(c.lower()) and n.endswith(".inf") and "/" not in n[len(c):]
                                                 for n in lowered)), None)
    if chosen is None:
        return _package_outcome("unpack", f"the package has no .inf files for Windows NT {key} (amd64) nor at its root; use "
                                          "the package that matches this Windows version; nothing was installed", [], 4)
    run_id = f"pkg-{uuid.uuid4().hex[:12]}"
    root = f"{winhost.STATE_ROOT}\\package-{run_id}\\package"
    infs = sorted(f"{root}\\{n.replace('/', chr(92))}" for n in names
                  if n.lower().startswith(chosen.lower()) and n.lower().endswith(".inf") and "/" not in n[len(chosen):])
    run = winhost.start_install(state, lab, run_id, "package", inf_files=infs)
    # pnputil's answers are the lab's (update.inf_exit_codes), known now; the run finishes on its timeline
    preview = copy.deepcopy(run)
    winhost._finish_package_run(copy.deepcopy(state), preview)
    state.setdefault("events", []).append({"event": "ecs_virtio_install", "at": time.time(), "run_id": run_id})
    failures = [e["exit_code"] for e in preview["infs"] if e["exit_code"] not in (0, 3010, 259)]
    error = f"pnputil failed with exit code {failures[0]} for at least one .inf of the package" if failures else None
    return _package_outcome("install", error, preview["infs"], failures[0] if failures else 0, run["finishes_at"])
