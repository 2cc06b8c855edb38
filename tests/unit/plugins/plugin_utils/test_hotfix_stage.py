"""Staging a hotfix root on the controller: plugin_utils/_hotfix_stage.py against real tmp_path trees."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._hotfix_config import (
    from_yaml_data,
    parse,
    render,
)
from ansible_collections.winfleet.updates.plugins.module_utils._hotfix_layout import plan_tree
from ansible_collections.winfleet.updates.plugins.plugin_utils._hotfix_stage import MANIFEST_NAME, stage_tree

RULES = {
    "cau_hotfix_folder_rules": [
        {
            "name": "FirmwareUpdate",
            "always_reboot": True,
            "template": {"path": "$update$", "parameters": "/s /norestart"},
            "exit_conditions": {"success": [0], "success_reboot_required": [3010], "not_applicable": [2]},
        }
    ]
}


@pytest.fixture()
def files(tmp_path: Path) -> Path:
    src = tmp_path / "files"
    src.mkdir()
    (src / "windows10.0-kb5034439-x64.msu").write_bytes(b"msu payload")
    (src / "node2-only.msi").write_bytes(b"msi payload")
    (src / "fw-1.2.exe").write_bytes(b"MZ firmware")
    return src


def issue_updates(src: Path) -> list[dict]:
    return [
        {"src": str(src / "windows10.0-kb5034439-x64.msu")},
        {"src": str(src / "node2-only.msi"), "nodes": ["NODE2"]},
        {"src": str(src / "fw-1.2.exe"), "rule": "FirmwareUpdate"},
    ]


def build(updates, rules=RULES):
    config = from_yaml_data(rules)
    return plan_tree(updates, config.folder_rules, extensions=config.extension_names), config


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` by posix relative path (the manifest excluded)."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != MANIFEST_NAME
    }


def test_stage_builds_the_complete_tree(files, tmp_path):
    plan, config = build(issue_updates(files))
    stage = tmp_path / "stage"
    result = stage_tree(plan, config, stage)
    assert tree(stage) == {
        "DefaultHotfixConfig.xml": render(config),
        "CAUHotfix_All/windows10.0-kb5034439-x64.msu": b"msu payload",
        "NODE2/node2-only.msi": b"msi payload",
        "CAUHotfix_All/FirmwareUpdate/fw-1.2.exe": b"MZ firmware",
    }
    assert result.changed and result.config_changed
    assert result.created == [
        "CAUHotfix_All\\windows10.0-kb5034439-x64.msu",
        "NODE2\\node2-only.msi",
        "CAUHotfix_All\\FirmwareUpdate\\fw-1.2.exe",
    ]
    assert result.files[1] == {
        "path": "NODE2\\node2-only.msi",
        "src": str(files / "node2-only.msi"),
        "sha256": hashlib.sha256(b"msi payload").hexdigest(),
    }
    assert result.xml_diff.startswith("--- /dev/null\n+++ b/DefaultHotfixConfig.xml\n")
    assert result.schema_errors == [] and result.foreign == [] and result.warnings == []
    assert parse((stage / "DefaultHotfixConfig.xml").read_bytes()) == config


def test_second_run_changes_nothing(files, tmp_path):
    plan, config = build(issue_updates(files))
    stage = tmp_path / "stage"
    stage_tree(plan, config, stage)
    before = {p: (p.stat().st_mtime_ns, p.stat().st_ino) for p in stage.rglob("*")}
    result = stage_tree(plan, config, stage)
    assert not result.changed
    assert (result.created, result.updated, result.removed, result.config_changed, result.xml_diff) == (
        [],
        [],
        [],
        False,
        "",
    )
    assert len(result.unchanged) == 3
    assert {p: (p.stat().st_mtime_ns, p.stat().st_ino) for p in stage.rglob("*")} == before


def test_changed_source_and_rule_are_updated_with_an_xml_diff(files, tmp_path):
    plan, config = build(issue_updates(files))
    stage = tmp_path / "stage"
    stage_tree(plan, config, stage)
    (files / "node2-only.msi").write_bytes(b"msi payload v2")
    rules = {"cau_hotfix_folder_rules": [dict(RULES["cau_hotfix_folder_rules"][0], always_reboot=False)]}
    plan, config = build(issue_updates(files), rules)
    result = stage_tree(plan, config, stage)
    assert result.changed and result.updated == ["NODE2\\node2-only.msi"] and result.created == []
    assert (stage / "NODE2" / "node2-only.msi").read_bytes() == b"msi payload v2"
    assert '-    <Folder name="FirmwareUpdate" alwaysReboot="true">\n' in result.xml_diff
    assert '+    <Folder name="FirmwareUpdate">\n' in result.xml_diff
    assert result.xml_diff.startswith("--- a/DefaultHotfixConfig.xml\n+++ b/DefaultHotfixConfig.xml\n")


def test_check_mode_reports_the_same_and_writes_nothing(files, tmp_path):
    plan, config = build(issue_updates(files))
    stage = tmp_path / "stage"
    predicted = stage_tree(plan, config, stage, check_mode=True)
    assert not stage.exists()
    actual = stage_tree(plan, config, stage)
    assert predicted == actual
    # and on an existing tree with pending changes
    (files / "fw-1.2.exe").write_bytes(b"MZ firmware v2")
    snapshot = tree(stage)
    predicted = stage_tree(plan, config, stage, check_mode=True, prune=True)
    assert predicted.updated == ["CAUHotfix_All\\FirmwareUpdate\\fw-1.2.exe"]
    assert tree(stage) == snapshot


def test_prune_removes_only_files_it_placed(files, tmp_path):
    plan, config = build(issue_updates(files))
    stage = tmp_path / "stage"
    stage_tree(plan, config, stage)
    (stage / "CAUHotfix_All" / "operator-notes.txt").write_text("mine")
    smaller, config = build(issue_updates(files)[:1])  # the node and rule files are no longer listed

    kept = stage_tree(smaller, config, stage)  # prune off: nothing removed, reported as stale
    assert kept.removed == [] and kept.stale == [
        "CAUHotfix_All\\FirmwareUpdate\\fw-1.2.exe",
        "NODE2\\node2-only.msi",
    ]
    assert kept.foreign == ["CAUHotfix_All\\operator-notes.txt"]
    assert (stage / "NODE2" / "node2-only.msi").exists()

    check = stage_tree(smaller, config, stage, prune=True, check_mode=True)
    assert check.removed == ["CAUHotfix_All\\FirmwareUpdate\\fw-1.2.exe", "NODE2\\node2-only.msi"]
    assert (stage / "NODE2" / "node2-only.msi").exists()

    pruned = stage_tree(smaller, config, stage, prune=True)
    assert pruned == check
    assert pruned.changed and pruned.stale == []
    assert tree(stage) == {
        "DefaultHotfixConfig.xml": render(config),
        "CAUHotfix_All/windows10.0-kb5034439-x64.msu": b"msu payload",
        "CAUHotfix_All/operator-notes.txt": b"mine",
    }
    assert not (stage / "NODE2").exists() and not (stage / "CAUHotfix_All" / "FirmwareUpdate").exists()
    again = stage_tree(smaller, config, stage, prune=True)
    assert not again.changed and again.removed == []


def test_prune_keeps_a_placed_file_someone_modified(files, tmp_path):
    plan, config = build(issue_updates(files))
    stage = tmp_path / "stage"
    stage_tree(plan, config, stage)
    (stage / "NODE2" / "node2-only.msi").write_bytes(b"hand-patched")
    smaller, config = build(issue_updates(files)[:1])
    result = stage_tree(smaller, config, stage, prune=True)
    assert result.removed == ["CAUHotfix_All\\FirmwareUpdate\\fw-1.2.exe"]
    assert result.stale == ["NODE2\\node2-only.msi"]
    assert any("modified since it was staged" in w for w in result.warnings)
    assert (stage / "NODE2" / "node2-only.msi").read_bytes() == b"hand-patched"


def test_a_damaged_manifest_prunes_nothing(files, tmp_path):
    plan, config = build(issue_updates(files))
    stage = tmp_path / "stage"
    stage_tree(plan, config, stage)
    (stage / MANIFEST_NAME).write_text("{not json")
    smaller, config = build(issue_updates(files)[:1])
    result = stage_tree(smaller, config, stage, prune=True)
    assert result.removed == [] and any("unreadable" in w for w in result.warnings)
    assert (stage / "NODE2" / "node2-only.msi").exists()


def test_merge_existing_keeps_hand_edits(files, tmp_path):
    plan, config = build(issue_updates(files))
    stage = tmp_path / "stage"
    stage_tree(plan, config, stage)
    xml = (stage / "DefaultHotfixConfig.xml").read_bytes()
    (stage / "DefaultHotfixConfig.xml").write_bytes(
        xml.replace(b"<FolderRules>", b"<FolderRules>\n    <!-- reviewed by ops -->", 1)
    )
    result = stage_tree(plan, from_yaml_data(RULES, defaults=False), stage, merge_existing=True)
    assert "<!-- reviewed by ops -->" in (stage / "DefaultHotfixConfig.xml").read_text()
    assert not result.config_changed  # the merge result is the hand-edited file itself
    replaced = stage_tree(plan, config, stage)
    assert replaced.config_changed and "-    <!-- reviewed by ops -->\n" in replaced.xml_diff


def test_missing_source_names_the_update(files, tmp_path):
    updates = issue_updates(files)
    updates[1]["src"] = str(files / "gone.msi")
    plan, config = build(updates)
    with pytest.raises(InputError) as caught:
        stage_tree(plan, config, tmp_path / "stage")
    assert caught.value.field == "cau_hotfix_updates[1].src"


def test_stage_dir_must_be_a_directory(files, tmp_path):
    plan, config = build(issue_updates(files))
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError) as caught:
        stage_tree(plan, config, tmp_path / "file")
    assert caught.value.field == "stage_dir"


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_a_symlinked_folder_cannot_lead_outside_the_stage(files, tmp_path):
    plan, config = build(issue_updates(files))
    stage = tmp_path / "stage"
    outside = tmp_path / "outside"
    outside.mkdir()
    stage.mkdir()
    (stage / "NODE2").symlink_to(outside, target_is_directory=True)
    with pytest.raises(InputError, match="outside the stage"):
        stage_tree(plan, config, stage)
    assert list(outside.iterdir()) == []
