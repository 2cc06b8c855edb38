"""Hotfix root names, paths, tree plan, ACL rules and preflight of module_utils/_hotfix_layout.py."""

from __future__ import annotations

import pytest

from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.module_utils._hotfix_config import from_yaml_data, render
from ansible_collections.winfleet.updates.plugins.module_utils._hotfix_layout import (
    SID_ADMINISTRATORS,
    SID_CREATOR_OWNER,
    SID_SYSTEM,
    SID_TRUSTED_INSTALLER,
    SID_USERS,
    check_acl,
    desired_acl,
    exe_folders,
    find_ignored_files,
    normalise_identity,
    parse_ace,
    parse_rights,
    plan_tree,
    preflight,
    validate_file_name,
    validate_folder_name,
    validate_hotfix_root,
    validate_netbios_name,
    validate_share_name,
)

# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("node2", "NODE2"),
        ("ContosoNode1", "CONTOSONODE1"),
        ("A", "A"),
        ("x" * 15, "X" * 15),
        ("web-01", "WEB-01"),
        ("db_1", "DB_1"),
        ("1node", "1NODE"),
    ],
)
def test_netbios_names_are_upper_cased(name, expected):
    assert validate_netbios_name(name) == expected


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("", "NetBIOS"),
        (None, "NetBIOS"),
        ("x" * 16, "at most 15"),
        ("node1.contoso.com", "'NODE1'"),
        ("node 1", "only letters"),
        ("node$", "only letters"),
        ("nöde", "only letters"),
        ("..", "DNS name"),
        ("-node", "start with '-'"),
        ("12345", "all digits"),
        ("SYSTEM", "reserved"),
        ("users", "reserved"),
        ("CON", "reserved"),
        ("com1", "reserved"),
        ("CAUHotfix_All", "reserved"),
    ],
)
def test_bad_netbios_names(name, fragment):
    with pytest.raises(InputError) as caught:
        validate_netbios_name(name, "cau_hotfix_updates[0].nodes[0]")
    assert caught.value.field == "cau_hotfix_updates[0].nodes[0]"
    assert fragment in caught.value.message


@pytest.mark.parametrize(
    "name",
    ["windows10.0-kb5034439-x64.msu", "fw-1.2.exe", "a", "name with spaces.msi", "ünïcode.msp", "x" * 255],
)
def test_good_file_names(name):
    assert validate_file_name(name) == name


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("..", "traversal"),
        (".", "traversal"),
        ("../x.msu", "separators"),
        ("a\\b.msu", "separators"),
        ("C:x.msu", "stream"),
        ("x.msu:evil", "stream"),
        ("x?.msu", '< > " | ? *'),
        ("x\x00.msu", "control"),
        ("x.msu.", "dot or space"),
        ("x.msu ", "dot or space"),
        (" x.msu", "starts with a space"),
        ("CON", "reserved device"),
        ("nul.msu", "reserved device"),
        ("Com9.tar.gz", "reserved device"),
        ("LPT1 .msi", "reserved device"),
        ("com\u00b9.msu", "reserved device"),
        ("x" * 256, "255"),
        ("", "non-empty"),
        (7, "non-empty"),
    ],
)
def test_bad_file_names(name, fragment):
    with pytest.raises(InputError) as caught:
        validate_file_name(name, "f")
    assert fragment in caught.value.message


def test_rule_folder_may_not_be_the_all_nodes_folder():
    assert validate_folder_name("FirmwareUpdate") == "FirmwareUpdate"
    with pytest.raises(InputError, match="all-nodes"):
        validate_folder_name("cauhotfix_all")


# --------------------------------------------------------------------------------------------
# Hotfix root path
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "kind", "normal", "server", "share"),
    [
        ("D:\\CauHotfix", "local", "D:\\CauHotfix", None, None),
        ("d:\\Cau Hotfix\\Root\\", "local", "D:\\Cau Hotfix\\Root", None, None),
        ("D:/CauHotfix", "local", "D:\\CauHotfix", None, None),
        ("\\\\fs01\\CauHotfix", "unc", "\\\\fs01\\CauHotfix", "fs01", "CauHotfix"),
        (
            "\\\\MyFileServer\\Hotfixes\\Root\\",
            "unc",
            "\\\\MyFileServer\\Hotfixes\\Root",
            "MyFileServer",
            "Hotfixes",
        ),
        (
            "\\\\fs01.contoso.com\\hotfix$\\Root",
            "unc",
            "\\\\fs01.contoso.com\\hotfix$\\Root",
            "fs01.contoso.com",
            "hotfix$",
        ),
        ("//10.0.0.5/share", "unc", "\\\\10.0.0.5\\share", "10.0.0.5", "share"),
    ],
)
def test_good_hotfix_roots(path, kind, normal, server, share):
    root = validate_hotfix_root(path)
    assert (root.kind, root.path, root.server, root.share) == (kind, normal, server, share)
    assert root.is_dfs is False


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("", "local path"),
        ("CauHotfix", "not absolute"),
        ("C:CauHotfix", "not absolute"),
        ("D:\\", "drive root"),
        ("D:", "not absolute"),
        ("\\\\?\\D:\\CauHotfix", "device path"),
        ("\\\\.\\pipe\\x", "device path"),
        ("\\\\fs01", "\\\\server\\share"),
        ("\\\\fs01\\\\share", "\\\\server\\share"),
        ("\\\\fs01\\C$\\Hotfix", "administrative share"),
        ("\\\\fs01\\ADMIN$", "administrative share"),
        ("\\\\fs_01\\share", "valid host name"),
        ("\\\\averyveryverylongname\\share", "NetBIOS"),
        ("\\\\fs01\\sh*re", "contains"),
        ("\\\\fs01\\share\\..\\x", "traversal"),
        ("D:\\Cau\\..\\Windows", "traversal"),
        ("D:\\Cau\\x:stream", "stream"),
        ("D:\\Cau\\CON", "reserved device"),
        ("D:\\Cau.", "dot or space"),
    ],
)
def test_bad_hotfix_roots(path, fragment):
    with pytest.raises(InputError) as caught:
        validate_hotfix_root(path)
    assert caught.value.field == "cau_hotfix_root_path"
    assert fragment in caught.value.message


def test_dfs_is_the_callers_statement_and_needs_unc():
    assert validate_hotfix_root("\\\\contoso.com\\ns\\hotfix", is_dfs=True).is_dfs is True
    with pytest.raises(InputError, match="DFS"):
        validate_hotfix_root("D:\\CauHotfix", is_dfs=True)


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("C$", "administrative share"),
        ("ADMIN$", "administrative share"),
        ("Cau/Hotfix", "contains"),
        ("", "1-80 characters"),
        (7, "a string"),
    ],
)
def test_bad_share_names_name_the_field(name, fragment):
    with pytest.raises(InputError) as caught:
        validate_share_name(name, "share.name")
    assert caught.value.field == "share.name"
    assert fragment in caught.value.message


def test_a_share_name_is_kept_as_written():
    assert validate_share_name("CauHotfix$") == "CauHotfix$"


# --------------------------------------------------------------------------------------------
# Tree plan
# --------------------------------------------------------------------------------------------

ISSUE_UPDATES = [
    {"src": "files/windows10.0-kb5034439-x64.msu"},
    {"src": "files/node2-only.msi", "nodes": ["NODE2"]},
    {"src": "files/fw-1.2.exe", "rule": "FirmwareUpdate"},
]
RULES = ["FirmwareUpdate"]


def test_issue_example_plan():
    plan = plan_tree(ISSUE_UPDATES, RULES, nodes=["node1", "node2"])
    assert plan.relative_paths() == [
        "CAUHotfix_All\\windows10.0-kb5034439-x64.msu",
        "NODE2\\node2-only.msi",
        "CAUHotfix_All\\FirmwareUpdate\\fw-1.2.exe",
    ]
    assert plan.folders == (("CAUHotfix_All",), ("NODE2",), ("CAUHotfix_All", "FirmwareUpdate"))
    assert plan.warnings == ()
    assert exe_folders(plan) == ["CAUHotfix_All\\FirmwareUpdate"]


def test_plan_accepts_rule_objects_and_fans_out_to_nodes():
    config = from_yaml_data(
        {
            "cau_hotfix_folder_rules": [
                {"name": "Bios", "template": {"path": "$update$"}, "exit_conditions": {"success": 0}}
            ]
        }
    )
    plan = plan_tree(
        [{"src": "/x/bios.exe", "rule": "bios", "nodes": ["n1", "n2"]}, "/x/a.MSP"],
        config.folder_rules,
        extensions=config.extension_names,
    )
    assert plan.relative_paths() == ["N1\\Bios\\bios.exe", "N2\\Bios\\bios.exe", "CAUHotfix_All\\a.MSP"]


def test_extra_extension_rule_allows_the_type_outside_rule_folders():
    plan = plan_tree([{"src": "tool.exe"}], [], extensions=["MSU", "EXE"])
    assert plan.relative_paths() == ["CAUHotfix_All\\tool.exe"]


F0 = "cau_hotfix_updates[0]"


@pytest.mark.parametrize(
    ("updates", "nodes", "field", "fragment"),
    [
        ([{"src": "fw.exe"}], None, f"{F0}.src", "would ignore this file"),
        ([{"src": "README"}], None, f"{F0}.src", "would ignore"),
        ([{"src": "x.msu", "rule": "Missing"}], None, f"{F0}.rule", "not defined"),
        ([{"src": "x.msu", "rule": "../evil"}], None, f"{F0}.rule", "separators"),
        (
            [{"src": "x.msu", "nodes": ["NODE3"]}],
            ["NODE1", "NODE2"],
            f"{F0}.nodes[0]",
            "not a node of the cluster",
        ),
        ([{"src": "x.msu", "nodes": ["node1.contoso.com"]}], None, f"{F0}.nodes[0]", "NetBIOS"),
        ([{"src": "x.msu", "nodes": ["N1", "n1"]}], None, f"{F0}.nodes[1]", "twice"),
        ([{"src": "x.msu", "nodes": "N1"}], None, f"{F0}.nodes", "list"),
        ([{"src": "files/CON.msu"}], None, f"{F0}.src", "reserved device"),
        ([{"src": "files/x.msu."}], None, f"{F0}.src", "dot or space"),
        ([{"src": ""}], None, f"{F0}.src", "path of the update"),
        ([{"src": "x.msu", "node": ["N1"]}], None, F0, "unknown keys"),
        ([42], None, F0, "mapping"),
        ([{"src": "a/x.msu"}, {"src": "b/X.MSU"}], None, "cau_hotfix_updates[1]", "cau_hotfix_updates[0]"),
        (
            [{"src": "a/x.msu", "nodes": ["N1"]}, {"src": "b/x.msu", "nodes": ["n1"]}],
            None,
            "cau_hotfix_updates[1]",
            "N1\\x.msu",
        ),
        ("x.msu", None, "cau_hotfix_updates", "list"),
    ],
)
def test_plan_refuses_what_the_plugin_would_ignore_or_misuse(updates, nodes, field, fragment):
    with pytest.raises(InputError) as caught:
        plan_tree(updates, RULES, nodes=nodes)
    assert caught.value.field == field
    assert fragment in caught.value.message


def test_plan_refuses_a_file_named_like_a_rule_folder():
    with pytest.raises(InputError) as caught:
        plan_tree([{"src": "fw.msu", "rule": "fw.msu"}, {"src": "FW.MSU"}], ["fw.msu"])
    assert caught.value.field == "cau_hotfix_updates[1]"
    assert "both a file and a rule folder" in caught.value.message


def test_plan_warnings():
    plan = plan_tree(
        [{"src": "kb1.msu"}, {"src": "other/kb1.msu", "nodes": ["N1"]}], ["FirmwareUpdate", "Unused"]
    )
    assert plan.warnings == (
        "folder rule FirmwareUpdate has no files; it is kept in the configuration",
        "folder rule Unused has no files; it is kept in the configuration",
        "kb1.msu is both in CAUHotfix_All and in N1; N1 will run it twice",
    )


@pytest.mark.parametrize(
    ("path", "finding"),
    [
        ("DefaultHotfixConfig.xml", None),
        ("CAUHotfix_All\\a.msu", None),
        ("cauhotfix_all/b.MSI", None),
        ("NODE1\\c.msp", None),
        ("NODE1\\FirmwareUpdate\\fw.exe", None),
        ("notes.txt", "other than DefaultHotfixConfig.xml"),
        ("CAUHotfix_All\\fw.exe", "no extension rule"),
        ("CAUHotfix_All\\Drivers\\d.exe", "has no <Folder> rule"),
        ("NODE9\\c.msu", "not a node of the cluster"),
        ("node.bad\\c.msu", "neither CAUHotfix_All"),
        ("NODE1\\FirmwareUpdate\\sub\\fw.exe", "nested deeper"),
    ],
)
def test_find_ignored_files(path, finding):
    found = find_ignored_files([path], ["FirmwareUpdate"], nodes=["NODE1", "NODE2"])
    if finding is None:
        assert found == []
    else:
        assert len(found) == 1 and finding in found[0]


# --------------------------------------------------------------------------------------------
# ACL rules
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rights", "mask"),
    [
        ("FullControl", 0x1F01FF),
        ("ReadAndExecute, Synchronize", 0x1200A9),
        (["Read", "ExecuteFile"], 0x200A9),
        ("modify", 0x301BF),
        (2032127, 0x1F01FF),
        (268435456, 0x1F01FF),  # GENERIC_ALL as CREATOR OWNER often shows it
        (-1610612736, 0x1200A9),  # GENERIC_READ | GENERIC_EXECUTE, signed as Get-Acl prints it
        ("Traverse, ListDirectory", 0x21),
    ],
)
def test_parse_rights(rights, mask):
    assert parse_rights(rights) == mask


@pytest.mark.parametrize("rights", ["Everything", True, None, "", [1]])
def test_bad_rights(rights):
    with pytest.raises(InputError):
        parse_rights(rights, "acl[0].rights")


@pytest.mark.parametrize(
    ("identity", "sid"),
    [
        ("BUILTIN\\Administrators", SID_ADMINISTRATORS),
        ("administrators", SID_ADMINISTRATORS),
        ("NT AUTHORITY\\SYSTEM", SID_SYSTEM),
        ("CREATOR OWNER", SID_CREATOR_OWNER),
        ("NT SERVICE\\TrustedInstaller", SID_TRUSTED_INSTALLER),
        ("s-1-5-32-545", SID_USERS),
        ("CONTOSO\\Domain Admins", "CONTOSO\\Domain Admins"),
    ],
)
def test_identities_by_name_or_sid(identity, sid):
    assert normalise_identity(identity) == sid


def ace(identity, rights, type_="Allow", inherited=False):
    return {"identity": identity, "rights": rights, "type": type_, "inherited": inherited}


SAFE = [
    ace("BUILTIN\\Administrators", "FullControl"),
    ace("S-1-5-18", "FullControl"),
    ace("CREATOR OWNER", 268435456),
    ace("NT SERVICE\\TrustedInstaller", "FullControl"),
    ace("BUILTIN\\Users", "ReadAndExecute, Synchronize"),
]
SAFE_READ = SAFE[:4] + [ace("S-1-5-32-545", "Read, Synchronize")]


@pytest.mark.parametrize(
    ("aces", "has_exe", "expected"),
    [
        (SAFE_READ, False, []),
        (SAFE, True, []),
        (SAFE_READ[:4] + [ace("NT AUTHORITY\\Authenticated Users", "Read")], False, []),
        (SAFE_READ + [ace("BUILTIN\\Users", "Modify")], False, [("BUILTIN\\Users", True, "Modify")]),
        (SAFE_READ + [ace("Everyone", "Write", inherited=True)], False, [("Everyone", True, "inherited")]),
        (
            SAFE_READ + [ace("CONTOSO\\Domain Admins", "FullControl")],
            False,
            [("CONTOSO\\Domain Admins", True, "FullControl")],
        ),
        (
            SAFE_READ + [ace("CONTOSO\\svc", "TakeOwnership")],
            False,
            [("CONTOSO\\svc", True, "TakeOwnership")],
        ),
        (SAFE_READ + [ace("CONTOSO\\svc", "Delete")], False, [("CONTOSO\\svc", True, "Delete")]),
        (SAFE_READ + [ace("Everyone", "FullControl", "Deny")], False, [("BUILTIN\\Users", True, "Deny")]),
        (
            SAFE_READ + [ace("BUILTIN\\Users", "Read", "Deny")],
            False,
            [("BUILTIN\\Users", True, "cannot read")],
        ),
        (SAFE_READ, True, [("BUILTIN\\Users", True, "read and execute")]),
        (SAFE, False, [("BUILTIN\\Users", False, "at most Read")]),
        (SAFE_READ + [ace("CONTOSO\\Auditors", "Read")], False, []),
        (SAFE[:4], False, [("BUILTIN\\Users", True, "cannot read")]),
    ],
)
def test_check_acl(aces, has_exe, expected):
    found = check_acl("\\", aces, has_exe=has_exe)
    assert [(v.identity, v.blocking) for v in found] == [(e[0], e[1]) for e in expected]
    for violation, (_, _, fragment) in zip(found, expected, strict=True):
        assert fragment in violation.problem
        assert violation.fix


def test_inherited_violation_fix_mentions_inheritance():
    (violation,) = check_acl("\\", SAFE_READ + [ace("Everyone", "Modify", inherited=True)])
    assert "inheritance" in violation.fix


def test_ace_accepts_get_acl_property_names():
    parsed = parse_ace(
        {
            "IdentityReference": "BUILTIN\\Users",
            "FileSystemRights": 1179817,
            "AccessControlType": 0,
            "IsInherited": True,
        }
    )
    assert (parsed.identity, parsed.rights, parsed.type, parsed.inherited) == (
        SID_USERS,
        0x1200A9,
        "Allow",
        True,
    )
    with pytest.raises(InputError, match="Allow or Deny"):
        parse_ace(ace("Users", "Read", "Audit"))


def _as_aces(desired):
    return [ace(e["identity"], e["rights"], e["type"]) for e in desired.entries]


@pytest.mark.parametrize("has_exe", [False, True])
def test_desired_acl_passes_its_own_check(has_exe):
    root = desired_acl(has_exe)
    assert root.protect is True
    assert {e["identity"] for e in root.entries} == {
        SID_ADMINISTRATORS,
        SID_SYSTEM,
        SID_CREATOR_OWNER,
        SID_TRUSTED_INSTALLER,
        SID_USERS,
    }
    assert check_acl("\\", _as_aces(root), has_exe=has_exe) == []
    # an .exe folder below the root inherits the root's entries and adds Users execute
    below = desired_acl(True, root=False)
    assert below.protect is False
    assert check_acl("CAUHotfix_All\\FW", _as_aces(desired_acl(False)) + _as_aces(below), has_exe=True) == []


# --------------------------------------------------------------------------------------------
# Preflight
# --------------------------------------------------------------------------------------------

CONFIG = from_yaml_data(
    {
        "cau_hotfix_folder_rules": [
            {"name": "FirmwareUpdate", "template": {"path": "$update$"}, "exit_conditions": {"success": 0}}
        ]
    }
)
EXE_DIR_ACES = SAFE_READ + [ace("BUILTIN\\Users", "ReadAndExecute", inherited=False)]


def healthy() -> dict:
    return {
        "root": "\\\\fs01\\CauHotfix",
        "is_dfs": False,
        "disable_acl_checks": False,
        "acl": {"": SAFE_READ, "CAUHotfix_All": SAFE_READ, "CAUHotfix_All\\FirmwareUpdate": EXE_DIR_ACES},
        "files": [
            "DefaultHotfixConfig.xml",
            "CAUHotfix_All\\kb1.msu",
            "CAUHotfix_All\\FirmwareUpdate\\fw.exe",
        ],
        "share": {"name": "CauHotfix", "encrypt_data": True, "signing_required": False},
        "firewall_rule_enabled": True,
        "config": {"present": True, "content": render(CONFIG)},
        "nodes": ["NODE1", "NODE2"],
        "account": {"name": "CONTOSO\\CAUrole$", "is_local_admin": True},
    }


def by_name(checks):
    return {c.name: c for c in checks}


def test_preflight_all_pass_on_a_healthy_root():
    checks = preflight(healthy())
    assert [c.name for c in checks] == [
        "root_path",
        "dfs_acl_checks",
        "config_file",
        "tree_structure",
        "ntfs_acl[.]",
        "ntfs_acl[CAUHotfix_All]",
        "ntfs_acl[CAUHotfix_All\\FirmwareUpdate]",
        "smb_integrity",
        "firewall_smb_in",
        "update_account",
    ]
    assert all(c.passed for c in checks), [c.to_dict() for c in checks if not c.passed]


@pytest.mark.parametrize(
    ("change", "check", "blocking", "fragment", "also_failing"),
    [
        ({"is_dfs": True}, "dfs_acl_checks", True, "DisableAclChecks='True'", set()),
        (
            {"acl": {"": SAFE_READ + [ace("Everyone", "Modify", inherited=True)]}},
            "ntfs_acl[.]",
            True,
            "inheritance",
            set(),
        ),
        ({"acl": {}}, "ntfs_acl", True, "file server", set()),
        (
            {"share": {"encrypt_data": False, "signing_required": False}},
            "smb_integrity",
            True,
            "Set-SmbShare -Name CauHotfix -EncryptData $true",
            set(),
        ),
        (
            {"require_smb_encryption": True, "share": {"signing_required": True}},
            "smb_integrity",
            True,
            "EncryptData",
            set(),
        ),
        ({"firewall_rule_enabled": False}, "firewall_smb_in", True, "Enable-NetFirewallRule", set()),
        ({"firewall_rule_enabled": None}, "firewall_smb_in", True, "Enable-NetFirewallRule", set()),
        ({"config": {"present": False}}, "config_file", True, "render", set()),
        (
            {"config": {"present": True, "content": b"<DefaultRules/>"}},
            "config_file",
            True,
            "re-render",
            set(),
        ),
        (
            {
                "config": {
                    "present": True,
                    "content": render(CONFIG),
                    "schema_errors": ["line 3: host says no"],
                }
            },
            "config_file",
            True,
            "re-render",
            set(),
        ),
        (
            {"files": ["CAUHotfix_All\\FirmwareUpdate\\fw.exe", "readme.txt"]},
            "tree_structure",
            False,
            "move the files",
            set(),
        ),
        # an .exe directly in CAUHotfix_All: ignored by the plug-in, and Users would need execute there
        (
            {"files": ["CAUHotfix_All\\setup.exe"]},
            "tree_structure",
            False,
            "move the files",
            {"ntfs_acl[CAUHotfix_All]"},
        ),
        (
            {"account": {"name": "CONTOSO\\CAUrole$", "is_local_admin": False}},
            "update_account",
            True,
            "Get-CauClusterRole",
            set(),
        ),
        ({"root": "relative\\path"}, "root_path", True, "server", {"smb_integrity", "firewall_smb_in"}),
    ],
)
def test_preflight_reports_each_unsafe_state_with_its_fix(change, check, blocking, fragment, also_failing):
    observed = healthy()
    observed.update(change)
    checks = by_name(preflight(observed))
    assert checks[check].passed is False
    assert checks[check].blocking is blocking
    assert fragment in checks[check].fix
    assert {name for name, c in checks.items() if not c.passed} == {check} | also_failing


def test_preflight_dfs_with_disable_acl_checks_passes_but_still_reports_unsafe_acls():
    observed = healthy()
    observed.update(is_dfs=True, disable_acl_checks=True, acl={"": SAFE_READ + [ace("Everyone", "Write")]})
    checks = by_name(preflight(observed))
    assert checks["dfs_acl_checks"].passed is True
    assert checks["ntfs_acl[.]"].passed is False
    assert checks["ntfs_acl[.]"].blocking is False  # the plug-in will not look, but the root is unsafe
    assert "DisableAclChecks" in checks["ntfs_acl[.]"].detail


def test_preflight_local_root_has_no_share_checks_and_exe_needs_execute():
    observed = healthy()
    observed.update(root="D:\\CauHotfix", share=None, firewall_rule_enabled=None)
    observed["acl"]["CAUHotfix_All\\FirmwareUpdate"] = SAFE_READ
    checks = by_name(preflight(observed))
    assert checks["smb_integrity"].passed and checks["firewall_smb_in"].passed
    assert not checks["ntfs_acl[CAUHotfix_All\\FirmwareUpdate]"].passed
    assert "execute" in checks["ntfs_acl[CAUHotfix_All\\FirmwareUpdate]"].detail


def test_preflight_uses_the_rules_of_the_file_on_the_server():
    observed = healthy()
    observed["config"] = {"present": True, "content": render(from_yaml_data({}))}  # no FirmwareUpdate rule
    checks = by_name(preflight(observed))
    assert not checks["tree_structure"].passed
    assert "FirmwareUpdate has no <Folder> rule" in checks["tree_structure"].detail
    assert checks["tree_structure"].to_dict()["blocking"] is False
