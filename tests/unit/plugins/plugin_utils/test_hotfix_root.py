"""Decisions of cau_hotfix_root on the controller: plugin_utils/_hotfix_root.py, without a host."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._hotfix_layout import PlannedFile
from ansible_collections.winfleet.updates.plugins.plugin_utils._hotfix_root import (
    MANIFEST_NAME,
    Observed,
    describe,
    observe_folder,
    parse_observed,
    plan_changes,
    plugin_arguments,
)
from ansible_collections.winfleet.updates.plugins.plugin_utils._hotfix_root_run import run_build

RULE = {
    "name": "FirmwareUpdate",
    "always_reboot": True,
    "template": {"path": "$update$", "parameters": "/s /norestart"},
    "exit_conditions": {"success": [0], "success_reboot_required": [3010]},
}
UNC = "\\\\fs01\\CauHotfix"
UPDATES = [{"src": "/u/kb1.msu"}, {"src": "/u/node2.msi", "nodes": ["NODE2"]}, {"src": "/u/fw.exe", "rule": "FirmwareUpdate"}]


def resolve(src: str, field: str) -> str:
    """Sources are absolute in these tests; a name containing 'gone' is missing."""
    if "gone" in src:
        raise InputError(field, f"{src} was not found on the controller")
    return src


def args(**options: Any) -> dict[str, Any]:
    return {"path": UNC, "share": {"path": "D:\\CauHotfix"}, "folder_rules": [RULE], **options}


@pytest.mark.parametrize(
    ("options", "field", "fragment"),
    [
        ({"path": None, "share": None}, "path", "is required"),
        ({"path": "relative\\dir"}, "path", "not absolute"),
        ({"share": {"name": "Other"}}, "share.name", "differs from the share in path"),
        ({"path": "D:\\CauHotfix", "share": {"path": "D:\\Other"}}, "share.name", "is required to publish a local root"),
        ({"path": "D:\\CauHotfix", "share": {"name": "S", "path": "D:\\Other"}}, "share.path", "must be D:\\Other or"),
        ({"share": {"path": "\\\\fs01\\x"}}, "share.path", "must be a local folder"),
        ({"share": {"name": "ADMIN$"}}, "share.name", "administrative share"),
        ({"share": {"encrypt_data": False}}, "share.encrypt_data", "encryption or signing"),
        ({"share": {"encrypt_data": False, "require_signing": True}, "require_smb_encryption": True},
         "share.encrypt_data", "require_smb_encryption: true makes every run fail"),
        ({"path": "D:\\CauHotfix", "share": None, "require_smb_encryption": True}, "require_smb_encryption", "needs a share"),
        ({"path": "\\\\contoso.com\\ns\\CauHotfix", "is_dfs": True, "share": None}, "share.name", "DFS namespace"),
        ({"config_name": "..\\x.xml"}, "config_name", "contains"),
        ({"config_name": MANIFEST_NAME}, "config_name", "manifest"),
        ({"nodes": ["node1.contoso.com"]}, "nodes[0]", "NetBIOS name ('NODE1')"),
        ({"folder_rules": [RULE, dict(RULE, name="firmwareupdate")]}, "folder_rules[1].name", "is also folder_rules[0]"),
        ({"updates": [{"src": "/u/gone.msu"}]}, "updates[0].src", "not found"),
        ({"updates": [{"src": "/u/fw.exe"}]}, "updates[0].src", "installs only"),
        ({"stage_dir": "/s"}, "base_config", "is required with stage_dir"),
        ({"base_config": "/u/gone.xml"}, "base_config", "not found"),
    ],
)
def test_bad_options_are_named(options, field, fragment):
    with pytest.raises(InputError) as caught:
        describe(args(**options), resolve)
    assert caught.value.field == field and fragment in caught.value.message


def test_every_problem_is_reported_in_one_run():
    with pytest.raises(InputError) as caught:
        describe(args(path="relative", nodes=["a.b"], updates=[{"src": "/u/fw.exe"}, {"src": "/u/gone.msu"}],
                      folder_rules=[{**RULE, "template": {"path": "x"}}]), resolve)
    assert caught.value.field == "path"
    for fragment in ("also folder_rules[0].template.parameters:", "also nodes[0]:", "also updates[0].src:", "also updates[1].src:"):
        assert fragment in caught.value.message


def test_a_bad_name_is_reported_as_such_even_when_the_file_is_missing():
    with pytest.raises(InputError, match="reserved device name") as caught:
        describe(args(updates=[{"src": "/u/gone/NUL.msu"}]), resolve)
    assert "not found" not in str(caught.value)


@pytest.mark.parametrize(
    ("options", "local_root", "share", "subpath"),
    [
        ({"path": "D:\\CauHotfix", "share": None}, "D:\\CauHotfix", None, ()),
        ({"path": "D:\\CauHotfix", "share": {"name": "Hf"}}, "D:\\CauHotfix", ("Hf", "D:\\CauHotfix"), ()),
        ({"path": "D:\\Shares\\Hf\\Root", "share": {"name": "Hf", "path": "D:\\Shares\\Hf"}}, "D:\\Shares\\Hf\\Root",
         ("Hf", "D:\\Shares\\Hf"), ()),
        ({"share": None}, None, ("CauHotfix", None), ()),
        ({"path": UNC + "\\Root", "share": {"path": "d:/CauHotfix"}}, "D:\\CauHotfix\\Root", ("CauHotfix", "D:\\CauHotfix"), ("Root",)),
        ({"path": "\\\\contoso.com\\ns\\Hf", "is_dfs": True, "share": {"name": "Hf"}}, None, ("Hf", None), ()),
    ],
)
def test_the_root_and_the_share_that_publishes_it(options, local_root, share, subpath):
    desc = describe(args(**options), resolve)
    assert desc.local_root == local_root and desc.share_subpath == subpath
    assert (desc.share.name, desc.share.path) == share if share else desc.share is None


def test_ansible_fills_unset_sub_options_with_none_and_that_means_absent():
    rule = {**RULE, "template": {"path": "$update$", "parameters": None}, "exit_conditions": {"success": [0], "not_applicable": None}}
    desc = describe(args(folder_rules=[rule], updates=[{"src": "/u/kb.msu", "nodes": None, "rule": None}]), resolve)
    assert desc.rules[0].parameters == "" and desc.files[0].path == "CAUHotfix_All\\kb.msu"


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, {"HotfixRootFolderPath": UNC}),
        ({"require_smb_encryption": True, "disable_acl_checks": True, "config_name": "Hotfix.xml"},
         {"HotfixRootFolderPath": UNC, "RequireSMBEncryption": True, "DisableAclChecks": True, "HotfixConfigFileName": "Hotfix.xml"}),
        ({"path": None, "share": None, "stage_dir": "/s", "base_config": "builtin"}, {}),
    ],
)
def test_plugin_arguments(options, expected):
    assert plugin_arguments(describe(args(**options), resolve)) == expected


# --------------------------------------------------------------------------------------------
# The one diff engine, over a host answer or a local folder
# --------------------------------------------------------------------------------------------


def sources(desc) -> list[PlannedFile]:
    return [replace(f, sha256=hashlib.sha256(f.src.encode()).hexdigest(), size=1) for f in desc.files]


def test_an_empty_server_gets_everything_root_secured_first():
    desc = describe(args(updates=UPDATES), resolve)
    observed = parse_observed({"computer_name": "FS01", "root": {"path": "D:\\CauHotfix", "exists": False},
                               "share": {"name": "CauHotfix", "exists": False}, "firewall": {"exists": True, "enabled": True}})
    changes = plan_changes(desc, observed, sources(desc), b"<x/>")
    assert changes.create_root and changes.folders == ["CAUHotfix_All", "NODE2", "CAUHotfix_All\\FirmwareUpdate"]
    assert [c["path"] for c in changes.acl] == ["", "CAUHotfix_All\\FirmwareUpdate"]
    assert changes.share["create"] and changes.config_changed and changes.manifest is not None


def test_a_host_state_the_module_must_not_paper_over_stops_before_any_change():
    desc = describe(args(updates=UPDATES), resolve)
    observed = parse_observed({"computer_name": "FS01", "root": {"path": "D:\\CauHotfix", "exists": True},
                               "files": [{"path": "NODE2", "sha256": "0", "size": 1}], "share": {"exists": True, "path": "D:\\CauHotfix"}})
    with pytest.raises(InputError, match="NODE2 is a file on FS01 where a folder must go"):
        plan_changes(desc, observed, sources(desc), b"<x/>")


def test_a_malformed_host_answer_is_named():
    with pytest.raises(InputError) as caught:
        parse_observed({"files": [{"name": "x"}]})
    assert caught.value.field == "winfleet.updates.cau_hotfix_root answer"
    with pytest.raises(InputError, match="is not base64"):
        parse_observed({"config": "not base64!"})


@pytest.fixture
def payloads(tmp_path: Path) -> Path:
    folder = tmp_path / "files"
    folder.mkdir()
    for name in ("kb1.msu", "node2.msi", "fw.exe"):
        (folder / name).write_bytes(name.encode() * 100)
    return folder


def staged(payloads: Path, stage: Path, **options: Any):
    updates = [{"src": str(payloads / "kb1.msu")}, {"src": str(payloads / "node2.msi"), "nodes": ["NODE2"]},
               {"src": str(payloads / "fw.exe"), "rule": "FirmwareUpdate"}]
    return describe({"stage_dir": str(stage), "base_config": "builtin", "updates": updates, "folder_rules": [RULE], **options}, resolve)


def test_staging_is_the_same_plan_and_apply_over_a_local_folder(payloads, tmp_path):
    stage = tmp_path / "stage"
    first = run_build(staged(payloads, stage), None, check_mode=False, diff=False)
    assert first["changed"] and sorted(first["created"]) == ["CAUHotfix_All\\FirmwareUpdate\\fw.exe", "CAUHotfix_All\\kb1.msu", "NODE2\\node2.msi"]
    assert (stage / "NODE2" / "node2.msi").read_bytes() == b"node2.msi" * 100
    manifest = json.loads((stage / MANIFEST_NAME).read_text())["files"]
    assert set(manifest) == {"CAUHotfix_All/kb1.msu", "NODE2/node2.msi", "CAUHotfix_All/FirmwareUpdate/fw.exe"}
    assert all({"sha256", "size", "mtime"} <= set(v) for v in manifest.values())
    second = run_build(staged(payloads, stage), None, check_mode=False, diff=False)
    assert not second["changed"] and len(second["unchanged"]) == 3


def test_a_file_unchanged_in_size_and_time_is_not_hashed_again(payloads, tmp_path, monkeypatch):
    stage = tmp_path / "stage"
    run_build(staged(payloads, stage), None, check_mode=False, diff=False)
    target = stage / "CAUHotfix_All" / "kb1.msu"
    info = target.stat()
    target.write_bytes(b"X" * info.st_size)  # same size, same time: not hashed, so not noticed
    os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert observe_folder(stage, "DefaultHotfixConfig.xml").files["cauhotfix_all\\kb1.msu"]["sha256"] == hashlib.sha256(b"kb1.msu" * 100).hexdigest()
    os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns + 1))  # a new time: hashed, and copied again
    result = run_build(staged(payloads, stage), None, check_mode=False, diff=False)
    assert result["updated"] == ["CAUHotfix_All\\kb1.msu"] and target.read_bytes() == b"kb1.msu" * 100


def test_check_mode_stages_nothing_and_prune_removes_only_what_it_placed(payloads, tmp_path):
    stage = tmp_path / "stage"
    assert run_build(staged(payloads, stage), None, check_mode=True, diff=True)["changed"] and not stage.exists()
    run_build(staged(payloads, stage), None, check_mode=False, diff=False)
    (stage / "NODE2" / "notes.txt").write_text("mine")
    fewer = staged(payloads, stage, prune=True)
    fewer.files = [f for f in fewer.files if f.parts[0] != "NODE2"]
    result = run_build(fewer, None, check_mode=False, diff=False)
    assert result["removed"] == ["NODE2\\node2.msi"] and result["foreign"] == ["NODE2\\notes.txt"]
    assert (stage / "NODE2" / "notes.txt").exists() and not (stage / "NODE2" / "node2.msi").exists()


def test_a_link_in_the_stage_cannot_lead_outside_it(payloads, tmp_path):
    stage, outside = tmp_path / "stage", tmp_path / "outside"
    stage.mkdir()
    outside.mkdir()
    (stage / "NODE2").symlink_to(outside, target_is_directory=True)
    with pytest.raises(InputError, match="resolves outside the stage directory"):
        run_build(staged(payloads, stage), None, check_mode=False, diff=False)
    assert list(outside.iterdir()) == []


def test_observed_defaults_are_empty():
    assert Observed("h", None, False).files == {}
