"""Hotfix root names, paths, tree plan, ACL rules and preflight of module_utils/_hotfix_layout.py."""

from __future__ import annotations

import pytest

from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._hotfix_layout import (
    RIGHTS,
    SID_ADMINISTRATORS,
    SID_USERS,
    check_acl,
    desired_acl,
    find_ignored_files,
    is_local_admin,
    plan_tree,
    preflight,
    validate_file_name,
    validate_hotfix_root,
    validate_netbios_name,
    validate_share_name,
)

EXTENSIONS = ("MSU", "MSI", "MSP")


@pytest.mark.parametrize(("name", "expected"), [("node2", "NODE2"), ("x" * 15, "X" * 15), ("db_1", "DB_1"), ("web-01", "WEB-01")])
def test_netbios_names_are_upper_cased(name, expected):
    assert validate_netbios_name(name) == expected


@pytest.mark.parametrize(
    ("name", "fragment"),
    [("", "NetBIOS"), ("x" * 16, "1-15"), ("node1.contoso.com", "'NODE1'"), ("node 1", "letters"), ("nöde", "letters")],
)
def test_bad_netbios_names(name, fragment):
    with pytest.raises(InputError) as caught:
        validate_netbios_name(name, "updates[0].nodes[0]")
    assert caught.value.field == "updates[0].nodes[0]" and fragment in caught.value.message


@pytest.mark.parametrize("name", ["windows10.0-kb5034439-x64.msu", "fw-1.2.exe", "a", "name with spaces.msi", "ünïcode.msp"])
def test_good_file_names(name):
    assert validate_file_name(name) == name


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("..", "traversal"), (".", "traversal"), ("../x.msu", "separators"), ("a\\b.msu", "separators"),
        ("x.msu:evil", "stream"), ("x?.msu", '< > " | ? *'), ("x\x00.msu", "control"), ("x.msu.", "dot or space"),
        ("x.msu ", "dot or space"), ("CON", "reserved device"), ("nul.msu", "reserved device"),
        ("Com9.tar.gz", "reserved device"), ("LPT1 .msi", "reserved device"), ("", "non-empty"), (7, "non-empty"),
    ],
)
def test_bad_file_names(name, fragment):
    with pytest.raises(InputError) as caught:
        validate_file_name(name, "f")
    assert fragment in caught.value.message


@pytest.mark.parametrize(
    ("path", "kind", "normal", "share"),
    [
        ("D:\\CauHotfix", "local", "D:\\CauHotfix", None),
        ("d:\\Cau Hotfix\\Root\\", "local", "D:\\Cau Hotfix\\Root", None),
        ("D:/CauHotfix", "local", "D:\\CauHotfix", None),
        ("\\\\fs01\\CauHotfix", "unc", "\\\\fs01\\CauHotfix", "CauHotfix"),
        ("\\\\MyFileServer\\Hotfixes\\Root\\", "unc", "\\\\MyFileServer\\Hotfixes\\Root", "Hotfixes"),
        ("//10.0.0.5/share", "unc", "\\\\10.0.0.5\\share", "share"),
    ],
)
def test_good_hotfix_roots(path, kind, normal, share):
    root = validate_hotfix_root(path)
    assert (root.kind, root.path, root.share) == (kind, normal, share)


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("", "local path"), ("CauHotfix", "not absolute"), ("C:CauHotfix", "not absolute"), ("D:\\", "drive root"),
        ("\\\\?\\D:\\CauHotfix", "device path"), ("\\\\.\\pipe\\x", "device path"), ("\\\\fs01", "\\\\server\\share"),
        ("\\\\fs01\\\\share", "\\\\server\\share"), ("\\\\fs01\\C$\\Hotfix", "administrative share"),
        ("\\\\fs01\\ADMIN$", "administrative share"), ("\\\\fs01\\sh*re", '< > " | ? *'),
        ("\\\\fs01\\share\\..\\x", "traversal"), ("D:\\Cau\\..\\Windows", "traversal"), ("D:\\Cau\\x:stream", "stream"),
        ("D:\\Cau\\CON", "reserved device"), ("D:\\Cau.", "dot or space"),
    ],
)
def test_bad_hotfix_roots(path, fragment):
    with pytest.raises(InputError) as caught:
        validate_hotfix_root(path)
    assert caught.value.field == "path" and fragment in caught.value.message


def test_dfs_needs_unc():
    assert validate_hotfix_root("\\\\contoso.com\\ns\\hotfix", is_dfs=True).kind == "unc"
    with pytest.raises(InputError, match="DFS"):
        validate_hotfix_root("D:\\CauHotfix", is_dfs=True)


@pytest.mark.parametrize(("name", "fragment"), [("C$", "administrative"), ("Cau/Hotfix", "separators"), ("", "non-empty share name"), (7, "non-empty share name")])
def test_bad_share_names_name_the_field(name, fragment):
    with pytest.raises(InputError) as caught:
        validate_share_name(name, "share.name")
    assert caught.value.field == "share.name" and fragment in caught.value.message


# --------------------------------------------------------------------------------------------
# Tree plan
# --------------------------------------------------------------------------------------------

ISSUE_UPDATES = [
    {"src": "files/windows10.0-kb5034439-x64.msu"},
    {"src": "files/node2-only.msi", "nodes": ["NODE2"]},
    {"src": "files/fw-1.2.exe", "rule": "FirmwareUpdate"},
]


def plan(updates, rules=("FirmwareUpdate",), nodes=None, extensions=EXTENSIONS):
    errors: list[InputError] = []
    files, warnings = plan_tree(updates, rules, nodes, extensions, errors)
    return files, warnings, errors


def test_issue_example_plan():
    files, warnings, errors = plan(ISSUE_UPDATES, nodes=["NODE1", "NODE2"])
    assert [f.path for f in files] == [
        "CAUHotfix_All\\windows10.0-kb5034439-x64.msu", "NODE2\\node2-only.msi", "CAUHotfix_All\\FirmwareUpdate\\fw-1.2.exe"
    ]
    assert warnings == [] and errors == []


def test_plan_fans_out_to_nodes_and_matches_rules_case_insensitively():
    files, _, errors = plan([{"src": "/x/bios.exe", "rule": "bios", "nodes": ["n1", "n2"]}, {"src": "/x/a.MSP"}], ["Bios"])
    assert [f.path for f in files] == ["N1\\Bios\\bios.exe", "N2\\Bios\\bios.exe", "CAUHotfix_All\\a.MSP"] and errors == []


def test_extra_extension_rule_allows_the_type_outside_rule_folders():
    assert [f.path for f in plan([{"src": "tool.exe"}], extensions=["MSU", "EXE"])[0]] == ["CAUHotfix_All\\tool.exe"]


@pytest.mark.parametrize(
    ("updates", "nodes", "field", "fragment"),
    [
        ([{"src": "fw.exe"}], None, "updates[0].src", "would ignore this file"),
        ([{"src": "README"}], None, "updates[0].src", "would ignore"),
        ([{"src": "x.msu", "rule": "Missing"}], None, "updates[0].rule", "not defined"),
        ([{"src": "x.msu", "rule": "../evil"}], None, "updates[0].rule", "separators"),
        ([{"src": "x.msu", "nodes": ["NODE3"]}], ["NODE1", "NODE2"], "updates[0].nodes[0]", "not a node of the cluster"),
        ([{"src": "x.msu", "nodes": ["node1.contoso.com"]}], None, "updates[0].nodes[0]", "NetBIOS"),
        ([{"src": "files/CON.msu"}], None, "updates[0].src", "reserved device"),
        ([{"src": "files/x.msu."}], None, "updates[0].src", "dot or space"),
        ([{"src": "a/x.msu"}, {"src": "b/X.MSU"}], None, "updates[1]", "updates[0]"),
        ([{"src": "a/x.msu", "nodes": ["N1"]}, {"src": "b/x.msu", "nodes": ["n1"]}], None, "updates[1]", "N1\\x.msu"),
    ],
)
def test_plan_refuses_what_the_plugin_would_ignore_or_misuse(updates, nodes, field, fragment):
    _, _, errors = plan(updates, nodes=nodes)
    assert [e.field for e in errors] == [field] and fragment in errors[0].message


def test_every_problem_of_the_plan_is_reported_at_once():
    _, _, errors = plan([{"src": "fw.exe"}, {"src": "x.msu", "rule": "Missing"}, {"src": "CON.msu"}])
    assert [e.field for e in errors] == ["updates[0].src", "updates[1].rule", "updates[2].src"]


def test_plan_refuses_a_file_named_like_a_rule_folder():
    _, _, errors = plan([{"src": "fw.msu", "rule": "fw.msu"}, {"src": "FW.MSU"}], ["fw.msu"])
    assert errors[0].field == "updates[1]" and "both a file and a rule folder" in errors[0].message


def test_plan_warnings():
    _, warnings, _ = plan([{"src": "kb1.msu"}, {"src": "other/kb1.msu", "nodes": ["N1"]}], ["FirmwareUpdate"])
    assert warnings == [
        "folder rule FirmwareUpdate has no files; it is kept in the configuration",
        "kb1.msu is both in CAUHotfix_All and in N1; N1 will run it twice",
    ]


@pytest.mark.parametrize(
    ("path", "finding"),
    [
        ("DefaultHotfixConfig.xml", None), ("CAUHotfix_All\\a.msu", None), ("cauhotfix_all/b.MSI", None),
        ("NODE1\\c.msp", None), ("NODE1\\FirmwareUpdate\\fw.exe", None),
        ("notes.txt", "other than DefaultHotfixConfig.xml"), ("CAUHotfix_All\\fw.exe", "no extension rule"),
        ("CAUHotfix_All\\Drivers\\d.exe", "has no <Folder> rule"), ("NODE9\\c.msu", "not a node of the cluster"),
        ("node.bad\\c.msu", "neither CAUHotfix_All"), ("NODE1\\FirmwareUpdate\\sub\\fw.exe", "nested deeper"),
    ],
)
def test_find_ignored_files(path, finding):
    found = find_ignored_files([path], ["FirmwareUpdate"], ["NODE1", "NODE2"], EXTENSIONS, "DefaultHotfixConfig.xml")
    assert found == [] if finding is None else (len(found) == 1 and finding in found[0])


# --------------------------------------------------------------------------------------------
# ACL rules: masks as the host sends them (the FileSystemRights integer)
# --------------------------------------------------------------------------------------------


def ace(sid, rights, ace_type="Allow", inherited=False):
    mask = rights if isinstance(rights, int) else sum(RIGHTS[r] for r in rights.split(", ")) | RIGHTS["Synchronize"]
    return {"identity": sid, "rights": mask, "type": ace_type, "inherited": inherited}


USERS, EVERYONE, SVC = SID_USERS, "S-1-1-0", "S-1-5-21-1-2-3-1001"
SAFE = [ace(SID_ADMINISTRATORS, "FullControl"), ace("S-1-5-18", "FullControl"), ace("S-1-3-0", 268435456),
        ace("S-1-5-80-956008885-3418522408-1831038044-1853292631-2271478464", "FullControl"), ace(USERS, "ReadAndExecute")]
SAFE_READ = SAFE[:4] + [ace(USERS, "Read")]


@pytest.mark.parametrize(
    ("aces", "has_exe", "expected"),
    [
        (SAFE_READ, False, []),
        (SAFE, True, []),
        (SAFE_READ[:4] + [ace("S-1-5-11", "Read")], False, []),
        (SAFE_READ + [ace(USERS, "Modify")], False, [("BUILTIN\\Users", True, "Modify")]),
        (SAFE_READ + [ace(EVERYONE, "Write", inherited=True)], False, [("Everyone", True, "inherited")]),
        (SAFE_READ + [ace(SVC, "FullControl")], False, [(SVC, True, "FullControl")]),
        (SAFE_READ + [ace(SVC, "TakeOwnership")], False, [(SVC, True, "TakeOwnership")]),
        (SAFE_READ + [ace(SVC, "Delete")], False, [(SVC, True, "Delete")]),
        (SAFE_READ + [ace(EVERYONE, "FullControl", "Deny")], False, [("BUILTIN\\Users", True, "Deny")]),
        (SAFE_READ + [ace(USERS, "Read", "Deny")], False, [("BUILTIN\\Users", True, "cannot read")]),
        (SAFE_READ, True, [("BUILTIN\\Users", True, "read and execute")]),
        (SAFE, False, [("BUILTIN\\Users", False, "at most Read")]),
        (SAFE[:4], False, [("BUILTIN\\Users", True, "cannot read")]),
    ],
)
def test_check_acl(aces, has_exe, expected):
    found = check_acl(aces, has_exe)
    assert [(v.name, v.blocking) for v in found] == [(e[0], e[1]) for e in expected]
    for violation, (_, _, fragment) in zip(found, expected, strict=True):
        assert fragment in violation.detail and violation.fix


def test_inherited_violation_fix_mentions_inheritance():
    (violation,) = check_acl(SAFE_READ + [ace(EVERYONE, "Modify", inherited=True)], False)
    assert "inheritance" in violation.fix


@pytest.mark.parametrize("has_exe", [False, True])
def test_desired_acl_passes_its_own_check(has_exe):
    protect, entries = desired_acl(root=True, has_exe=has_exe)
    assert protect is True and check_acl(entries, has_exe) == []
    protect, below = desired_acl(root=False, has_exe=True)
    assert protect is False and check_acl(desired_acl(root=True)[1] + below, True) == []


# --------------------------------------------------------------------------------------------
# The update account: token groups carry nested membership
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("account", "admin", "how"),
    [
        ({"sid": "S-1-5-21-9", "token_groups": ["S-1-5-21-7", SID_ADMINISTRATORS]}, True, "nested"),
        ({"sid": "S-1-5-21-9", "token_groups": ["S-1-5-21-7"]}, False, "nested"),
        ({"sid": "S-1-5-21-9", "direct_members": ["S-1-5-21-9"]}, True, "direct members"),
        ({"sid": "S-1-5-21-9", "direct_members": ["S-1-5-21-7"]}, False, "direct members"),
    ],
)
def test_local_administrator_through_token_groups(account, admin, how):
    result = is_local_admin(account)
    assert result[0] is admin and how in result[1]


# --------------------------------------------------------------------------------------------
# Preflight
# --------------------------------------------------------------------------------------------

EXE_DIR_ACES = SAFE_READ + [ace(USERS, "ReadAndExecute")]


def healthy() -> dict:
    return {
        "root": "\\\\fs01\\CauHotfix",
        "is_dfs": False,
        "disable_acl_checks": False,
        "acl": {"": SAFE_READ, "CAUHotfix_All": SAFE_READ, "CAUHotfix_All\\FirmwareUpdate": EXE_DIR_ACES},
        "files": ["DefaultHotfixConfig.xml", "CAUHotfix_All\\kb1.msu", "CAUHotfix_All\\FirmwareUpdate\\fw.exe"],
        "share": {"name": "CauHotfix", "encrypt_data": True, "signing_required": False},
        "firewall_rule_enabled": True,
        "config": {"present": True, "rules": (["MSU", "MSI", "MSP"], ["FirmwareUpdate"]), "problems": []},
        "schema": {"available": True, "path": "C:\\...\\HotfixConfigSchema.xsd", "errors": []},
        "nodes": ["NODE1", "NODE2"],
        "account": {"name": "CONTOSO\\CAUrole$", "is_local_admin": True},
    }


def by_name(checks):
    return {c.name: c for c in checks}


def test_preflight_all_pass_on_a_healthy_root():
    checks = preflight(healthy())
    assert [c.name for c in checks] == [
        "root_path", "dfs_acl_checks", "config_file", "windows_schema", "tree_structure", "ntfs_acl[.]",
        "ntfs_acl[CAUHotfix_All]", "ntfs_acl[CAUHotfix_All\\FirmwareUpdate]", "smb_integrity", "firewall_smb_in",
        "update_account",
    ]
    assert all(c.passed for c in checks), [c.to_dict() for c in checks if not c.passed]


@pytest.mark.parametrize(
    ("change", "check", "blocking", "fragment", "also_failing"),
    [
        ({"is_dfs": True}, "dfs_acl_checks", True, "DisableAclChecks='True'", set()),
        ({"acl": {"": SAFE_READ + [ace(EVERYONE, "Modify", inherited=True)]}}, "ntfs_acl[.]", True, "inheritance", set()),
        ({"acl": {}}, "ntfs_acl", True, "file server", set()),
        ({"share": {"encrypt_data": False, "signing_required": False}}, "smb_integrity", True,
         "Set-SmbShare -Name CauHotfix -EncryptData $true", set()),
        ({"require_smb_encryption": True, "share": {"signing_required": True}}, "smb_integrity", True, "EncryptData", set()),
        ({"firewall_rule_enabled": False}, "firewall_smb_in", True, "Enable-NetFirewallRule", set()),
        ({"firewall_rule_enabled": None}, "firewall_smb_in", True, "Enable-NetFirewallRule", set()),
        ({"config": {"present": False}}, "config_file", True, "DefaultHotfixConfig.xml plus your rules", set()),
        ({"config": {"present": True, "rules": None, "problems": ["is not well-formed XML"]}}, "config_file", True, "write it again", set()),
        ({"schema": {"available": True, "path": "x.xsd", "errors": ["line 3: no"]}}, "windows_schema", True, "write it again", set()),
        ({"files": ["CAUHotfix_All\\FirmwareUpdate\\fw.exe", "readme.txt"]}, "tree_structure", False, "move the files", set()),
        # an .exe directly in CAUHotfix_All: ignored by the plug-in, and Users would need execute there
        ({"files": ["CAUHotfix_All\\setup.exe"]}, "tree_structure", False, "move the files", {"ntfs_acl[CAUHotfix_All]"}),
        ({"account": {"name": "CONTOSO\\CAUrole$", "is_local_admin": False}}, "update_account", True, "Get-CauClusterRole", set()),
        ({"root": "relative\\path"}, "root_path", True, "server", {"smb_integrity", "firewall_smb_in"}),
    ],
)
def test_preflight_reports_each_unsafe_state_with_its_fix(change, check, blocking, fragment, also_failing):
    observed = healthy()
    observed.update(change)
    checks = by_name(preflight(observed))
    assert checks[check].passed is False and checks[check].blocking is blocking
    assert fragment in checks[check].fix
    assert {name for name, c in checks.items() if not c.passed} == {check} | also_failing


def test_preflight_without_windows_schema_passes_and_says_so():
    observed = healthy()
    observed["schema"] = {"available": False}
    check = by_name(preflight(observed))["windows_schema"]
    assert check.passed and "not installed" in check.detail and check.blocking is False


def test_preflight_dfs_with_disable_acl_checks_passes_but_still_reports_unsafe_acls():
    observed = healthy()
    observed.update(is_dfs=True, disable_acl_checks=True, acl={"": SAFE_READ + [ace(EVERYONE, "Write")]})
    checks = by_name(preflight(observed))
    assert checks["dfs_acl_checks"].passed is True
    assert checks["ntfs_acl[.]"].passed is False and checks["ntfs_acl[.]"].blocking is False
    assert "DisableAclChecks" in checks["ntfs_acl[.]"].detail


def test_preflight_local_root_has_no_share_checks_and_exe_needs_execute():
    observed = healthy()
    observed.update(root="D:\\CauHotfix", share=None, firewall_rule_enabled=None)
    observed["acl"]["CAUHotfix_All\\FirmwareUpdate"] = SAFE_READ
    checks = by_name(preflight(observed))
    assert checks["smb_integrity"].passed and checks["firewall_smb_in"].passed
    assert "execute" in checks["ntfs_acl[CAUHotfix_All\\FirmwareUpdate]"].detail


def test_preflight_uses_the_rules_of_the_file_on_the_server():
    observed = healthy()
    observed["config"] = {"present": True, "rules": (["MSU"], []), "problems": []}  # no FirmwareUpdate rule
    check = by_name(preflight(observed))["tree_structure"]
    assert not check.passed and "FirmwareUpdate has no <Folder> rule" in check.detail and check.blocking is False
