"""The lab answers the few stock Windows modules the naive benchmark audit uses, as they behave."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.simlab import dispatch
from tests.simlab.fleet import normalise_host
from tests.simlab.modules import win_powershell

REPO_ROOT = Path(__file__).resolve().parents[3]
DRIVERS = "C:\\Windows\\System32\\drivers"


def host(**raw):
    return normalise_host("web01", raw)


def call(state, fqcn, check_mode=False, **args):
    return dispatch.run_module(state, {"_ansible_module_name": fqcn, "_ansible_check_mode": check_mode, **args},
                               {"round_trip_ms": 0}, Path("/nonexistent"))


def test_setup_facts_come_from_the_host_state():
    state = host(os_version="6.3.9600", product_type=2)
    facts = call(state, "ansible.windows.setup", gather_subset=["all"], gather_timeout=10)["ansible_facts"]
    assert facts["ansible_distribution_version"] == "6.3.9600.0"
    assert facts["ansible_os_name"] == "Microsoft Windows Server 2012 R2 Datacenter"
    assert facts["ansible_os_product_type"] == "domain_controller"
    assert facts["ansible_env"]["SystemRoot"] == "C:\\Windows"
    assert facts["ansible_hostname"] == "WEB01"
    assert call(state, "ansible.windows.setup")["ansible_facts"] == facts, "facts are stable per host"


def test_installed_collection_specs_are_enforced():
    result = call(host(), "ansible.windows.setup", gather_subst=["all"])
    assert result["failed"] and "Unsupported parameters for (ansible.windows.setup) module: gather_subst" in result["msg"]
    result = call(host(), "ansible.windows.win_powershell", scripts="Get-Date")
    assert result["failed"] and "Unsupported parameters for (ansible.windows.win_powershell) module: scripts" in result["msg"]


def test_win_file_version_refuses_driver_files_as_the_real_module_does():
    state = host(drivers={"viostor.sys": "62.77.104.58011"})
    result = call(state, "community.windows.win_file_version", path=f"{DRIVERS}\\viostor.sys")
    assert result["failed"] and result["msg"].endswith("is not a valid file type; must be DLL or EXE.")
    missing = call(state, "community.windows.win_file_version", path=f"{DRIVERS}\\netkvm.sys")
    assert missing["failed"] and "does not exist or is not a file" in missing["msg"]


def test_win_powershell_reads_a_driver_version_with_the_benchmark_script():
    state = host(drivers={"viostor.sys": {"file_version": "0, 3, 0, 0 built by: WinDDK", "file_version_parts": [62, 77, 104, 57000]}})
    result = call(state, "ansible.windows.win_powershell", script=win_powershell.VERSION_INFO_SCRIPT,
                  parameters={"Path": f"{DRIVERS}\\viostor.sys"})
    assert result["output"] == [{"FileVersion": "0, 3, 0, 0 built by: WinDDK", "ProductVersion": "0, 3, 0, 0 built by: WinDDK",
                                 "FileMajorPart": 62, "FileMinorPart": 77, "FileBuildPart": 104, "FilePrivatePart": 57000}]
    absent = call(state, "ansible.windows.win_powershell", script=win_powershell.VERSION_INFO_SCRIPT,
                  parameters={"Path": f"{DRIVERS}\\netkvm.sys"})
    assert absent["output"] == [] and not absent.get("failed")


def test_win_powershell_refuses_any_other_script():
    result = call(host(), "ansible.windows.win_powershell", script="Restart-Computer -Force")
    assert result["failed"] and "script not simulated" in result["msg"]


def test_the_benchmark_sends_the_script_the_lab_knows():
    playbook = yaml.safe_load((REPO_ROOT / "benchmarks" / "naive_audit.yml").read_text(encoding="utf-8"))
    scripts = [task["ansible.windows.win_powershell"]["script"] for play in playbook for task in play["tasks"]
               if "ansible.windows.win_powershell" in task]
    assert scripts and all(win_powershell._normalised(s) == win_powershell._normalised(win_powershell.VERSION_INFO_SCRIPT)
                           for s in scripts)
