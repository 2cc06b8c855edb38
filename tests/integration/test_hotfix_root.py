"""cau_hotfix_root and cau_hotfix_root_info end to end: the role, the playbook and the modules on simulated file servers.

A user's YAML becomes a staged tree plus Microsoft's base configuration with the rules added in
its own shape, on the controller with no Windows host, and the same description secures and
fills a simulated file server whose CAU tools provide the base and the schema; its preflight
then passes. Around it: preflight findings on deliberately unsafe servers, idempotence counted
in put_file round trips and in files hashed, prune, check mode, a failure midway, bad input
refused before any host round trip (every problem at once), nested administrator membership.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.winfleet.updates.plugins.module_utils._hotfix_config import (
    add_rules,
    read_rules,
    rules_from_options,
    schema_errors,
)
from tests.unit import hotfix_bases
from tests.integration.conftest import run_playbook
from tests.simlab.state import Lab

PLAYBOOK = "winfleet.updates.cau_hotfix_root"
SMB_IN = "File Server Remote Management (SMB-In)"
RULES = [
    {
        "name": "FirmwareUpdate",
        "always_reboot": True,
        "template": {"path": "$update$", "parameters": "/s /norestart"},
        "exit_conditions": {"success": [0], "success_reboot_required": [3010], "not_applicable": [2]},
    }
]
PAYLOADS = {
    "windows10.0-kb5034439-x64.msu": b"MSU payload " * 100,
    "node2-only.msi": b"MSI payload for node 2",
    "fw-1.2.exe": b"MZ firmware 1.2",
}
GOOD_ROOT_ACL = {
    "protected": True,
    "aces": [
        {"identity": "BUILTIN\\Administrators", "rights": "FullControl"},
        {"identity": "NT AUTHORITY\\SYSTEM", "rights": "FullControl"},
        {"identity": "CREATOR OWNER", "rights": "FullControl", "propagation": "InheritOnly"},
        {"identity": "NT SERVICE\\TrustedInstaller", "rights": "FullControl"},
        {"identity": "BUILTIN\\Users", "rights": "Read, Synchronize"},
    ],
}


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    folder = tmp_path / "files"
    folder.mkdir()
    for name, data in PAYLOADS.items():
        (folder / name).write_bytes(data)
    return folder


def issue_description(sources: Path, **extra: Any) -> dict[str, Any]:
    """The issue's YAML, with the update files on this controller."""
    return {
        "cau_hotfix_root_path": "\\\\fs01\\CauHotfix",
        "cau_hotfix_share": {"name": "CauHotfix", "path": "D:\\CauHotfix", "encrypt_data": True},
        "cau_hotfix_nodes": ["NODE1", "NODE2"],
        "cau_hotfix_updates": [
            {"src": str(sources / "windows10.0-kb5034439-x64.msu")},
            {"src": str(sources / "node2-only.msi"), "nodes": ["NODE2"]},
            {"src": str(sources / "fw-1.2.exe"), "rule": "FirmwareUpdate"},
        ],
        "cau_hotfix_folder_rules": RULES,
        **extra,
    }


EXPECTED_TREE = {
    "CAUHotfix_All\\windows10.0-kb5034439-x64.msu": PAYLOADS["windows10.0-kb5034439-x64.msu"],
    "NODE2\\node2-only.msi": PAYLOADS["node2-only.msi"],
    "CAUHotfix_All\\FirmwareUpdate\\fw-1.2.exe": PAYLOADS["fw-1.2.exe"],
}


CAU_TOOLS = {"config": hotfix_bases.PLAIN.decode(), "schema": hotfix_bases.schema().decode()}


def expected_xml(base: bytes = hotfix_bases.PLAIN, rules: list[dict[str, Any]] = RULES) -> bytes:
    return add_rules(base, rules_from_options(rules, [], []), "base")


def file_server_lab(make_lab, name: str = "lab", **server: Any) -> Lab:
    """One file server fs01 in the group cau_file_servers with the CAU tools; D:\\ has Windows' default ACL."""
    host = {"file_server": {"folders": ["D:\\Data"], "cau_tools": CAU_TOOLS, **server}}
    return make_lab({"hosts": {"fs01": host}, "groups": {"cau_file_servers": {"hosts": ["fs01"]}}}, name)


def root_tree(lab: Lab, root: str = "D:\\CauHotfix") -> dict[str, bytes]:
    """Every file under the simulated root, relative path -> bytes (the manifest excluded)."""
    server = lab.read_host("fs01")["file_server"]
    prefix = root.casefold() + "\\"
    tree = {}
    for key, entry in server["files"].items():
        if key.startswith(prefix) and not key.endswith(".winfleet_hotfix_stage.json"):
            data = entry["text"].encode() if "text" in entry else (lab.root / "blobs" / entry["sha256"]).read_bytes()
            tree[entry["path"][len(prefix) :]] = data
    return tree


def root_manifest(lab: Lab, root: str = "D:\\CauHotfix") -> bytes:
    entry = lab.read_host("fs01")["file_server"]["files"][root.casefold() + "\\.winfleet_hotfix_stage.json"]
    return (lab.root / "blobs" / entry["sha256"]).read_bytes()


def playbook_file(tmp_path: Path, tasks: list[dict[str, Any]], hosts: str = "all") -> Path:
    """A throwaway playbook calling the module directly (results read with the JSON callback)."""
    path = tmp_path / f"play-{len(list(tmp_path.glob('play-*.yml')))}.yml"
    path.write_text(yaml.safe_dump([{"name": "Test", "hosts": hosts, "gather_facts": False, "tasks": tasks}]))
    return path


def module_results(run) -> dict[str, list[dict[str, Any]]]:
    """host -> the result of every task, in order (``ansible.posix.json`` stdout)."""
    data = json.loads(run.stdout)
    results: dict[str, list[dict[str, Any]]] = {}
    for play in data["plays"]:
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                results.setdefault(host, []).append(result)
    return results


JSON_OUTPUT = {"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"}


def unchanged_state(state: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in state.items() if k not in ("round_trips", "hashed")}


# --------------------------------------------------------------------------------------------
# Done when: staged with no host, then the same description on a simulated file server
# --------------------------------------------------------------------------------------------


def test_yaml_becomes_a_staged_tree_then_the_same_description_a_secure_file_server(make_lab, sources, tmp_path):
    # 1. On the controller, with no Windows host at all.
    stage = tmp_path / "stage"
    no_hosts = tmp_path / "no-hosts.yml"
    no_hosts.write_text("all: {}\n")  # only the implicit localhost exists
    description = issue_description(sources, cau_hotfix_account="CONTOSO\\CLUSTER1-CAU$")
    base = tmp_path / "base" / "DefaultHotfixConfig.xml"  # a copy of Microsoft's file, its schema beside it
    base.parent.mkdir()
    base.write_bytes(hotfix_bases.PLAIN)
    (base.parent / "HotfixConfigSchema.xsd").write_bytes(hotfix_bases.schema())
    staging = {**description, "cau_hotfix_stage_dir": str(stage), "cau_hotfix_hosts": "localhost",
               "cau_hotfix_base_config": str(base)}
    run = run_playbook(PLAYBOOK, no_hosts, tmp_path / "r", staging, extra_args=["--diff"])
    assert run.returncode == 0, run.output
    assert "changed=1" in run.output and "+CAUHotfix_All\\FirmwareUpdate\\fw-1.2.exe" in run.output
    staged = {
        p.relative_to(stage).as_posix().replace("/", "\\"): p.read_bytes()
        for p in stage.rglob("*")
        if p.is_file() and p.name != ".winfleet_hotfix_stage.json"
    }
    xml = staged.pop("DefaultHotfixConfig.xml")
    assert staged == EXPECTED_TREE  # file by file, byte for byte
    assert schema_errors(xml, hotfix_bases.schema(), "staged") == []
    assert xml == expected_xml() and b'<Folder name="FirmwareUpdate" alwaysReboot="true">' in xml
    assert read_rules(xml, "staged")[:2] == (["MSI", "MSU", "MSP"], ["FirmwareUpdate"])

    # 2. The same description secures and fills a simulated file server; the role's preflight
    # after the build passes every check (the update account's included).
    lab = file_server_lab(make_lab, firewall={SMB_IN: False}, local_admins=["CONTOSO\\CLUSTER1-CAU$"])
    inventory = lab.root / "inventory.yml"
    run = run_playbook(PLAYBOOK, inventory, tmp_path / "r", description)
    assert run.returncode == 0, run.output
    assert "19 of 19 preflight checks passed on fs01" in run.output
    state = lab.read_host("fs01")
    server = state["file_server"]
    tree = root_tree(lab)
    assert tree.pop("DefaultHotfixConfig.xml") == xml  # the same bytes as staged
    assert tree == EXPECTED_TREE
    root_acl = server["acls"]["d:\\cauhotfix"]
    assert root_acl["protected"] is True
    assert {a["identity"] for a in root_acl["aces"]} == {
        "S-1-5-32-544", "S-1-5-18", "S-1-3-0", "S-1-5-32-545",
        "S-1-5-80-956008885-3418522408-1831038044-1853292631-2271478464",
    }
    exe_acl = server["acls"]["d:\\cauhotfix\\cauhotfix_all\\firmwareupdate"]
    assert exe_acl["protected"] is False and exe_acl["aces"][0]["rights"] == 0x1200A9  # Users ReadAndExecute
    assert server["shares"]["cauhotfix"] == {"name": "CauHotfix", "path": "D:\\CauHotfix", "encrypt_data": True}
    assert server["firewall"][SMB_IN] is True
    assert state["put_files"] == 3 and state["files"] == {}  # nothing left in the temp folder
    assert state["round_trips"] == 6  # read + 3 put_file + apply + the role's preflight read
    on_server = json.loads(root_manifest(lab))
    on_controller = json.loads((stage / ".winfleet_hotfix_stage.json").read_text())
    assert {k: v["sha256"] for k, v in on_server["files"].items()} == {
        k: v["sha256"] for k, v in on_controller["files"].items()
    } == {k.replace("\\", "/"): hashlib.sha256(v).hexdigest() for k, v in EXPECTED_TREE.items()}

    # 3. Preflight alone: every check, all passing, nothing changed.
    check = run_playbook(PLAYBOOK, inventory, tmp_path / "r", {**description, "cau_hotfix_preflight": True},
                         env=JSON_OUTPUT)
    assert check.returncode == 0, check.output
    result = next(r for r in module_results(check)["fs01"] if "checks" in r)
    assert result["preflight_passed"] is True and result["failed_checks"] == []
    names = [c["name"] for c in result["checks"]]
    assert names[:6] == ["root_folder", "root_path", "dfs_acl_checks", "config_file", "windows_schema", "tree_structure"]
    assert {"ntfs_acl[.]", "ntfs_acl[CAUHotfix_All\\FirmwareUpdate\\fw-1.2.exe]", "smb_integrity",
            "firewall_smb_in", "update_account", "content_in_sync"} <= set(names)
    assert result["windows_schema"]["available"] is True
    assert result["account"]["is_local_admin"] is True
    assert result["plugin_arguments"] == {"HotfixRootFolderPath": "\\\\fs01\\CauHotfix"}
    assert lab.read_host("fs01")["file_server"] == server


# --------------------------------------------------------------------------------------------
# Idempotence, check mode, prune, failure midway
# --------------------------------------------------------------------------------------------


def test_second_run_changes_nothing_and_transfers_nothing(make_lab, sources, tmp_path):
    lab = file_server_lab(make_lab)
    description = issue_description(sources)
    first = run_playbook(PLAYBOOK, lab.root / "inventory.yml", tmp_path / "r", description)
    assert first.returncode == 0, first.output
    before = lab.read_host("fs01")
    second = run_playbook(PLAYBOOK, lab.root / "inventory.yml", tmp_path / "r", description)
    assert second.returncode == 0 and "changed=0" in second.output, second.output
    after = lab.read_host("fs01")
    assert after["put_files"] == before["put_files"] == 3  # zero files transferred
    assert after["round_trips"] - before["round_trips"] == 2  # one read, one preflight read: no apply
    assert after["file_server"] == before["file_server"]
    # Size and LastWriteTimeUtc match the manifest: no update file was hashed again.
    assert [p for p in after["hashed"][len(before["hashed"]):] if p.endswith((".msu", ".msi", ".exe"))] == []

    # One changed source: exactly one file travels.
    (sources / "node2-only.msi").write_bytes(b"MSI payload for node 2, v2")
    third = run_playbook(PLAYBOOK, lab.root / "inventory.yml", tmp_path / "r", description)
    assert third.returncode == 0 and "changed=1" in third.output, third.output
    assert lab.read_host("fs01")["put_files"] == 4
    assert root_tree(lab)["NODE2\\node2-only.msi"] == b"MSI payload for node 2, v2"


def test_check_mode_changes_nothing_and_shows_the_diff(make_lab, sources, tmp_path):
    lab = file_server_lab(make_lab, firewall={SMB_IN: False})
    before = lab.read_host("fs01")
    run = run_playbook(PLAYBOOK, lab.root / "inventory.yml", tmp_path / "r", issue_description(sources),
                       check=True, extra_args=["--diff"])
    assert run.returncode == 0, run.output
    after = lab.read_host("fs01")
    assert unchanged_state(after) == unchanged_state(before)
    assert after["round_trips"] == 1 and after.get("put_files", 0) == 0
    assert "+NODE2\\node2-only.msi  sha256:" in run.output
    assert '+    <Folder name="FirmwareUpdate" alwaysReboot="true">' in run.output
    assert "+acl .: inheritance off; explicit:" in run.output
    assert f"+firewall '{SMB_IN}': enabled" in run.output
    assert "+share CauHotfix: D:\\CauHotfix, EncryptData=True" in run.output


def test_prune_removes_only_what_the_module_placed(make_lab, sources, tmp_path):
    lab = file_server_lab(make_lab, files={"D:\\CauHotfix\\CAUHotfix_All\\operator-notes.txt": "mine"})
    inventory = lab.root / "inventory.yml"
    full = issue_description(sources)
    assert run_playbook(PLAYBOOK, inventory, tmp_path / "r", full).returncode == 0
    smaller = {**full, "cau_hotfix_updates": full["cau_hotfix_updates"][:1], "cau_hotfix_root_verify": False}

    kept = run_playbook(PLAYBOOK, inventory, tmp_path / "r", smaller, env=JSON_OUTPUT)
    assert kept.returncode == 0, kept.output
    result = next(r for r in module_results(kept)["fs01"] if r.get("mode") == "apply")
    assert result["changed"] is False  # nothing is removed, and the stale .exe keeps its execute right
    assert result["removed"] == [] and result["stale"] == [
        "CAUHotfix_All\\FirmwareUpdate\\fw-1.2.exe", "NODE2\\node2-only.msi"
    ]
    assert result["foreign"] == ["CAUHotfix_All\\operator-notes.txt"]
    assert "NODE2\\node2-only.msi" in root_tree(lab)

    pruned = run_playbook(PLAYBOOK, inventory, tmp_path / "r", {**smaller, "cau_hotfix_prune": True}, env=JSON_OUTPUT)
    assert pruned.returncode == 0, pruned.output
    result = next(r for r in module_results(pruned)["fs01"] if r.get("mode") == "apply")
    assert result["removed"] == ["CAUHotfix_All\\FirmwareUpdate\\fw-1.2.exe", "NODE2\\node2-only.msi"]
    assert "remove folder NODE2" in result["done"] and "remove folder CAUHotfix_All\\FirmwareUpdate" in result["done"]
    assert set(root_tree(lab)) == {
        "DefaultHotfixConfig.xml", "CAUHotfix_All\\windows10.0-kb5034439-x64.msu", "CAUHotfix_All\\operator-notes.txt"
    }
    server = lab.read_host("fs01")["file_server"]
    assert "d:\\cauhotfix\\node2" not in server["folders"]


def test_a_failure_midway_says_what_was_done_and_a_rerun_finishes(make_lab, sources, tmp_path):
    lab = file_server_lab(make_lab, fail_step="create share")
    inventory = lab.root / "inventory.yml"
    description = issue_description(sources)
    failed = run_playbook(PLAYBOOK, inventory, tmp_path / "r", description)
    assert failed.returncode != 0
    assert "failed at 'create share CauHotfix'" in failed.output
    assert "Done before the failure: create root D:\\CauHotfix; set ACL .; create folder CAUHotfix_All" in failed.output
    assert "write DefaultHotfixConfig.xml; write manifest." in failed.output
    state = lab.read_host("fs01")
    assert state["file_server"]["shares"] == {} and set(root_tree(lab)) >= set(EXPECTED_TREE)
    assert state["files"] == {}  # the transferred copies were cleaned up

    with lab.host("fs01") as host:
        host["file_server"]["fail_step"] = None
    rerun = run_playbook(PLAYBOOK, inventory, tmp_path / "r", description, env=JSON_OUTPUT)
    assert rerun.returncode == 0, rerun.output
    result = next(r for r in module_results(rerun)["fs01"] if r.get("mode") == "apply")
    assert result["done"] == ["create share CauHotfix"]  # only what was left
    assert result["transferred"] == []


# --------------------------------------------------------------------------------------------
# Preflight findings on deliberately unsafe servers
# --------------------------------------------------------------------------------------------

DEFAULT_XML = hotfix_bases.PLAIN.decode()


def healthy_server(**changes: Any) -> dict[str, Any]:
    """A root built right by hand; each unsafe server below breaks one thing."""
    server: dict[str, Any] = {
        "files": {
            "D:\\CauHotfix\\DefaultHotfixConfig.xml": DEFAULT_XML,
            "D:\\CauHotfix\\CAUHotfix_All\\kb1.msu": "msu",
        },
        "acls": {"D:\\CauHotfix": GOOD_ROOT_ACL},
        "shares": {"CauHotfix": {"path": "D:\\CauHotfix", "encrypt_data": True}},
        "cau_tools": CAU_TOOLS,
    }
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(server.get(key), dict):
            server[key] = {**server[key], **value}
        else:
            server[key] = value
    return server


UNSAFE = {
    "healthy": (healthy_server(), {}),
    "users-modify": (
        healthy_server(acls={"D:\\CauHotfix": {**GOOD_ROOT_ACL, "aces": GOOD_ROOT_ACL["aces"] + [
            {"identity": "BUILTIN\\Users", "rights": "Modify"}]}}),
        {},
    ),
    "everyone-full": (
        healthy_server(acls={"D:\\CauHotfix\\CAUHotfix_All": [{"identity": "Everyone", "rights": "FullControl"}]}),
        {},
    ),
    "inherits-volume": ({**healthy_server(), "acls": {}}, {}),
    "no-encryption": (healthy_server(shares={"CauHotfix": {"path": "D:\\CauHotfix", "encrypt_data": False}}), {}),
    "firewall-off": (healthy_server(firewall={SMB_IN: False}), {}),
    "dfs-no-disable": (healthy_server(), {"hotfix_path": "\\\\contoso.com\\ns\\CauHotfix", "hotfix_dfs": True}),
    "dfs-disabled": (
        healthy_server(),
        {"hotfix_path": "\\\\contoso.com\\ns\\CauHotfix", "hotfix_dfs": True, "hotfix_disable_acl": True},
    ),
    "bad-config": (
        healthy_server(files={"D:\\CauHotfix\\DefaultHotfixConfig.xml": DEFAULT_XML.replace(
            "<Success>\n          <ExitCode Code=\"0\"/>\n        </Success>", "", 1)}),
        {},
    ),
    "stray-files": (
        healthy_server(files={
            "D:\\CauHotfix\\readme.txt": "notes",
            "D:\\CauHotfix\\CAUHotfix_All\\tool.cmd": "@echo off",
            "D:\\CauHotfix\\NODE9\\kb2.msu": "msu",
        }),
        {},
    ),
    "no-root": ({"shares": {}}, {"hotfix_path": "\\\\no-root\\CauHotfix"}),
    "unknown-node": (healthy_server(files={"D:\\CauHotfix\\NODE9\\kb2.msu": "msu"}), {"hotfix_nodes": ["NODE1", "NODE2"]}),
}
EXPECTED_FAILURES = {
    "healthy": set(),
    "users-modify": {"ntfs_acl[.]", "ntfs_acl[CAUHotfix_All]", "ntfs_acl[CAUHotfix_All\\kb1.msu]",
                     "ntfs_acl[DefaultHotfixConfig.xml]"},
    "everyone-full": {"ntfs_acl[CAUHotfix_All]", "ntfs_acl[CAUHotfix_All\\kb1.msu]"},
    # Users may create files below a volume root by default; ReadAndExecute on files is more than needed.
    "inherits-volume": {"ntfs_acl[.]", "ntfs_acl[CAUHotfix_All]", "ntfs_acl[CAUHotfix_All\\kb1.msu]",
                        "ntfs_acl[DefaultHotfixConfig.xml]"},
    "no-encryption": {"smb_integrity"},
    "firewall-off": {"firewall_smb_in"},
    "dfs-no-disable": {"dfs_acl_checks"},
    "dfs-disabled": set(),
    "bad-config": {"config_file", "windows_schema"},
    "stray-files": {"tree_structure"},
    "no-root": {"root_folder", "config_file", "ntfs_acl", "smb_integrity"},
    "unknown-node": {"tree_structure"},
}


def test_preflight_names_every_unsafe_state_with_its_fix(make_lab, tmp_path):
    fleet = {
        "hosts": {
            name: {
                "file_server": {"folders": ["D:\\Data"], **server},
                "vars": {"hotfix_path": f"\\\\{name}\\CauHotfix", **host_vars},
            }
            for name, (server, host_vars) in UNSAFE.items()
        }
    }
    lab = make_lab(fleet)
    task = {
        "name": "Preflight",
        "winfleet.updates.cau_hotfix_root_info": {
            "path": "{{ hotfix_path }}",
            "is_dfs": "{{ hotfix_dfs | default(false) }}",
            "disable_acl_checks": "{{ hotfix_disable_acl | default(false) }}",
            "nodes": "{{ hotfix_nodes | default(omit) }}",
            "share": "{{ {'name': 'CauHotfix'} if hotfix_dfs | default(false) else omit }}",
        },
    }
    before = {name: lab.read_host(name) for name in UNSAFE}
    run = run_playbook(str(playbook_file(tmp_path, [task])), lab.root / "inventory.yml", tmp_path / "r", env=JSON_OUTPUT)
    assert run.returncode == 0, run.output
    results = {host: r[0] for host, r in module_results(run).items()}
    for name, expected in EXPECTED_FAILURES.items():
        result = results[name]
        failed = {c["name"]: c for c in result["checks"] if not c["passed"]}
        assert set(failed) == expected, (name, failed)
        assert all(c["fix"] for c in failed.values()), name
        after = lab.read_host(name)
        assert unchanged_state(after) == unchanged_state(before[name]), name  # preflight changes nothing
        assert after["round_trips"] == 1, name

    users = {c["name"]: c for c in results["users-modify"]["checks"]}["ntfs_acl[.]"]
    assert "BUILTIN\\Users holds Modify (explicit)" in users["detail"] and users["blocking"] is True
    everyone = {c["name"]: c for c in results["everyone-full"]["checks"]}["ntfs_acl[CAUHotfix_All]"]
    assert "Everyone holds FullControl" in everyone["detail"]
    volume = {c["name"]: c for c in results["inherits-volume"]["checks"]}["ntfs_acl[.]"]
    assert "inherited from a parent" in volume["detail"] and "disable inheritance" in volume["fix"]
    smb = {c["name"]: c for c in results["no-encryption"]["checks"]}["smb_integrity"]
    assert smb["fix"].startswith("Set-SmbShare -Name CauHotfix -EncryptData $true")
    firewall = {c["name"]: c for c in results["firewall-off"]["checks"]}["firewall_smb_in"]
    assert firewall["detail"] == f"'{SMB_IN}' is disabled" and "Enable-NetFirewallRule" in firewall["fix"]
    dfs = {c["name"]: c for c in results["dfs-no-disable"]["checks"]}["dfs_acl_checks"]
    assert "DisableAclChecks='True'" in dfs["fix"]
    assert results["dfs-disabled"]["plugin_arguments"]["DisableAclChecks"] is True
    config = {c["name"]: c for c in results["bad-config"]["checks"]}
    assert "Success" in config["config_file"]["detail"] and "HotfixConfigSchema.xsd" in config["windows_schema"]["detail"]
    stray = {c["name"]: c for c in results["stray-files"]["checks"]}["tree_structure"]
    assert stray["blocking"] is False and results["stray-files"]["preflight_passed"] is True
    assert "readme.txt" in stray["detail"] and "tool.cmd" in stray["detail"] and "NODE9" not in stray["detail"]
    assert results["no-root"]["windows_schema"]["available"] is False
    assert results["healthy"]["preflight_passed"] is True
    node = {c["name"]: c for c in results["unknown-node"]["checks"]}["tree_structure"]
    assert "NODE9 is not a node of the cluster" in node["detail"]


def test_windows_schema_rejecting_the_new_file_stops_before_any_change(make_lab, sources, tmp_path):
    strict = hotfix_bases.schema().replace(b'<xs:attribute name="alwaysReboot" type="xs:boolean"/>', b"")
    lab = file_server_lab(make_lab, cau_tools={**CAU_TOOLS, "schema": strict.decode()})
    before = lab.read_host("fs01")
    run = run_playbook(PLAYBOOK, lab.root / "inventory.yml", tmp_path / "r", issue_description(sources))
    assert run.returncode != 0
    assert "does not validate against" in run.output and "nothing was changed" in run.output
    after = lab.read_host("fs01")
    assert unchanged_state(after) == unchanged_state(before) and after["round_trips"] == 1


# --------------------------------------------------------------------------------------------
# Bad input: refused on the controller, before any host round trip
# --------------------------------------------------------------------------------------------


def _bad(sources: Path, name: str) -> dict[str, Any]:
    """The issue's description with one mistake, as module options."""
    description = issue_description(sources)
    updates = description["cau_hotfix_updates"]
    if name == "unknown node":
        updates[1]["nodes"] = ["NODE3"]
    elif name == "rule folder without rule":
        updates[2]["rule"] = "BiosUpdate"
    elif name == "traversal":
        description["cau_hotfix_root_path"] = "D:\\CauHotfix\\..\\Windows"
    elif name == "reserved device name":
        (sources / "CON.msu").write_bytes(b"x")
        updates.append({"src": str(sources / "CON.msu")})
    elif name == ".exe without rule":
        del updates[2]["rule"]
    elif name == "rule without $update$":
        description["cau_hotfix_folder_rules"] = [{**RULES[0], "template": {"path": "fw.exe", "parameters": "/s"}}]
    elif name == "missing source":
        updates[0]["src"] = str(sources / "gone.msu")
    elif name == "neither encryption nor signing":
        description["cau_hotfix_share"] = {**description["cau_hotfix_share"], "encrypt_data": False}
    return {
        "path": description["cau_hotfix_root_path"],
        "share": description["cau_hotfix_share"],
        "nodes": description["cau_hotfix_nodes"],
        "updates": updates,
        "folder_rules": description["cau_hotfix_folder_rules"],
    }


BAD_INPUT = {
    "unknown node": ["updates[1].nodes[0]", "NODE3 is not a node of the cluster (nodes: NODE1, NODE2)"],
    "rule folder without rule": ["updates[2].rule", "'BiosUpdate' is not defined", "defined: FirmwareUpdate"],
    "traversal": ["path:", "path traversal"],
    "reserved device name": ["updates[3].src", "reserved device name CON"],
    ".exe without rule": ["updates[2].src", "installs only .msi, .msp, .msu outside a rule folder"],
    "rule without $update$": ["folder_rules[0].template.parameters", "neither path nor parameters contains $update$"],
    "missing source": ["updates[0].src", "gone.msu was not found on the controller"],
    "neither encryption nor signing": ["share.encrypt_data", "encrypt_data: true (recommended) or require_signing: true"],
}


def test_bad_input_fails_before_any_host_round_trip(make_lab, sources, tmp_path):
    hosts = {f"bad{i}": {"file_server": {}, "vars": {"case": _bad(sources, name)}} for i, name in enumerate(BAD_INPUT)}
    lab = make_lab({"hosts": hosts})
    options = ("path", "share", "nodes", "updates", "folder_rules")
    task = {"name": "Build", "winfleet.updates.cau_hotfix_root": {o: f"{{{{ case.{o} }}}}" for o in options}}
    run = run_playbook(str(playbook_file(tmp_path, [task])), lab.root / "inventory.yml", tmp_path / "r", env=JSON_OUTPUT)
    results = {host: r[0] for host, r in module_results(run).items()}
    for index, (name, fragments) in enumerate(BAD_INPUT.items()):
        result = results[f"bad{index}"]
        assert result["failed"] is True, name
        for fragment in fragments:
            assert fragment in result["msg"], (name, fragment, result["msg"])
        assert result["field"] == fragments[0].rstrip(":"), name
        assert "Traceback" not in result["msg"], name
        assert lab.read_host(f"bad{index}")["round_trips"] == 0, name


def test_the_role_reports_bad_input_by_option_before_any_host_round_trip(make_lab, sources, tmp_path):
    lab = file_server_lab(make_lab)
    description = issue_description(sources)
    description["cau_hotfix_updates"][1]["nodes"] = ["node2.contoso.com"]
    run = run_playbook(PLAYBOOK, lab.root / "inventory.yml", tmp_path / "r", description)
    assert run.returncode != 0
    assert "updates[1].nodes[0]: 'node2.contoso.com' looks like a DNS name; use the NetBIOS name ('NODE2')" in run.output
    assert "Traceback" not in run.output
    assert lab.read_host("fs01")["round_trips"] == 0


def test_every_mistake_is_reported_in_one_run(make_lab, sources, tmp_path):
    lab = file_server_lab(make_lab)
    description = issue_description(sources)
    description["cau_hotfix_updates"][1]["nodes"] = ["NODE3"]
    description["cau_hotfix_updates"][2]["rule"] = "BiosUpdate"
    description["cau_hotfix_share"] = {**description["cau_hotfix_share"], "encrypt_data": False}
    run = run_playbook(PLAYBOOK, lab.root / "inventory.yml", tmp_path / "r", description)
    assert run.returncode != 0 and lab.read_host("fs01")["round_trips"] == 0
    assert "updates[1].nodes[0]: NODE3 is not a node of the cluster" in run.output
    assert "; also updates[2].rule: rule 'BiosUpdate' is not defined" in run.output
    assert "; also share.encrypt_data: the HotfixPlugin needs SMB encryption or signing" in run.output


# --------------------------------------------------------------------------------------------
# Microsoft's base of another shape; the documented -e @file with relative src; nested admins
# --------------------------------------------------------------------------------------------


def test_a_namespaced_base_on_the_server_keeps_its_shape_and_passes_windows_schema(make_lab, sources, tmp_path):
    tools = {"config": hotfix_bases.NAMESPACED.decode(), "schema": hotfix_bases.schema(hotfix_bases.NAMESPACE, "text").decode()}
    lab = file_server_lab(make_lab, cau_tools=tools)
    run = run_playbook(PLAYBOOK, lab.root / "inventory.yml", tmp_path / "r", issue_description(sources))
    assert run.returncode == 0, run.output
    xml = root_tree(lab)["DefaultHotfixConfig.xml"]
    assert xml == expected_xml(hotfix_bases.NAMESPACED)
    assert b"<Comment>shipped with the CAU tools</Comment>" in xml and b"<!-- wusa -->" in xml
    assert b"<Success>\n                    <ExitCode>0</ExitCode>" in xml  # the base's exit-code form, not ours


def test_without_the_cau_tools_the_module_says_where_it_looked_and_changes_nothing(make_lab, sources, tmp_path):
    lab = file_server_lab(make_lab, cau_tools=None)
    before = lab.read_host("fs01")
    run = run_playbook(PLAYBOOK, lab.root / "inventory.yml", tmp_path / "r", issue_description(sources))
    assert run.returncode != 0
    assert "base_config: Microsoft's DefaultHotfixConfig.xml was not found in C:\\Windows\\System32\\WindowsPowerShell" in run.output
    assert unchanged_state(lab.read_host("fs01")) == unchanged_state(before)


def test_relative_src_of_an_extra_vars_file_and_an_account_admin_through_nested_groups(make_lab, tmp_path):
    lab = file_server_lab(make_lab, groups={"CONTOSO\\CAU Servers": ["CONTOSO\\CLUSTER1-CAU$"]},
                          local_admins=["CONTOSO\\CAU Servers"])
    (lab.root / "files").mkdir()
    (lab.root / "files" / "kb1.msu").write_bytes(b"MSU")  # next to the inventory
    extra = tmp_path / "hotfix_root.yml"
    extra.write_text(yaml.safe_dump({
        "cau_hotfix_root_path": "\\\\fs01\\CauHotfix", "cau_hotfix_share": {"path": "D:\\CauHotfix"},
        "cau_hotfix_updates": [{"src": "files/kb1.msu"}], "cau_hotfix_account": "CONTOSO\\CLUSTER1-CAU$",
    }))
    run = run_playbook(PLAYBOOK, lab.root / "inventory.yml", tmp_path / "r", extra_args=["-e", f"@{extra}"], env=JSON_OUTPUT)
    assert run.returncode == 0, run.output
    assert root_tree(lab)["CAUHotfix_All\\kb1.msu"] == b"MSU"
    check = next(r for r in module_results(run)["fs01"] if "checks" in r)
    account = next(c for c in check["checks"] if c["name"] == "update_account")
    assert account["passed"] is True and "nested membership included" in account["detail"]
