"""The lab's file server: fleet validation names the field, NTFS inheritance behaves like Windows."""

from __future__ import annotations

import pytest

from tests.simlab.file_server import FIREWALL_SMB_IN, FileSystem, normalise_file_server, parent
from tests.simlab.fleet import FleetError, load_fleet


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hosts: {fs: {file_server: {share: {}}}}", "hosts.fs.file_server: unknown key(s) share; valid:"),
        ("hosts: {fs: {file_server: {folders: ['CauHotfix']}}}", "file_server.folders[0]: expected a local absolute path"),
        ("hosts: {fs: {file_server: {folders: ['D:\\A\\..\\B']}}}", "contains a traversal"),
        ("hosts: {fs: {file_server: {files: {'D:\\a.msu': 3}}}}", "expected the file's text content"),
        ("hosts: {fs: {file_server: {shares: {H: {path: 'D:\\H', encrypt: true}}}}}", "shares.H: expected {path, encrypt_data}"),
        ("hosts: {fs: {file_server: {acls: {'D:\\H': [{identity: Users, rights: Modfy}]}}}}", "unknown right 'Modfy'"),
        ("hosts: {fs: {file_server: {acls: {'D:\\H': [{identity: Users, rights: Read, type: Permit}]}}}}",
         "aces[0].type: expected Allow or Deny"),
        ("hosts: {fs: {file_server: {acls: {'D:\\H': [{identity: Users, rights: Read, inheritance: Sideways}]}}}}",
         "unknown flag 'Sideways'"),
        ("hosts: {fs: {file_server: {firewall: {SMB: 'on'}}}}", "file_server.firewall: expected a mapping of rule"),
        ("hosts: {fs: {file_server: {cau_tools: {xsd: x}}}}", "file_server.cau_tools: expected {config, schema}"),
        ("hosts: {fs: {file_server: {groups: {G: A}}}}", "file_server.groups: expected a mapping of group name"),
        ("hosts: {fs: {file_server: {local_admins: ADMIN}}}", "file_server.local_admins: expected a list"),
        ("hosts: {fs: {file_server: {smb: {require_signing: 1}}}}", "file_server.smb.require_signing: expected true or false"),
    ],
)
def test_malformed_file_servers_are_named_errors(tmp_path, text, message):
    fleet = tmp_path / "fleet.yml"
    fleet.write_text(text)
    with pytest.raises(FleetError) as err:
        load_fleet(fleet)
    assert message in str(err.value)


def test_defaults_of_a_windows_file_server(tmp_path):
    fleet = tmp_path / "fleet.yml"
    fleet.write_text("hosts: {fs01.contoso.com: {file_server: {shares: {Hf: {path: 'd:/Hf'}}}}}")
    server = load_fleet(fleet)["hosts"]["fs01.contoso.com"]["file_server"]
    assert server["computer_name"] == "FS01"
    assert server["firewall"] == {FIREWALL_SMB_IN: True}
    assert server["shares"] == {"hf": {"name": "Hf", "path": "D:\\Hf", "encrypt_data": False}}
    assert server["folders"] == {"d:\\hf": "D:\\Hf"} and server["cau_tools"] is None


def test_parent_paths():
    assert [parent("D:\\A\\B"), parent("D:\\A"), parent("D:\\")] == ["D:\\A", "D:\\", None]


def _names(entries):
    return [(e["identity"], hex(e["rights"]), e["inheritance"], e["propagation"], e["inherited"]) for e in entries]


def test_a_folder_on_a_bare_volume_inherits_users_create_rights():
    fs = FileSystem(normalise_file_server({"folders": ["D:\\CauHotfix\\Sub"], "files": {"D:\\CauHotfix\\a.msu": "x"}},
                                          "f"), None)
    protected, folder = fs.effective("D:\\CauHotfix")
    assert protected is False
    users = [e for e in folder if e["identity"] == "S-1-5-32-545"]
    assert {hex(e["rights"]) for e in users} == {"0x1200a9", "0x100004", "0x100002"}  # RX, AppendData, CreateFiles
    creator = [e for e in folder if e["identity"] == "S-1-3-0"]
    assert creator and creator[0]["propagation"] == "InheritOnly"
    _, file_entries = fs.effective("D:\\CauHotfix\\a.msu")
    # files get only the object-inheritable entries, CREATOR OWNER becomes the owner (not modelled)
    assert {(e["identity"], hex(e["rights"])) for e in file_entries} == {
        ("S-1-5-32-544", "0x1f01ff"), ("S-1-5-18", "0x1f01ff"), ("S-1-5-32-545", "0x1200a9")
    }
    assert all(e["inherited"] and e["inheritance"] == "None" for e in file_entries)


def test_a_protected_folder_stops_inheritance_and_no_propagate_reaches_one_level():
    fs = FileSystem(normalise_file_server({
        "folders": ["D:\\R\\A\\B"],
        "acls": {"D:\\R": {"protected": True, "aces": [
            {"identity": "Administrators", "rights": "FullControl"},
            {"identity": "Everyone", "rights": "Read", "propagation": "NoPropagateInherit"},
        ]}},
    }, "f"), None)
    assert _names(fs.effective("D:\\R")[1])[0] == ("S-1-5-32-544", "0x1f01ff", "ContainerInherit, ObjectInherit", "None", False)
    level1 = {e["identity"]: e for e in fs.effective("D:\\R\\A")[1]}
    assert level1["S-1-1-0"]["inheritance"] == "None"  # applies to A, not propagated further
    level2 = {e["identity"] for e in fs.effective("D:\\R\\A\\B")[1]}
    assert level2 == {"S-1-5-32-544"}


def test_removing_a_folder_that_is_not_empty_fails_like_windows():
    fs = FileSystem(normalise_file_server({"files": {"D:\\R\\A\\x.msu": "x"}}, "f"), None)
    with pytest.raises(OSError, match="not empty"):
        fs.remove_folder("D:\\R\\A")
