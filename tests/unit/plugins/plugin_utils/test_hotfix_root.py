"""Decisions of cau_hotfix_root on the controller: plugin_utils/_hotfix_root.py, without a host."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest

from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._hotfix_config import from_yaml_data, render
from ansible_collections.winfleet.updates.plugins.module_utils._hotfix_layout import desired_acl
from ansible_collections.winfleet.updates.plugins.plugin_utils._hotfix_root import (
    Source,
    config_bytes_for,
    describe,
    diff_entries,
    parse_observed,
    plan_changes,
    plugin_arguments,
    preflight_checks,
    read_args,
)
from ansible_collections.winfleet.updates.plugins.plugin_utils._hotfix_stage import MANIFEST_NAME, encode_manifest

RULE = {
    "name": "FirmwareUpdate",
    "always_reboot": True,
    "template": {"path": "$update$", "parameters": "/s /norestart"},
    "exit_conditions": {"success": [0], "success_reboot_required": [3010]},
}
UNC = "\\\\fs01\\CauHotfix"


def resolve(src: str, field: str) -> str:
    """Sources are absolute in these tests; a name containing 'gone' is missing."""
    if "gone" in src:
        raise InputError(field, f"{src} was not found on the controller")
    return src


def args(**options: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"path": UNC, "share": {"path": "D:\\CauHotfix"}}
    base.update(options)
    return base


UPDATES = [
    {"src": "/u/kb1.msu"},
    {"src": "/u/node2.msi", "nodes": ["NODE2"]},
    {"src": "/u/fw.exe", "rule": "FirmwareUpdate"},
]


def sources(desc) -> list[Source]:
    return [
        Source(f.relative_path, f.src, hashlib.sha256(f.src.encode()).hexdigest(), len(f.src), f.index)
        for f in desc.plan.files
    ]


# --------------------------------------------------------------------------------------------
# describe: everything is validated before a host is contacted
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "field", "fragment"),
    [
        ({"path": None, "share": None}, "path", "is required"),
        ({"stage_dir": "/s", "preflight": True}, "preflight", "cannot be combined with stage_dir"),
        ({"path": "relative\\dir"}, "path", "not absolute"),
        ({"share": {"name": "Other"}}, "share.name", "differs from the share in path"),
        ({"path": "D:\\CauHotfix", "share": {"path": "D:\\Other"}}, "share.name", "is required to publish a local root"),
        ({"path": "D:\\CauHotfix", "share": {"name": "S", "path": "D:\\Other"}}, "share.path", "must be D:\\Other or"),
        ({"share": {"path": "\\\\fs01\\x"}}, "share.path", "must be a local folder"),
        ({"share": {"name": "ADMIN$"}}, "share.name", "administrative share"),
        ({"share": {"encrypt_data": False}}, "share.encrypt_data", "encryption or signing"),
        (
            {"share": {"encrypt_data": False, "require_signing": True}, "require_smb_encryption": True},
            "share.encrypt_data",
            "require_smb_encryption: true makes every run fail",
        ),
        ({"path": "D:\\CauHotfix", "share": None, "require_smb_encryption": True}, "require_smb_encryption", "needs a share"),
        ({"path": "\\\\contoso.com\\ns\\CauHotfix", "is_dfs": True, "share": None}, "share.name", "DFS namespace"),
        ({"path": None, "share": None, "stage_dir": "/s", "is_dfs": True}, "is_dfs", "path"),
        ({"config_name": "..\\x.xml"}, "config_name", "contains"),
        ({"config_name": MANIFEST_NAME}, "config_name", "manifest"),
        ({"nodes": ["node1.contoso.com"]}, "nodes[0]", "NetBIOS name ('NODE1')"),
        ({"nodes": "NODE1"}, "nodes", "must be a list"),
        ({"firewall_rule": "bad\nname"}, "firewall_rule", "display name or Name"),
        ({"cau_account": "\t"}, "cau_account", "account name"),
        ({"share": "CauHotfix"}, "share", "must be a mapping"),
        (
            {"folder_rules": [{**RULE, "template": {"path": "fw.exe", "parameters": "/s"}}]},
            "folder_rules[0].template.parameters",
            "neither path nor parameters contains $update$",
        ),
        ({"folder_rules": [RULE, dict(RULE, name="firmwareupdate")]}, "folder_rules[1].name", "case-insensitive"),
        ({"extension_rules": [{**RULE, "name": "M.SU", "always_reboot": None}]}, "extension_rules[0].name", "without the dot"),
        ({"folder_rules": {"name": "x"}}, "folder_rules", "must be a list"),
        ({"updates": [{"src": "/u/gone.msu"}]}, "updates[0].src", "not found"),
        ({"updates": [{"src": "/u/CON.msu"}]}, "updates[0].src", "reserved device name"),
        ({"updates": [{"src": "/u/fw.exe"}]}, "updates[0].src", "installs only"),
        ({"updates": [{"src": "/u/fw.exe", "rule": "Bios"}]}, "updates[0].rule", "not defined"),
        ({"updates": [{"src": "/u/kb.msu", "nodes": ["NODE3"]}], "nodes": ["NODE1"]}, "updates[0].nodes[0]", "NODE3"),
        ({"updates": [{"src": "/u/..", "rule": None}]}, "updates[0].src", "traversal"),
    ],
)
def test_bad_options_are_named(options, field, fragment):
    with pytest.raises(InputError) as caught:
        describe(args(folder_rules=[RULE], **options) if "folder_rules" not in options else args(**options), resolve)
    assert caught.value.field == field
    assert fragment in caught.value.message


def test_a_bad_name_is_reported_as_such_even_when_the_file_is_missing():
    with pytest.raises(InputError, match="reserved device name"):
        describe(args(updates=[{"src": "/u/gone/NUL.msu"}]), resolve)


@pytest.mark.parametrize(
    ("options", "local_root", "share", "subpath"),
    [
        ({"path": "D:\\CauHotfix", "share": None}, "D:\\CauHotfix", None, ()),
        ({"path": "D:\\CauHotfix", "share": {"name": "Hf"}}, "D:\\CauHotfix", ("Hf", "D:\\CauHotfix"), ()),
        ({"path": "D:\\Shares\\Hf\\Root", "share": {"name": "Hf", "path": "D:\\Shares\\Hf"}}, "D:\\Shares\\Hf\\Root",
         ("Hf", "D:\\Shares\\Hf"), ()),
        ({"share": None}, None, ("CauHotfix", None), ()),
        ({"path": UNC + "\\Root", "share": {"path": "d:/CauHotfix"}}, "D:\\CauHotfix\\Root", ("CauHotfix", "D:\\CauHotfix"),
         ("Root",)),
        ({"path": "\\\\contoso.com\\ns\\Hf", "is_dfs": True, "share": {"name": "Hf"}}, None, ("Hf", None), ()),
    ],
)
def test_the_root_and_the_share_that_publishes_it(options, local_root, share, subpath):
    desc = describe(args(**options), resolve)
    assert desc.local_root == local_root
    assert (desc.share.name, desc.share.path) == share if share else desc.share is None
    assert desc.share_subpath == subpath


def test_module_defaults_and_the_plan():
    desc = describe(args(updates=UPDATES, folder_rules=[RULE], nodes=["node1", "NODE2"]), resolve)
    assert desc.share.encrypt_data is True and desc.share.require_signing is False
    assert desc.firewall is True and desc.firewall_rule == "File Server Remote Management (SMB-In)"
    assert desc.nodes == ("NODE1", "NODE2") and desc.updates_given
    assert desc.plan.relative_paths() == ["CAUHotfix_All\\kb1.msu", "NODE2\\node2.msi", "CAUHotfix_All\\FirmwareUpdate\\fw.exe"]
    assert [r.name for r in desc.config.extension_rules] == ["MSI", "MSU", "MSP"]
    assert desc.merge_desired is None


def test_ansible_fills_unset_sub_options_with_none_and_that_means_absent():
    rule = {**RULE, "template": {"path": "$update$", "parameters": None},
            "exit_conditions": {"success": [0], "not_applicable": None, "already_installed": None}}
    desc = describe(args(folder_rules=[rule], updates=[{"src": "/u/kb.msu", "nodes": None, "rule": None}]), resolve)
    assert desc.config.folder_rules[0].template.parameters is None
    assert desc.plan.files[0].scope == "CAUHotfix_All"


def test_merging_keeps_the_users_part_apart():
    desc = describe(args(folder_rules=[RULE], merge_existing_config=True), resolve)
    assert [r.name for r in desc.merge_desired.extension_rules] == []
    assert [r.name for r in desc.config.extension_rules] == ["MSI", "MSU", "MSP"]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, {"HotfixRootFolderPath": UNC}),
        (
            {"require_smb_encryption": True, "disable_acl_checks": True, "config_name": "Hotfix.xml"},
            {"HotfixRootFolderPath": UNC, "RequireSMBEncryption": True, "DisableAclChecks": True,
             "HotfixConfigFileName": "Hotfix.xml"},
        ),
        ({"path": None, "share": None, "stage_dir": "/s"}, {}),
    ],
)
def test_plugin_arguments(options, expected):
    assert plugin_arguments(describe(args(**options), resolve)) == expected


def test_read_args_carry_only_what_the_host_needs():
    desc = describe(args(cau_account="CONTOSO\\C1-CAU$", path=UNC + "\\Root", share=None), resolve)
    assert read_args(desc, b"<x/>") == {
        "_operation": "read",
        "_share_name": "CauHotfix",
        "_share_subpath": ["Root"],
        "_config_name": "DefaultHotfixConfig.xml",
        "_manifest_name": MANIFEST_NAME,
        "_firewall_rule": "File Server Remote Management (SMB-In)",
        "_account": "CONTOSO\\C1-CAU$",
        "_candidate_config": base64.b64encode(b"<x/>").decode(),
    }
    local = describe(args(path="D:\\CauHotfix", share=None), resolve)
    assert "_firewall_rule" not in read_args(local, None) and read_args(local, None)["_root"] == "D:\\CauHotfix"


# --------------------------------------------------------------------------------------------
# plan_changes: what a host answer means
# --------------------------------------------------------------------------------------------


def good_acl(rel: str = "", exe: bool = False) -> dict[str, Any]:
    """What a correctly built root reports for ``rel`` (explicit entries only matter)."""
    if rel == "":
        wanted = desired_acl(root=True)
    elif exe:
        wanted = desired_acl(has_exe=True, root=False)
    else:
        inherited = [{**e, "inherited": True} for e in desired_acl(root=True).entries]
        if "FirmwareUpdate\\" in rel:  # below the .exe folder: its Users ReadAndExecute too
            inherited += [{**e, "inherited": True} for e in desired_acl(has_exe=True, root=False).entries]
        return {"protected": False, "aces": inherited}
    return {"protected": wanted.protect, "aces": [{**e, "inherited": False} for e in wanted.entries]}


def answer(files: dict[str, str] | None = None, *, exists: bool = True, **extra: Any) -> dict[str, Any]:
    """A host answer for D:\\CauHotfix holding ``files`` (relative path -> sha256), secured."""
    files = files or {}
    folders = sorted({"\\".join(p.split("\\")[:depth]) for p in files for depth in range(1, p.count("\\") + 1)})
    raw: dict[str, Any] = {
        "computer_name": "FS01",
        "temp_dir": "C:\\Temp",
        "root": {"path": "D:\\CauHotfix", "exists": exists},
        "folders": folders if exists else [],
        "files": [{"path": p, "sha256": s, "size": 1} for p, s in files.items()] if exists else [],
        "acl": {"": good_acl(), **{f: good_acl(f, f.endswith("FirmwareUpdate")) for f in folders},
                **{p: good_acl(p) for p in files}} if exists else {},
        "share": {"name": "CauHotfix", "exists": True, "path": "D:\\CauHotfix", "encrypt_data": True},
        "smb": {"require_signing": False, "encrypt_data": False},
        "firewall": {"name": "x", "exists": True, "enabled": True},
        "cau_schema": {"present": False},
    }
    raw.update(extra)
    return raw


def built(desc, **extra: Any) -> tuple[dict[str, Any], bytes]:
    """The answer of a host where ``desc`` was built, with its configuration and manifest."""
    config = render(desc.config)
    shas = {s.path: s.sha256 for s in sources(desc)}
    manifest = encode_manifest({p.replace("\\", "/"): {"sha256": s} for p, s in shas.items()})
    files = {**shas, "DefaultHotfixConfig.xml": hashlib.sha256(config).hexdigest(),
             MANIFEST_NAME: hashlib.sha256(manifest).hexdigest()}
    raw = answer(files, config={"present": True, "content": base64.b64encode(config).decode()},
                 manifest={"present": True, "content": base64.b64encode(manifest).decode()}, **extra)
    return raw, config


def test_an_empty_server_gets_everything_in_a_safe_order():
    desc = describe(args(updates=UPDATES, folder_rules=[RULE]), resolve)
    observed = parse_observed(answer(exists=False, share={"name": "CauHotfix", "exists": False},
                                     firewall={"exists": True, "enabled": False}))
    changes = plan_changes(desc, observed, sources(desc), render(desc.config))
    assert changes.create_root and changes.folders == ["CAUHotfix_All", "NODE2", "CAUHotfix_All\\FirmwareUpdate"]
    assert [t.path for t in changes.transfers] == desc.plan.relative_paths() == changes.created
    assert [(c.path, c.protect) for c in changes.acl] == [("", True), ("CAUHotfix_All\\FirmwareUpdate", False)]
    assert changes.share.create and changes.share.path == "D:\\CauHotfix" and changes.share.encrypt_data
    assert changes.firewall_rule == "File Server Remote Management (SMB-In)"
    assert changes.config_changed and changes.xml_diff.startswith("--- /dev/null")
    assert changes.manifest is not None and changes.changed


def test_a_built_server_needs_nothing():
    desc = describe(args(updates=UPDATES, folder_rules=[RULE]), resolve)
    raw, config = built(desc)
    changes = plan_changes(desc, parse_observed(raw), sources(desc), config)
    assert not changes.changed, changes
    assert changes.unchanged == desc.plan.relative_paths()


def test_acl_drift_below_the_root_is_reset_to_inheritance():
    desc = describe(args(updates=UPDATES, folder_rules=[RULE]), resolve)
    raw, config = built(desc)
    raw["acl"]["NODE2"] = {"protected": True, "aces": [{"identity": "S-1-1-0", "rights": "FullControl", "inherited": False}]}
    raw["acl"]["CAUHotfix_All\\FirmwareUpdate"] = good_acl()  # lost its Users ReadAndExecute
    changes = plan_changes(desc, parse_observed(raw), sources(desc), config)
    assert [(c.path, c.protect, len(c.entries)) for c in changes.acl] == [
        ("NODE2", False, 0), ("CAUHotfix_All\\FirmwareUpdate", False, 1)
    ]
    assert "Everyone Allow FullControl" in changes.acl[0].before
    assert changes.acl[0].after == "inherits; explicit: none"


@pytest.mark.parametrize(
    ("extra", "field", "fragment"),
    [
        ({"root": {"path": None, "exists": False}, "share": {"name": "CauHotfix", "exists": False}}, "share.path", "unknown"),
        ({"share": {"name": "CauHotfix", "exists": True, "path": "E:\\Elsewhere", "encrypt_data": True}}, "share.path",
         "publishes E:\\Elsewhere"),
        ({"firewall": {"exists": False}}, "firewall_rule", "does not exist on FS01"),
    ],
)
def test_host_states_that_stop_before_any_change(extra, field, fragment):
    desc = describe(args(updates=UPDATES[:1]), resolve)
    with pytest.raises(InputError) as caught:
        plan_changes(desc, parse_observed(answer(**extra)), sources(desc), render(desc.config))
    assert caught.value.field == field and fragment in caught.value.message
    assert "nothing was changed" in caught.value.message


def test_a_file_where_a_folder_must_go_is_refused():
    desc = describe(args(updates=UPDATES[1:2]), resolve)
    with pytest.raises(InputError, match="NODE2 is a file on FS01"):
        plan_changes(desc, parse_observed(answer({"NODE2": "00"})), sources(desc), render(desc.config))


def test_prune_removes_unmodified_placed_files_and_their_emptied_folders_only():
    full = describe(args(updates=UPDATES, folder_rules=[RULE]), resolve)
    raw, config = built(full)
    raw["files"].append({"path": "NODE2\\notes.txt", "sha256": "aa", "size": 1})  # foreign: keeps NODE2
    raw["acl"]["NODE2\\notes.txt"] = good_acl("NODE2\\notes.txt")
    smaller = describe(args(updates=UPDATES[:1], folder_rules=[RULE], prune=True), resolve)
    changes = plan_changes(smaller, parse_observed(raw), sources(smaller), config)
    assert changes.removed == ["CAUHotfix_All\\FirmwareUpdate\\fw.exe", "NODE2\\node2.msi"]
    assert changes.remove_folders == ["CAUHotfix_All\\FirmwareUpdate"]
    assert changes.foreign == ["NODE2\\notes.txt"] and changes.stale == []
    assert changes.manifest is not None

    no_prune = describe(args(updates=UPDATES[:1], folder_rules=[RULE]), resolve)
    kept = plan_changes(no_prune, parse_observed(raw), sources(no_prune), config)
    assert kept.removed == [] and kept.stale == ["CAUHotfix_All\\FirmwareUpdate\\fw.exe", "NODE2\\node2.msi"]
    assert not kept.changed  # the stale .exe keeps its folder's execute right

    raw["files"][2]["sha256"] = "modified"
    modified = plan_changes(smaller, parse_observed(raw), sources(smaller), config)
    assert modified.removed == ["NODE2\\node2.msi"] and modified.stale == ["CAUHotfix_All\\FirmwareUpdate\\fw.exe"]
    assert any("modified since the module placed it" in w for w in modified.warnings)


def test_share_encryption_signing_and_reparse_points():
    desc = describe(args(updates=UPDATES[:1], share={"path": "D:\\CauHotfix", "require_signing": True}), resolve)
    raw, config = built(desc, reparse_points=["CAUHotfix_All\\link"])
    raw["share"]["encrypt_data"] = False
    changes = plan_changes(desc, parse_observed(raw), sources(desc), config)
    assert (changes.share.create, changes.share.encrypt_data) == (False, True)
    assert changes.require_signing is True
    assert any("reparse points" in w for w in changes.warnings)
    security = diff_entries(desc, parse_observed(raw), changes)[2]
    assert "share CauHotfix: EncryptData=True\n" in security["after"]
    assert "smb server RequireSecuritySignature: True\n" in security["after"]


def test_merging_into_the_hosts_file_and_refusing_a_broken_one():
    desc = describe(args(folder_rules=[RULE], merge_existing_config=True), resolve)
    existing = render(from_yaml_data({})).replace(b"<FolderRules/>", b"<FolderRules><!-- ops --></FolderRules>")
    merged = config_bytes_for(desc, existing, "FS01")
    assert b"<!-- ops -->" in merged and b'<Folder name="FirmwareUpdate"' in merged
    assert config_bytes_for(desc, None, "FS01") == render(desc.config)
    with pytest.raises(InputError) as caught:
        config_bytes_for(desc, b"<DefaultRules>", "FS01")
    assert caught.value.field == "merge_existing_config" and "on FS01" in caught.value.message


# --------------------------------------------------------------------------------------------
# preflight_checks and the diff
# --------------------------------------------------------------------------------------------


def test_preflight_of_a_built_root_passes_and_reports_the_schema_it_used():
    desc = describe(args(updates=UPDATES, folder_rules=[RULE]), resolve)
    raw, config = built(desc)
    checks = preflight_checks(desc, parse_observed(raw), sources(desc), config)
    assert [c.name for c in checks if not c.passed] == []
    schema = next(c for c in checks if c.name == "windows_schema")
    assert "not installed on FS01" in schema.detail and not schema.blocking
    assert checks[0].name == "root_folder" and checks[-1].name == "content_in_sync"

    raw["cau_schema"] = {"present": True, "path": "C:\\x.xsd", "errors_existing": ["line 3: no"]}
    failed = {c.name: c for c in preflight_checks(desc, parse_observed(raw), sources(desc), config) if not c.passed}
    assert set(failed) == {"config_file", "windows_schema"}
    assert "HotfixConfigSchema.xsd: line 3: no" in failed["config_file"].detail


def test_preflight_reports_a_missing_root_and_drift():
    desc = describe(args(updates=UPDATES[:1]), resolve)
    missing = {c.name: c for c in preflight_checks(desc, parse_observed(answer(exists=False)), sources(desc), b"")}
    assert not missing["root_folder"].passed and "D:\\CauHotfix on FS01 does not exist" in missing["root_folder"].detail
    unknown = answer(exists=False, root={"path": None, "exists": False}, share={"name": "CauHotfix", "exists": False})
    no_share = {c.name: c for c in preflight_checks(desc, parse_observed(unknown), sources(desc), b"")}["root_folder"]
    assert no_share.detail == "share CauHotfix does not exist on FS01, so the root cannot be found"
    raw, config = built(desc)
    raw["files"][0]["sha256"] = "other"
    drift = {c.name: c for c in preflight_checks(desc, parse_observed(raw), sources(desc), config)}
    assert not drift["content_in_sync"].passed and not drift["content_in_sync"].blocking
    assert "different content: CAUHotfix_All\\kb1.msu" in drift["content_in_sync"].detail


def test_the_file_list_diff_shows_hashes_before_and_after():
    desc = describe(args(updates=UPDATES[:1]), resolve)
    changes = plan_changes(desc, parse_observed(answer(exists=False)), sources(desc), render(desc.config))
    xml, files, security = diff_entries(desc, parse_observed(answer(exists=False)), changes)
    assert xml["before"] == "" and xml["after"].startswith("<?xml")
    assert files["before"] == "" and files["after"].startswith("CAUHotfix_All\\kb1.msu  sha256:")
    assert "DefaultHotfixConfig.xml  sha256:" in files["after"]
    assert "acl .: new\n" in security["before"]


def test_a_malformed_host_answer_is_named():
    with pytest.raises(InputError) as caught:
        parse_observed({"files": ["not a mapping"]})
    assert caught.value.field == "winfleet.updates.cau_hotfix_root answer.files[0]"
    with pytest.raises(InputError, match="base64"):
        parse_observed({"config": {"present": True, "content": "***"}})
