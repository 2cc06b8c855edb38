"""One detached-worker engine on the host, written for Windows PowerShell 5.1 and Group Policy.

Read statically (no PowerShell on our machines): both long-running modules start their worker
through plugins/module_utils/_DetachedWorker.psm1, which registers a scheduled task as the SID
S-1-5-18 and passes the bootstrap as -EncodedCommand (a MachinePolicy AllSigned/RemoteSigned
execution policy overrides -ExecutionPolicy Bypass for script files:
https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/about_execution_policies).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
ENGINE = REPO_ROOT / "plugins" / "module_utils" / "_DetachedWorker.psm1"
WORKER_MODULES = ["virtio_install.ps1", "cau_run.ps1"]


def _code(path: Path) -> str:
    """The script without comments."""
    text = re.sub(r"<#.*?#>", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#") or line.startswith("#Ansible"))


@pytest.mark.parametrize("module", WORKER_MODULES)
def test_long_running_modules_use_the_one_engine(module):
    code = _code(REPO_ROOT / "plugins" / "modules" / module)
    assert "#AnsibleRequires -PowerShell ..module_utils._DetachedWorker" in code
    assert "Start-DetachedWorker" in code
    for own_launch in ("Win32_Process", "RegisterTaskDefinition", "Schedule.Service"):
        assert own_launch not in code, f"{module} launches its worker itself ({own_launch})"


def test_the_engine_runs_as_system_by_sid_from_an_encoded_command_in_its_folder():
    code = _code(ENGINE)
    assert "'S-1-5-18'" in code and "Principal.UserId = $script:SystemSid" in code
    arguments = re.search(r"\$action\.Arguments = \"([^\"]*)\"", code).group(1)
    assert "-EncodedCommand" in arguments and "-File" not in arguments
    assert "$action.WorkingDirectory = $WorkingDirectory" in code
    assert "worker.started" in code  # a worker that never ran is told apart
    assert re.search(r"Move-Item -LiteralPath `\$temporary -Destination `\$target", code)  # temp file, then move


def test_the_engine_refuses_junctions_and_foreign_owners():
    code = _code(ENGINE)
    assert "ReparsePoint" in code and "GetOwner([System.Security.Principal.SecurityIdentifier])" in code
    assert "SetAccessRuleProtection($true, $false)" in code and "SetOwner(" in code


@pytest.mark.parametrize("script", sorted((REPO_ROOT / "plugins").rglob("*.ps*1")), ids=lambda p: p.name)
def test_no_windows_powershell_5_1_pitfalls(script):
    code = _code(script)
    # *>> appends UTF-16 in 5.1, mixing encodings in a log started with Add-Content
    # https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/about_redirection
    assert "*>>" not in code
    # Shell.Application's CopyHere is asynchronous and hides errors; .NET 4.5 is on every 5.1 host
    assert "Shell.Application" not in code
    # ConvertFrom-Json piped straight on: a JSON array is ONE object in 5.1
    assert not re.search(r"ConvertFrom-Json\s*\|", code), "group it: (... | ConvertFrom-Json) | ..."
