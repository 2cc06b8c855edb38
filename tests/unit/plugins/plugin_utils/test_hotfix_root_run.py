"""The flow of cau_hotfix_root (plugin_utils/_hotfix_root_run.py) against the lab's file server, in process.

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
from ansible_collections.winfleet.updates.plugins.plugin_utils._hotfix_root import HOST_MODULE, describe
from ansible_collections.winfleet.updates.plugins.plugin_utils._hotfix_root_run import hash_sources, run_hotfix_root
from tests.simlab import dispatch, raw
from tests.simlab.fleet import normalise_host

RULE = {
    "name": "FirmwareUpdate",
    "always_reboot": True,
    "template": {"path": "$update$", "parameters": "/s"},
    "exit_conditions": {"success": [0]},
}


class LabHost:
    """A simulated file server answering the host module and put_file in process."""

    name = "fs01"

    def __init__(self, lab_dir: Path, **server: Any) -> None:
        self.lab_dir = lab_dir
        (lab_dir / "blobs").mkdir(parents=True, exist_ok=True)
        self.state = {**normalise_host("fs01", {"file_server": {"folders": ["D:\\Data"], **server}}), "files": {}}
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
    preflight = run_hotfix_root(description(files, preflight=True), host)
    assert preflight["preflight_passed"] and preflight["failed_checks"] == []


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


def test_windows_schema_rejection_stops_before_any_change(files, tmp_path):
    host = LabHost(tmp_path / "lab", has_cau_schema=True, cau_schema_rejects="alwaysReboot")
    with pytest.raises(InputError) as caught:
        run_hotfix_root(description(files), host)
    assert caught.value.field == "HotfixConfigSchema.xsd" and "nothing was changed" in caught.value.message
    assert host.operations == ["read"]


def test_merging_is_validated_by_the_apply_step_against_windows_schema(files, tmp_path):
    host = LabHost(tmp_path / "lab", has_cau_schema=True, cau_schema_rejects="alwaysReboot")
    result = run_hotfix_root(description(files, merge_existing_config=True), host)
    assert result["failed"] and result["done"] == [] and not result["changed"]
    assert result["failed_step"] == "validate DefaultHotfixConfig.xml against HotfixConfigSchema.xsd"


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
    shas = {s.sha256 for s in hash_sources(desc.plan)}
    assert len(hash_sources(desc.plan)) == 3 and len(shas) == 1


def test_staging_never_needs_a_host(files, tmp_path):
    desc = describe({"stage_dir": str(tmp_path / "stage"), "updates": [{"src": str(files / "kb1.msu")}]},
                    lambda src, field: src)
    result = run_hotfix_root(desc, None, diff=True)
    assert result["mode"] == "stage" and result["created"] == ["CAUHotfix_All\\kb1.msu"]
    assert result["diff"][0]["prepared"].startswith("--- /dev/null") and result["plugin_arguments"] == {}
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
    assert run_hotfix_root(describe({**{"path": "\\\\fs01\\CauHotfix", "share": {"path": "D:\\CauHotfix"}},
                                     "updates": entries, "folder_rules": [RULE], "preflight": True},
                                    lambda s, f: s), host)["preflight_passed"]
