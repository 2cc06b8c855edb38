"""Every lab stand-in changes nothing in check mode, like the .ps1 it stands for.

The .ps1 modules guard each change with ``$module.CheckMode`` (Ansible.Basic sets it from
``_ansible_check_mode``). A stand-in that changed the simulated host in check mode would make a
``--check`` integration test pass on a lab that diverged from what Windows would hold. So each
stand-in is driven, through the lab's dispatcher as Ansible would drive it, with
``_ansible_check_mode: true`` and arguments that WOULD change the host, and the whole lab (host
state and cluster files) must be byte-for-byte what it was.

Every .ps1 module must have scenarios here (a new module without them fails), and each scenario
is also run without check mode to prove it does change the host, so the check is never vacuous.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.simlab import dispatch
from tests.simlab.build_lab import build_lab
from tests.simlab.state import Lab

REPO_ROOT = Path(__file__).resolve().parents[2]
PS_MODULES = sorted(p.stem for p in (REPO_ROOT / "plugins" / "modules").glob("*.ps1"))

FLEET = r"""
lab: {time_scale: 0.01}
hosts:
  web01:
    os_version: "10.0.17763"
    drivers: {viostor.sys: "62.77.104.58011"}
    antivirus: [{service: SAVService, running: true}, {service: McShield, running: true}]
  fs01:
    file_server:
      folders: ['D:\CauHotfix']
      files: {'D:\CauHotfix\a.msu': 'x'}
      shares: {Hf: {path: 'D:\CauHotfix'}}
"""
CAU_FLEET = REPO_ROOT / "tests" / "simlab" / "fleets" / "cau.yml"
PLUGIN_DLL = "C:\\Program Files\\Contoso\\CAU\\Contoso.FirmwarePlugin.dll"
RUN_ID = "0a1b2c3d-0000-4000-8000-00000000aaaa"


@dataclass
class Scenario:
    module: str
    host: str
    args: dict[str, Any]
    changes: bool = True  # outside check mode, the same call changes the host
    fleet: str = "fleet"
    before: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # run first, outside check mode


SCENARIOS = {
    "virtio_probe-read": Scenario("virtio_probe", "web01", {"driver_files": ["viostor.sys", "netkvm.sys"]}, changes=False),
    "antivirus_services-stop": Scenario("antivirus_services", "web01",
                                        {"services": ["SAVService", "McShield"], "state": "stopped"}),
    "antivirus_services-restart": Scenario(
        "antivirus_services", "web01", {"services": [], "state": "started"},
        before=[("antivirus_services", {"services": ["SAVService", "McShield"], "state": "stopped"})]),
    "virtio_install-prepare": Scenario("virtio_install", "web01", {"_operation": "prepare", "_run_id": "r1"}),
    "virtio_install-start": Scenario(
        "virtio_install", "web01",
        {"_operation": "start", "_run_id": "r1", "_source": "cloud_assistant"},
        before=[("virtio_install", {"_operation": "prepare", "_run_id": "r1"})]),
    "virtio_lock-take": Scenario("virtio_lock", "web01", {"_state": "present", "_run_id": "ctl01:100:555",
                                                          "_rollout_id": "CHG-1"}),
    "virtio_lock-release": Scenario(
        "virtio_lock", "web01", {"_state": "absent", "_run_id": "ctl01:100:555"},
        before=[("virtio_lock", {"_state": "present", "_run_id": "ctl01:100:555"})]),
    "virtio_install-poll": Scenario("virtio_install", "web01", {"_operation": "poll", "_run_id": "r1"}, changes=False),
    "cau_hotfix_root-read": Scenario("cau_hotfix_root", "fs01", {"_operation": "read", "_root": "D:\\CauHotfix"},
                                     changes=False),
    "cau_hotfix_root-apply": Scenario(
        "cau_hotfix_root", "fs01",
        {"_operation": "apply", "_root": "D:\\CauHotfix", "_folders": ["D:\\CauHotfix\\HV02"],
         "_remove": [{"path": "D:\\CauHotfix\\a.msu"}]}),
    "cau_plugin-register": Scenario("cau_plugin", "coord01", {"name": "Contoso.FirmwarePlugin", "path": PLUGIN_DLL},
                                    fleet="cau"),
    "cau_plugin-unregister": Scenario(
        "cau_plugin", "coord01", {"name": "Contoso.FirmwarePlugin", "state": "absent"}, fleet="cau",
        before=[("cau_plugin", {"name": "Contoso.FirmwarePlugin", "path": PLUGIN_DLL})]),
    "cau_run-scan": Scenario("cau_run", "coord01", {"_operation": "scan", "_parameters": {"ClusterName": "hvcl01"}},
                             changes=False, fleet="cau"),
    "cau_run-start": Scenario("cau_run", "coord01",
                              {"_operation": "start", "_parameters": {"ClusterName": "hvcl01"},
                               "_operation_options": {"run_id": RUN_ID}}, fleet="cau"),
    "cau_run-cluster_role": Scenario("cau_run", "sql01",
                                     {"_operation": "cluster_role", "_parameters": {"ClusterName": "sqlcl01", "MaxRetriesPerNode": 3},
                                      "_operation_options": {"state": "present", "action": "added"}}, fleet="cau"),
    "cau_run-cluster_role-absent": Scenario(
        "cau_run", "sql01", {"_operation": "cluster_role", "_parameters": {"ClusterName": "sqlcl01"},
                             "_operation_options": {"state": "absent", "action": "removed"}}, fleet="cau",
        before=[("cau_run", {"_operation": "cluster_role", "_parameters": {"ClusterName": "sqlcl01", "MaxRetriesPerNode": 3},
                             "_operation_options": {"state": "present", "action": "added"}})]),
}


def _lab(tmp_path: Path, fleet: str) -> Lab:
    if fleet == "cau":
        return build_lab(CAU_FLEET, tmp_path / "lab")
    path = tmp_path / "fleet.yml"
    path.write_text(FLEET, encoding="utf-8")
    return build_lab(path, tmp_path / "lab")


def _call(lab: Lab, host: str, module: str, args: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    with lab.host(host) as state:
        return dispatch.run_module(
            state, {"_ansible_module_name": f"winfleet.updates.{module}", "_ansible_check_mode": check_mode, **args},
            lab.settings, lab.root)


def _snapshot(lab: Lab) -> dict[str, Any]:
    """Every host's and cluster's state, without what the lab records about calls rather than the host:
    the event log and the list of files a read hashed."""
    snapshot = {}
    for path in sorted(lab.root.rglob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict):
            data.pop("events", None)
            data.pop("hashed", None)
        snapshot[str(path.relative_to(lab.root))] = data
    return snapshot


def _differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    problems = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            for key in sorted(set(old) | set(new)):
                if old.get(key) != new.get(key):
                    problems.append(f"{name}: '{key}' changed from {old.get(key)!r:.200} to {new.get(key)!r:.200}")
        else:
            problems.append(f"{name}: created or removed")
    return problems


def test_every_host_module_has_check_mode_scenarios():
    covered = {scenario.module for scenario in SCENARIOS.values()}
    assert set(PS_MODULES) <= covered, f"add check-mode scenarios for {sorted(set(PS_MODULES) - covered)}"


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_stand_in_changes_nothing_in_check_mode(tmp_path, name):
    scenario = SCENARIOS[name]
    lab = _lab(tmp_path, scenario.fleet)
    for module, args in scenario.before:
        result = _call(lab, scenario.host, module, args, check_mode=False)
        assert not result.get("failed"), result

    before = _snapshot(lab)
    result = _call(lab, scenario.host, scenario.module, copy.deepcopy(scenario.args), check_mode=True)
    assert not result.get("skipped"), f"{scenario.module} does not run in check mode: {result}"
    changes = _differences(before, _snapshot(lab))
    assert not changes, f"{scenario.module} changed the host in check mode:\n" + "\n".join(changes)

    result = _call(lab, scenario.host, scenario.module, copy.deepcopy(scenario.args), check_mode=False)
    assert not result.get("failed"), result
    assert bool(_differences(before, _snapshot(lab))) == scenario.changes, (
        f"outside check mode the scenario should {'' if scenario.changes else 'not '}change the host: {result}")
