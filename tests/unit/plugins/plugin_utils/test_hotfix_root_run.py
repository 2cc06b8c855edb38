"""The flows of cau_hotfix_root and cau_hotfix_root_info (plugin_utils/_hotfix_root_run.py), in process.

The host is the simulated lab's handler called directly (arguments checked against the .ps1
``$spec`` as on a real host), so the whole read/transfer/apply cycle runs in milliseconds; the
property test uses that to show that any valid description is idempotent.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from ansible_collections.winfleet.updates.plugins.plugin_utils._action import HostModuleFailed
from ansible_collections.winfleet.updates.plugins.plugin_utils._hotfix_root import HOST_MODULE, describe, hash_sources
from ansible_collections.winfleet.updates.plugins.plugin_utils._hotfix_root_run import run_build, run_info
from tests.unit import hotfix_bases
from tests.simlab import dispatch, raw
from tests.simlab.fleet import normalise_host

RULE = {
    "name": "FirmwareUpdate",
    "always_reboot": True,
    "template": {"path": "$update$", "parameters": "/s"},
    "exit_conditions": {"success": [0]},
}


CAU_TOOLS = {"config": hotfix_bases.PLAIN.decode(), "schema": hotfix_bases.schema().decode()}


def run_hotfix_root(desc, host, check_mode=False, diff=False):
    return run_build(desc, host, check_mode=check_mode, diff=diff)


class LabHost:
    """A simulated file server answering the host module and put_file in process."""

    name = "fs01"

    def __init__(self, lab_dir: Path, **server: Any) -> None:
        self.lab_dir = lab_dir
        (lab_dir / "blobs").mkdir(parents=True, exist_ok=True)
        server = {"folders": ["D:\\Data"], "cau_tools": CAU_TOOLS, **server}
        self.state = {**normalise_host("fs01", {"file_server": server}), "files": {}}
        self.operations: list[str] = []
        self.puts = 0
        self.fail_put_at: int | None = None

    def run(self, args: dict[str, Any]) -> dict[str, Any]:
        self.operations.append(args["_operation"])
        payload = {**args, "_ansible_module_name": HOST_MODULE, "_ansible_check_mode": False}
        result = dispatch.run_module(self.state, payload, {}, self.lab_dir)
        if result.get("failed"):
            raise HostModuleFailed(result)
        return result

    def put(self, local_path: str, remote_path: str) -> None:
        if self.fail_put_at is not None and self.puts == self.fail_put_at:
            raise ConnectionError("the connection dropped")
        self.puts += 1
        raw.store_file(self.state, remote_path, Path(local_path).read_bytes(), SimpleNamespace(root=self.lab_dir))


@pytest.fixture
def files(tmp_path: Path) -> Path:
    folder = tmp_path / "files"
    folder.mkdir()
    for name in ("kb1.msu", "node2.msi", "fw.exe"):
        (folder / name).write_bytes(name.encode() * 10)
    return folder


def description(files: Path, **options: Any):
    updates = [
        {"src": str(files / "kb1.msu")},
        {"src": str(files / "node2.msi"), "nodes": ["NODE2"]},
        {"src": str(files / "fw.exe"), "rule": "FirmwareUpdate"},
    ]
    return describe(
        {"path": "\\\\fs01\\CauHotfix", "share": {"path": "D:\\CauHotfix"}, "updates": updates,
         "folder_rules": [RULE], **options},
        lambda src, field: src,
    )


def test_build_then_nothing_to_do(files, tmp_path):
    host = LabHost(tmp_path / "lab")
    first = run_hotfix_root(description(files), host)
    assert first["changed"] and host.operations == ["read", "apply"] and host.puts == 3
    assert first["done"][0] == "create root D:\\CauHotfix" and first["done"][1] == "set ACL ."
    second = run_hotfix_root(description(files), host)
    assert not second["changed"] and host.operations == ["read", "apply", "read"] and host.puts == 3
    preflight = run_info(description(files), host)
    assert preflight["preflight_passed"] and preflight["failed_checks"] == []
    assert host.operations == ["read", "apply", "read", "read"]


def test_check_mode_reads_only(files, tmp_path):
    host = LabHost(tmp_path / "lab")
    result = run_hotfix_root(description(files), host, check_mode=True, diff=True)
    assert result["changed"] and result["transferred"] == ["CAUHotfix_All\\kb1.msu", "NODE2\\node2.msi",
                                                            "CAUHotfix_All\\FirmwareUpdate\\fw.exe"]
    assert host.operations == ["read"] and host.puts == 0
    assert [d["before_header"] for d in result["diff"]] == [
        "D:\\CauHotfix\\DefaultHotfixConfig.xml", "D:\\CauHotfix (files)", "D:\\CauHotfix (security)"
    ]


def test_a_transfer_failure_cleans_up_and_changes_nothing(files, tmp_path):
    host = LabHost(tmp_path / "lab")
    host.fail_put_at = 2
    result = run_hotfix_root(description(files), host)
    assert result["failed"] and not result["changed"]
    assert "copying CAUHotfix_All\\FirmwareUpdate\\fw.exe to fs01 failed: the connection dropped" in result["msg"]
    assert "the 2 file(s) already copied to the temp folder were removed" in result["msg"]
    assert host.operations == ["read", "cleanup"] and host.state["files"] == {}
    assert host.state["file_server"]["folders"] == {"d:\\data": "D:\\Data"}


def test_an_apply_failure_reports_the_steps_done(files, tmp_path):
    host = LabHost(tmp_path / "lab", fail_step="write DefaultHotfixConfig.xml")
    result = run_hotfix_root(description(files), host)
    assert result["failed"] and result["changed"]
    assert result["failed_step"] == "write DefaultHotfixConfig.xml"
    assert result["done"][-1] == "place file CAUHotfix_All\\FirmwareUpdate\\fw.exe"
    assert "Nothing after it was applied" in result["msg"] and host.state["files"] == {}


def test_a_read_failure_says_nothing_changed(tmp_path, files):
    host = LabHost(tmp_path / "lab")
    del host.state["file_server"]
    with pytest.raises(HostModuleFailed) as caught:
        run_hotfix_root(description(files), host)
    assert "reading the hotfix root on fs01 failed" in caught.value.result["msg"]
    assert caught.value.result["msg"].endswith("nothing was changed")


STRICT = hotfix_bases.schema().replace(b'<xs:attribute name="alwaysReboot" type="xs:boolean"/>', b"").decode()


def test_windows_schema_rejection_stops_before_any_change(files, tmp_path):
    host = LabHost(tmp_path / "lab", cau_tools={**CAU_TOOLS, "schema": STRICT})
    with pytest.raises(InputError) as caught:
        run_hotfix_root(description(files), host)
    assert caught.value.field == "HotfixConfigSchema.xsd" and "nothing was changed" in caught.value.message
    assert "alwaysReboot" in caught.value.message and host.operations == ["read"]


def test_a_controller_base_without_a_schema_beside_it_is_validated_with_the_hosts(files, tmp_path):
    base = tmp_path / "base.xml"
    base.write_bytes(hotfix_bases.PLAIN)
    host = LabHost(tmp_path / "lab", cau_tools={"schema": STRICT})
    with pytest.raises(InputError, match="built from .*base.xml and folder_rules"):
        run_hotfix_root(description(files, base_config=str(base)), host)


def test_without_a_base_the_module_refuses_and_says_where_it_looked(files, tmp_path):
    host = LabHost(tmp_path / "lab", cau_tools={})
    with pytest.raises(InputError) as caught:
        run_hotfix_root(description(files), host)
    assert caught.value.field == "base_config" and host.operations == ["read"]
    assert "ClusterAwareUpdating on FS01" in caught.value.message and "base_config: builtin" in caught.value.message


def test_builtin_base_is_an_explicit_opt_in(files, tmp_path):
    host = LabHost(tmp_path / "lab", cau_tools={})
    assert run_hotfix_root(description(files, base_config="builtin"), host)["changed"] is True


@pytest.mark.parametrize(("server", "admin"), [
    ({"groups": {"CONTOSO\\CAU Servers": ["CONTOSO\\CLUSTER1-CAU$"]}, "local_admins": ["CONTOSO\\CAU Servers"]}, True),
    ({"groups": {"CONTOSO\\Outer": ["CONTOSO\\Inner"], "CONTOSO\\Inner": ["CONTOSO\\CLUSTER1-CAU$"]},
      "local_admins": ["CONTOSO\\Outer"]}, True),
    ({"local_admins": ["CONTOSO\\CLUSTER1-CAU$"]}, True),
    ({"groups": {"CONTOSO\\CAU Servers": ["CONTOSO\\CLUSTER1-CAU$"]}, "local_admins": []}, False),
    ({"s4u": False, "groups": {"CONTOSO\\G": ["CONTOSO\\CLUSTER1-CAU$"]}, "local_admins": ["CONTOSO\\G"]}, False),
])
def test_the_update_account_is_an_administrator_through_nested_groups(files, tmp_path, server, admin):
    host = LabHost(tmp_path / "lab", **server)
    result = run_info(description(files, cau_account="CONTOSO\\CLUSTER1-CAU$"), host)
    check = next(c for c in result["checks"] if c["name"] == "update_account")
    assert check["passed"] is admin and result["account"]["is_local_admin"] is admin
    if not server.get("s4u", True):
        assert "direct members of Administrators only" in check["detail"]


def test_a_missing_source_fails_before_the_host(tmp_path, files):
    desc = description(files)
    (files / "node2.msi").unlink()
    host = LabHost(tmp_path / "lab")
    with pytest.raises(InputError) as caught:
        run_hotfix_root(desc, host)
    assert caught.value.field == "updates[1].src" and host.operations == []


def test_a_source_fanning_out_to_several_nodes_is_hashed_once(files):
    desc = describe(
        {"path": "D:\\CauHotfix", "updates": [{"src": str(files / "node2.msi"), "nodes": ["N1", "N2", "N3"]}]},
        lambda src, field: src,
    )
    shas = {s.sha256 for s in hash_sources(desc.files)}
    assert len(hash_sources(desc.files)) == 3 and len(shas) == 1


def test_staging_never_needs_a_host(files, tmp_path):
    desc = describe({"stage_dir": str(tmp_path / "stage"), "updates": [{"src": str(files / "kb1.msu")}],
                     "base_config": "builtin"}, lambda src, field: src)
    result = run_hotfix_root(desc, None, diff=True)
    assert result["mode"] == "stage" and result["created"] == ["CAUHotfix_All\\kb1.msu"]
    assert result["xml_diff"].startswith("--- a/DefaultHotfixConfig.xml") and result["plugin_arguments"] == {}
    assert run_hotfix_root(desc, None)["changed"] is False


# --------------------------------------------------------------------------------------------
# Property: whatever valid description, the second run finds nothing to do
# --------------------------------------------------------------------------------------------

_NAMES = st.sampled_from(["kb1.msu", "kb2.MSU", "tool.msi", "patch.msp", "fw.exe", "bios.EXE"])
_NODES = st.lists(st.sampled_from(["NODE1", "NODE2", "node3"]), max_size=2, unique_by=str.upper)
_UPDATE = st.fixed_dictionaries({"name": _NAMES, "nodes": _NODES})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(updates=st.lists(_UPDATE, min_size=1, max_size=5, unique_by=lambda u: u["name"].lower()),
       prune=st.booleans())
def test_any_valid_description_is_idempotent(tmp_path_factory, updates, prune):
    base = tmp_path_factory.mktemp("prop")
    src = base / "files"
    src.mkdir()
    entries = []
    for update in updates:
        (src / update["name"]).write_bytes(update["name"].encode())
        entry: dict[str, Any] = {"src": str(src / update["name"])}
        if update["nodes"]:
            entry["nodes"] = update["nodes"]
        if update["name"].lower().endswith(".exe"):
            entry["rule"] = "FirmwareUpdate"
        entries.append(entry)
    desc = describe({"path": "\\\\fs01\\CauHotfix", "share": {"path": "D:\\CauHotfix"}, "updates": entries,
                     "folder_rules": [RULE], "prune": prune}, lambda s, f: s)
    host = LabHost(base / "lab")
    assert run_hotfix_root(desc, host)["changed"]
    puts = host.puts
    again = run_hotfix_root(desc, host)
    assert not again["changed"] and host.puts == puts
    assert run_info(describe({"path": "\\\\fs01\\CauHotfix", "share": {"path": "D:\\CauHotfix"},
                              "updates": entries, "folder_rules": [RULE]}, lambda s, f: s), host)["preflight_passed"]


def test_the_servers_installed_schema_is_checked_too_before_anything_is_sent(files, tmp_path):
    """A schema beside base_config does not replace the file server's own: both must accept."""
    base = tmp_path / "base.xml"
    base.write_bytes(hotfix_bases.PLAIN)
    (tmp_path / "HotfixConfigSchema.xsd").write_bytes(hotfix_bases.schema())
    host = LabHost(tmp_path / "lab", cau_tools={"schema": STRICT})
    with pytest.raises(InputError, match="does not validate against Windows' .*HotfixConfigSchema.xsd on FS01"):
        run_hotfix_root(description(files, base_config=str(base)), host)
    assert host.puts == 0 and [op for op in host.operations if op != "read"] == []
