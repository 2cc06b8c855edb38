"""Cluster-Aware Updating end to end: the cau_prepare / cau_update playbooks on simulated clusters.

Every test builds a small simulated fleet (docs/simlab.md), runs the real playbooks with
ansible-playbook, and checks what happened on the simulated hosts and in cau_report.json.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import BIN_DIR, REPO_ROOT, PlaybookRun, recap, run_playbook
from tests.simlab.state import Lab
from tests.unit import hotfix_bases

# Simulated seconds pass 1000 times faster than real ones; polls every 50 ms.
FAST_LAB = {"time_scale": 0.001}
POLL = 0.05

KB_SOFTWARE = "11111111-aaaa-4aaa-8aaa-000000000001"
KB_SOFTWARE_2 = "11111111-aaaa-4aaa-8aaa-000000000002"
KB_DRIVER = "22222222-bbbb-4bbb-8bbb-000000000001"
KB_DRIVER_RECOMMENDED = "22222222-bbbb-4bbb-8bbb-000000000002"
KB_FAILS = "33333333-cccc-4ccc-8ccc-000000000001"

PLUGIN_DLL = "C:\\Program Files\\Contoso\\CAU\\Contoso.FirmwarePlugin.dll"
CONTOSO = {"name": "Contoso.FirmwarePlugin", "path": PLUGIN_DLL}


def software(guid: str = KB_SOFTWARE, **extra: Any) -> dict[str, Any]:
    return {"id": guid, "title": f"KB {guid[-4:]} cumulative update", **extra}


def driver(guid: str = KB_DRIVER, **extra: Any) -> dict[str, Any]:
    return {"id": guid, "title": f"KB {guid[-4:]} NIC driver", "type": "Driver", "assigned": False, **extra}


def cau(lab: Lab, tmp_path: Path, playbook: str = "update", check: bool = False, diff: bool = False,
        limit: str | None = None, **extra_vars: Any) -> PlaybookRun:
    """Run cau_prepare or cau_update against the lab, reports into tmp_path/reports."""
    variables = {"cau_report_dir": str(tmp_path / "reports"), "cau_poll_interval": POLL, **extra_vars}
    extra_args = (["--diff"] if diff else []) + (["--limit", limit] if limit else [])
    return run_playbook(f"winfleet.updates.cau_{playbook}", lab.root / "inventory.yml", tmp_path / "reports",
                        variables, check=check, extra_args=extra_args or None)


def node_rows(run: PlaybookRun) -> dict[str, dict[str, Any]]:
    return {row["node"]: row for row in run.report("cau_report")["hosts"]}


def installed(lab: Lab, host: str) -> set[str]:
    return {u["id"] for u in lab.read_host(host)["cau_updates"] if u["installed"]}


def cau_events(lab: Lab, host: str) -> list[dict[str, Any]]:
    return [e for e in lab.read_host(host)["events"] if e["event"].startswith("cau_")]


def without_counters(state: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in state.items() if k not in ("round_trips", "failed_round_trips")}


# --------------------------------------------------------------------------------------------


def test_prepare_places_plugins_by_mode_is_idempotent_and_self_updating_survives_its_own_restart(make_lab, tmp_path):
    plugins = [{"name": "Microsoft.WindowsUpdatePlugin"}, {"name": "Contoso.FirmwarePlugin"}]
    binaries = {"cau_plugin_binaries": {PLUGIN_DLL: "Contoso.FirmwarePlugin"}}
    cluster_vars = {"cau_third_party_plugins": [CONTOSO], "cau_plugins": plugins}
    lab = make_lab({
        "lab": {"time_scale": 0.005},  # restarts last 0.3 s: several polls fall into sv01's own restart
        "hosts": {
            "coord01": binaries,
            "hv01": {**binaries, "cau_updates": [software()]},
            "hv02": {**binaries, "cau_updates": [software()]},
            "sv01": {**binaries, "cau_updates": [software()]},
            "sv02": {**binaries, "cau_updates": [software()]},
            "sv03": {**binaries, "cau_updates": [software()]},
        },
        "clusters": {
            "hvcl01": {"mode": "remote_updating", "nodes": ["hv01", "hv02"], "coordinator": "coord01",
                       "vars": cluster_vars},
            "svcl01": {"mode": "self_updating", "nodes": ["sv01", "sv02", "sv03"],
                       "vars": {**cluster_vars, "cau_schedule": {"days_of_week": ["Tuesday"], "weeks_of_month": [2, 4]}}},
        },
    })
    before = {host: without_counters(lab.read_host(host)) for host in lab.host_names()}

    preview = cau(lab, tmp_path, "prepare", check=True, diff=True)
    assert preview.returncode == 0, preview.output
    assert {host: without_counters(lab.read_host(host)) for host in lab.host_names()} == before
    assert lab.read_cluster("svcl01")["cluster_role"] is None
    # --diff shows the registered plug-ins before and after, and the role's settings
    assert re.search(r"^\+\s+- Contoso\.FirmwarePlugin", preview.output, re.M), preview.output
    assert re.search(r"^\+\s+DaysOfWeek: Tuesday", preview.output, re.M), preview.output

    prepared = cau(lab, tmp_path, "prepare")
    assert prepared.returncode == 0, prepared.output
    registered = {host: lab.read_host(host)["cau_plugins"] for host in lab.host_names()}
    # remote-updating: the coordinator only; self-updating: every node
    assert registered == {"coord01": ["Contoso.FirmwarePlugin"], "hv01": [], "hv02": [],
                          "sv01": ["Contoso.FirmwarePlugin"], "sv02": ["Contoso.FirmwarePlugin"],
                          "sv03": ["Contoso.FirmwarePlugin"]}
    role = {item["name"]: item["value"] for item in lab.read_cluster("svcl01")["cluster_role"]}
    assert role["CauPluginName"] == ["Microsoft.WindowsUpdatePlugin", "Contoso.FirmwarePlugin"]
    assert (role["DaysOfWeek"], role["WeeksOfMonth"]) == ("Tuesday", [2, 4])
    assert lab.read_cluster("hvcl01")["cluster_role"] is None

    again = cau(lab, tmp_path, "prepare")
    assert again.returncode == 0, again.output
    assert all(counts["changed"] == 0 for counts in recap(again.output).values()), again.output

    updated = cau(lab, tmp_path, "update")
    assert updated.returncode == 0, updated.output
    rows = node_rows(updated)
    assert {node: (row["status"], row["updates_installed"], row["reboots"]) for node, row in rows.items()} == {
        node: ("succeeded", 1, 1) for node in ("hv01", "hv02", "sv01", "sv02", "sv03")}
    # sv01 runs the cmdlets of its own cluster and restarts during the run: the poll reconnected
    assert lab.read_host("sv01")["failed_round_trips"] > 0
    assert "lost the connection while following the CAU run" in updated.output
    # the self-updating run went through the clustered role
    starts = [e for e in lab.read_host("sv01")["events"] if e["event"] == "cau_run_started"]
    assert starts[0]["parameters"]["ForceSelfUpdate"] is True


def test_the_clustered_role_read_back_in_windows_names_is_not_reconfigured(make_lab, tmp_path):
    """Get-CauClusterRole shows WeeksInterval, StartDate as text and switches as On: same settings, no change."""
    lab = make_lab({
        "lab": FAST_LAB,
        "hosts": {"sv01": {}, "sv02": {}},
        "clusters": {"svcl01": {"mode": "self_updating", "nodes": ["sv01", "sv02"], "vars": {
            "cau_schedule": {"days_of_week": ["Saturday", "Tuesday"], "interval_weeks": 2,
                             "start_date": "2026-01-06T03:00:00"},
            "cau_require_all_nodes_online": True, "cau_max_retries_per_node": 2,
            "cau_post_update_script": "C:\\ClusterStorage\\Volume1\\Verify.ps1",
            "cau_plugins": [{"name": "Microsoft.WindowsUpdatePlugin",
                             "arguments": {"QueryString": f"UpdateID='{KB_SOFTWARE}' and IsInstalled=0"}}]}}},
    })
    first = cau(lab, tmp_path, "prepare")
    assert first.returncode == 0, first.output
    role = {item["name"]: item["value"] for item in lab.read_cluster("svcl01")["cluster_role"]}
    assert (role["WeeksInterval"], role["StartDate"], role["DaysOfWeek"], role["RequireAllNodesOnline"]) == (
        2, "1/6/2026 3:00:00 AM", "Tuesday, Saturday", "On")
    second = cau(lab, tmp_path, "prepare")
    assert second.returncode == 0, second.output
    assert all(counts["changed"] == 0 for counts in recap(second.output).values()), second.output
    changed = cau(lab, tmp_path, "prepare", cau_schedule={"days_of_week": ["Tuesday"], "interval_weeks": 3})
    assert changed.returncode == 0, changed.output
    role = {item["name"]: item["value"] for item in lab.read_cluster("svcl01")["cluster_role"]}
    assert (role["WeeksInterval"], role["DaysOfWeek"]) == (3, "Tuesday")


def test_builtin_plugins_cannot_be_unregistered_and_nothing_is_contacted(make_lab, tmp_path):
    lab = make_lab({"hosts": {"coord01": {}}})
    playbook = tmp_path / "unregister.yml"
    playbook.write_text(
        "- name: Try to remove a built-in\n"
        "  hosts: coord01\n"
        "  gather_facts: false\n"
        "  tasks:\n"
        "    - name: Unregister the hotfix plug-in\n"
        "      winfleet.updates.cau_plugin:\n"
        "        name: microsoft.hotfixplugin\n"
        "        state: absent\n"
    )
    run = run_playbook(str(playbook), lab.root / "inventory.yml", tmp_path / "reports")
    assert run.returncode != 0
    assert "Microsoft.HotfixPlugin is built into CAU and cannot be unregistered" in run.output
    assert "Traceback" not in run.output
    assert lab.read_host("coord01")["round_trips"] == 0


def test_multiple_plugins_run_in_order_and_stop_on_plugin_failure_skips_the_rest(make_lab, tmp_path):
    hotfix_root = "\\\\fs01\\hotfix"
    plugins = [
        {"name": "Microsoft.WindowsUpdatePlugin"},
        {"name": "Microsoft.HotfixPlugin", "arguments": {"HotfixRootFolderPath": hotfix_root, "RequireSMBEncryption": True}},
    ]

    def cluster(coordinator: str, nodes: list[str], stop: bool) -> dict[str, Any]:
        return {"mode": "remote_updating", "nodes": nodes, "coordinator": coordinator, "vars": {
            "cau_plugins": plugins, "cau_run_plugins_serially": True, "cau_stop_on_plugin_failure": stop,
            "cau_separate_reboots": stop, "cau_max_failed_nodes": 1}}

    fails_then_ok = {"cau_updates": [software(KB_FAILS, fails=True)]}
    ok = {"cau_updates": [software()]}
    lab = make_lab({
        "lab": FAST_LAB,
        "hosts": {"coord01": {}, "a1": fails_then_ok, "a2": ok, "b1": fails_then_ok, "b2": ok},
        "hotfix_roots": {hotfix_root: {"all": ["Update1.msu"], "nodes": {"a2": ["Node2_Specific.msu"]}}},
        "clusters": {"stopping": cluster("coord01", ["a1", "a2"], True),
                     "continuing": cluster("coord01", ["b1", "b2"], False)},
    })
    run = cau(lab, tmp_path, cau_continue_on_failure=True)
    assert run.returncode != 0  # both clusters have a failed node: the play fails at the end
    assert "Cluster-Aware Updating failed on continuing, stopping" in run.output  # inventory order

    # a2: Windows Update first, then the hotfixes (CAUHotfix_All and its own folder), scanned serially,
    # one restart per plug-in (SeparateReboots)
    a2 = cau_events(lab, "a2")
    assert [e["event"] for e in a2] == ["cau_scan", "cau_install", "cau_reboot", "cau_install", "cau_install", "cau_reboot"]
    assert a2[0] == {**a2[0], "serial": True, "plugins": ["Microsoft.WindowsUpdatePlugin", "Microsoft.HotfixPlugin"]}
    assert [e.get("update") for e in a2 if e["event"] == "cau_install"] == [
        KB_SOFTWARE, "hotfix:Update1.msu", "hotfix:Node2_Specific.msu"]
    # a1: Windows Update failed, StopOnPluginFailure: the hotfix plug-in never ran there
    assert [e["event"] for e in cau_events(lab, "a1")] == ["cau_scan", "cau_install_failed", "cau_plugins_stopped"]
    assert lab.read_host("a1").get("cau_hotfixes_installed") is None
    # b1: without StopOnPluginFailure the hotfix is installed after the failure; one restart
    assert [e["event"] for e in cau_events(lab, "b1")] == ["cau_scan", "cau_install_failed", "cau_install", "cau_reboot"]
    assert lab.read_host("b1")["cau_hotfixes_installed"] == ["Update1.msu"]
    assert lab.read_host("b2")["boot_count"] == 1

    rows = node_rows(run)
    assert rows["a1"]["status"] == "failed" and "Access is denied" in rows["a1"]["failures"][0]
    assert rows["a2"]["reboots"] == 2 and rows["b2"]["reboots"] == 1
    assert run.report("cau_report")["summary"]["by_cluster_status"]["failed"] == 2


def test_drivers_only_query_installs_only_drivers_and_recommended_ones_on_request(make_lab, tmp_path):
    updates = {"cau_updates": [software(), driver(), driver(KB_DRIVER_RECOMMENDED, recommended=True)]}

    def drivers_only(include_recommended: bool) -> dict[str, Any]:
        arguments = {"query": {"type": "Driver"}, "IncludeRecommendedUpdates": include_recommended}
        return {"cau_plugins": [{"name": "Microsoft.WindowsUpdatePlugin", "arguments": arguments}]}

    lab = make_lab({
        "lab": FAST_LAB,
        "hosts": {"coord01": {}, "d1": updates, "d2": updates, "r1": updates, "r2": updates},
        "clusters": {
            "important": {"mode": "remote_updating", "nodes": ["d1", "d2"], "coordinator": "coord01", "vars": drivers_only(False)},
            "recommended": {"mode": "remote_updating", "nodes": ["r1", "r2"], "coordinator": "coord01", "vars": drivers_only(True)},
        },
    })
    run = cau(lab, tmp_path)
    assert run.returncode == 0, run.output
    assert installed(lab, "d1") == installed(lab, "d2") == {KB_DRIVER}
    assert installed(lab, "r1") == installed(lab, "r2") == {KB_DRIVER, KB_DRIVER_RECOMMENDED}
    starts = [e for e in lab.read_host("coord01")["events"] if e["event"] == "cau_run_started"]
    assert starts[0]["parameters"]["CauPluginArguments"] == [
        {"QueryString": "IsInstalled=0 and Type='Driver' and IsHidden=0", "IncludeRecommendedUpdates": "False"}]
    assert node_rows(run)["d1"]["updates"] == [f"KB {KB_DRIVER[-4:]} NIC driver [{KB_DRIVER}]"]


def test_failing_nodes_beyond_max_failed_nodes_stop_the_run_and_the_next_cluster(make_lab, tmp_path):
    failing = {"cau_updates": [software(KB_FAILS, fails=True)]}
    healthy = {"cau_updates": [software()]}
    lab = make_lab({
        "lab": FAST_LAB,
        "hosts": {"coord01": {}, "coord02": {}, "n1": failing, "n2": failing, "n3": healthy, "n4": healthy,
                  "m1": healthy, "m2": healthy},
        "clusters": {
            "first": {"mode": "remote_updating", "nodes": ["n1", "n2", "n3", "n4"], "coordinator": "coord01",
                      "vars": {"cau_max_failed_nodes": 1, "cau_max_retries_per_node": 2}},
            "second": {"mode": "remote_updating", "nodes": ["m1", "m2"], "coordinator": "coord02"},
        },
    })
    run = cau(lab, tmp_path)
    assert run.returncode != 0
    assert "Cluster first failed" in run.output and "MaxFailedNodesExceeded" in run.output

    rows = node_rows(run)
    assert [(n, rows[n]["status"]) for n in ("n1", "n2", "n3", "n4")] == [
        ("n1", "failed"), ("n2", "failed"), ("n3", "not_updated"), ("n4", "not_updated")]
    assert "after 2 tries" in rows["n1"]["failures"][0]
    assert installed(lab, "n3") == installed(lab, "n4") == set()
    # the run stopped before the second cluster: untouched, but still in the report
    assert lab.read_host("coord02")["round_trips"] == 0 and installed(lab, "m1") == set()
    assert (rows["m1"]["cluster_status"], rows["m1"]["status"]) == ("not_run", "not_updated")
    assert "not run" in rows["m2"]["error"]
    summary = run.report("cau_report")["summary"]
    assert summary["by_cluster_status"]["failed"] == 1 and summary["by_cluster_status"]["not_run"] == 1
    assert (tmp_path / "reports" / "cau_report.md").read_text().count("| second | m") == 2


def test_check_mode_scans_and_changes_nothing(make_lab, tmp_path):
    lab = make_lab({
        "lab": FAST_LAB,
        "hosts": {"coord01": {}, "h1": {"cau_updates": [software(), software(KB_SOFTWARE_2), driver()]},
                  "h2": {"cau_updates": [software(installed=True)]}},
        "clusters": {"hvcl01": {"mode": "remote_updating", "nodes": ["h1", "h2"], "coordinator": "coord01"}},
    })
    hosts_before = {h: without_counters(lab.read_host(h)) for h in lab.host_names()}
    cluster_before = lab.read_cluster("hvcl01")
    run = cau(lab, tmp_path, check=True)
    assert run.returncode == 0, run.output
    assert {h: without_counters(lab.read_host(h)) for h in lab.host_names()} == hosts_before
    assert lab.read_cluster("hvcl01") == cluster_before
    rows = node_rows(run)
    assert (rows["h1"]["cluster_status"], rows["h1"]["status"], rows["h1"]["updates_applicable"]) == ("scanned", "scanned", 2)
    assert rows["h2"]["updates_applicable"] == 0
    report = run.report("cau_report")
    assert report["check_mode"] is True and report["summary"]["updates_installed"] == 0
    assert lab.read_host("coord01")["round_trips"] == 2  # the second-hop check, then one Invoke-CauScan


@pytest.mark.parametrize(
    ("cluster_vars", "coordinator", "expected"),
    [
        pytest.param({"cau_plugins": [{"name": "Contoso.NopePlugin"}]}, "coord01",
                     "hvcl01.cau_plugins[0].name: unknown plug-in 'Contoso.NopePlugin'", id="unknown-plugin"),
        pytest.param({"cau_plugins": [{"name": "Microsoft.HotfixPlugin", "arguments": {"HotfixRootFolder": "\\\\fs\\h"}}]},
                     "coord01", "is not an argument of Microsoft.HotfixPlugin; valid arguments:", id="argument-not-listed"),
        pytest.param({"cau_plugins": [{"name": "Microsoft.WindowsUpdatePlugin",
                                       "arguments": {"QueryString": "IsInstalled=0 and Type='Driver"}}]},
                     "coord01", "unbalanced single quote", id="unbalanced-querystring"),
        pytest.param({"cau_plugins": [{"name": "Microsoft.WindowsUpdatePlugin",
                                       "arguments": {"query": {"update_ids": ["KB5031361"]}}}]},
                     "coord01", "query.update_ids[0]: expected a GUID", id="update-id-not-a-guid"),
        pytest.param({}, "h1", "hvcl01.cau_coordinator: h1 is a node of cluster hvcl01", id="coordinator-is-a-node"),
    ],
)
def test_bad_input_fails_before_any_host_round_trip(make_lab, tmp_path, cluster_vars, coordinator, expected):
    lab = make_lab({
        "hosts": {"coord01": {}, "h1": {"cau_updates": [software()]}, "h2": {}},
        "clusters": {"hvcl01": {"mode": "remote_updating", "nodes": ["h1", "h2"], "coordinator": coordinator,
                                "vars": cluster_vars}},
    })
    # Both playbooks plan first; checking cau_prepare once is enough to show it shares the guard.
    for playbook in ("update", "prepare") if coordinator == "h1" else ("update",):
        run = cau(lab, tmp_path, playbook)
        assert run.returncode != 0
        assert expected in run.output, run.output
        assert "Traceback" not in run.output
    assert {h: lab.read_host(h)["round_trips"] for h in lab.host_names()} == {"coord01": 0, "h1": 0, "h2": 0}


def test_coordinator_outage_mid_run_is_survived_by_reconnecting(make_lab, tmp_path):
    updates = {"cau_updates": [software(), software(KB_SOFTWARE_2)]}
    lab = make_lab({
        "lab": FAST_LAB,
        "hosts": {"coord01": {}, "h1": updates, "h2": updates, "h3": updates},
        "clusters": {"hvcl01": {"mode": "remote_updating", "nodes": ["h1", "h2", "h3"], "coordinator": "coord01",
                                # 1.5 s of outage at time_scale 0.001: several 0.05 s polls fail even on a busy machine
                                "coordinator_outage": {"after": 20, "duration": 1500}}},
    })
    run = cau(lab, tmp_path)
    assert run.returncode == 0, run.output
    assert lab.read_host("coord01")["failed_round_trips"] >= 2
    assert "coord01 is unreachable: simulated outage" in run.output  # the warning names the cause
    rows = node_rows(run)
    assert [rows[n]["updates_installed"] for n in ("h1", "h2", "h3")] == [2, 2, 2]


def test_cau_cmdlets_throwing_mid_run_are_retried_not_fatal(make_lab, tmp_path):
    """Get-CauRun / Get-CauReport throw while a node restarts: polled through until the run ends."""
    updates = {"cau_updates": [software(), software(KB_SOFTWARE_2)]}
    lab = make_lab({
        "lab": FAST_LAB,
        "hosts": {"coord01": {}, "h1": updates, "h2": updates, "h3": updates},
        "clusters": {"hvcl01": {"mode": "remote_updating", "nodes": ["h1", "h2", "h3"], "coordinator": "coord01",
                                "cmdlet_errors": {"after": 10, "duration": 200}}},
    })
    run = cau(lab, tmp_path)
    assert run.returncode == 0, run.output
    assert "The cluster service is not running" in run.output  # warned, then polled again
    rows = node_rows(run)
    assert [rows[n]["updates_installed"] for n in ("h1", "h2", "h3")] == [2, 2, 2]


def test_a_run_that_outlasts_the_timeout_is_reported_and_left_running(make_lab, tmp_path):
    lab = make_lab({
        "lab": {"time_scale": 0.2},
        "hosts": {"coord01": {}, "h1": {"cau_updates": [software()]}, "h2": {"cau_updates": [software()]}},
        "clusters": {"hvcl01": {"mode": "remote_updating", "nodes": ["h1", "h2"], "coordinator": "coord01"}},
    })
    run = cau(lab, tmp_path, cau_timeout=1, cau_poll_interval=0.3)
    assert run.returncode != 0
    assert "had not ended after 1 s" in run.output and "It was left running" in run.output
    rows = node_rows(run)
    assert rows["h1"]["cluster_status"] == "timed_out"
    assert lab.read_cluster("hvcl01")["active_run"] is not None


def test_plugins_missing_on_the_coordinator_and_a_locked_cluster_are_clear_failures(make_lab, tmp_path):
    lab = make_lab({
        "lab": FAST_LAB,
        "hosts": {"coord01": {}, "h1": {"cau_updates": [software()]}, "h2": {}, "l1": {"cau_updates": [software()]},
                  "l2": {}, "r1": {"cau_updates": [software()]}, "r2": {}},
        "clusters": {
            "unprepared": {"mode": "remote_updating", "nodes": ["h1", "h2"], "coordinator": "coord01",
                           "vars": {"cau_third_party_plugins": [CONTOSO],
                                    "cau_plugins": ["Microsoft.WindowsUpdatePlugin", "Contoso.FirmwarePlugin"]}},
            "locked": {"mode": "remote_updating", "nodes": ["l1", "l2"], "coordinator": "coord01", "locked": True},
            "recovered": {"mode": "remote_updating", "nodes": ["r1", "r2"], "coordinator": "coord01", "locked": True,
                          "vars": {"cau_force_recovery": True}},
        },
    })
    run = cau(lab, tmp_path, cau_continue_on_failure=True)
    assert run.returncode != 0
    rows = node_rows(run)
    assert "Contoso.FirmwarePlugin are not registered on coord01" in rows["h1"]["error"]
    assert "Nothing was started" in rows["h1"]["error"]
    assert installed(lab, "h1") == set()
    assert "already in progress on cluster locked" in rows["l1"]["error"] and "force_recovery" in rows["l1"]["error"]
    assert installed(lab, "l1") == set()
    assert rows["r1"]["status"] == "succeeded" and installed(lab, "r1") == {KB_SOFTWARE}
    assert lab.read_cluster("recovered")["locked"] is False


def test_a_limit_naming_a_cluster_group_updates_that_whole_cluster_and_one_splitting_it_is_refused(make_lab, tmp_path):
    """AWX job-template limits: --limit <cluster group> works; a limit that takes nodes out of a cluster is refused."""
    updates = {"cau_updates": [software()]}
    lab = make_lab({
        "lab": {"time_scale": 0.01},  # the run lasts ~2 s: several polls see it in progress
        "hosts": {"coord01": {}, "hv01": updates, "hv02": updates, "hv03": updates, "hv04": updates},
        "clusters": {"hvcl01": {"mode": "remote_updating", "nodes": ["hv01", "hv02"], "coordinator": "coord01"},
                     "hvcl02": {"mode": "remote_updating", "nodes": ["hv03", "hv04"], "coordinator": "coord01"}},
    })
    split = cau(lab, tmp_path, limit="hvcl01:!hv02")
    assert split.returncode != 0
    flat = " ".join(split.output.split())
    assert "--limit: 'hvcl01:!hv02' would split cluster hvcl01: hv01 in, hv02 out" in flat, split.output
    assert "use --limit hvcl01" in flat
    assert installed(lab, "hv01") == set()
    # the option check also runs under a limit (a play on localhost would be skipped by it)
    as_string = cau(lab, tmp_path, limit="hvcl01", cau_target_clusters="hvcl01")
    assert as_string.returncode != 0
    assert "cau_target_clusters: expected a list of cluster names such as [\"hvcl01\"], got" \
        in " ".join(as_string.output.split()), as_string.output
    assert installed(lab, "hv01") == set() and lab.read_host("coord01")["round_trips"] == 0

    limited = cau(lab, tmp_path, limit="hvcl02")
    assert limited.returncode == 0, limited.output
    assert "--limit hvcl02: updating whole cluster(s) hvcl02 (group hvcl02: nodes hv03, hv04, coordinator coord01; " \
           "play host hv03)" in " ".join(limited.output.split()), limited.output
    assert [installed(lab, h) for h in ("hv01", "hv02", "hv03", "hv04")] == [set(), set(), {KB_SOFTWARE}, {KB_SOFTWARE}]
    assert set(node_rows(limited)) == {"hv03", "hv04"}
    # progress at default verbosity while the run is followed: cluster, node, phase, counts, elapsed
    assert re.search(r"^CAU hvcl02: node hv0[34], .+; updates installed \d+, failed 0; elapsed \d+:\d\d:\d\d$",
                     limited.output, re.M), limited.output


def test_a_limit_naming_nodes_runs_their_whole_clusters_and_relaunch_on_failed_hosts_works(make_lab, tmp_path):
    """A node in the limit stands for its whole cluster; the recap names an inventory host per cluster, so the
    limit AWX builds from the failed hosts of the recap ("relaunch on failed hosts") runs the failed cluster again."""
    lab = make_lab({
        "lab": FAST_LAB,
        "hosts": {"coord01": {}, "hv01": {"cau_updates": [software()]},
                  "hv02": {"cau_updates": [software(KB_FAILS, fails=True)]},
                  "hv03": {"cau_updates": [software()]}, "hv04": {"cau_updates": [software()]}},
        "clusters": {"hvcl01": {"mode": "remote_updating", "nodes": ["hv01", "hv02"], "coordinator": "coord01",
                                "vars": {"cau_max_failed_nodes": 0, "cau_max_retries_per_node": 1}},
                     "hvcl02": {"mode": "remote_updating", "nodes": ["hv03", "hv04"], "coordinator": "coord01"}},
    })
    listed = run_playbook("winfleet.updates.cau_update", lab.root / "inventory.yml", tmp_path / "reports",
                          extra_args=["--list-hosts", "--limit", "hv04"])
    assert listed.returncode == 0, listed.output
    assert "Could not match supplied host pattern" not in listed.output, listed.output
    assert "Update the clusters in inventory order: each runs as one of its own hosts, its lead (the first node " \
           "inside --limit), chosen by the plan" in listed.output
    by_node = cau(lab, tmp_path, limit="hv04")
    assert by_node.returncode == 0, by_node.output
    flat = " ".join(by_node.output.split())
    assert "--limit hv04: updating whole cluster(s) hvcl02 (group hvcl02: nodes hv03, hv04, coordinator coord01; " \
           "play host hv04)" in flat, by_node.output
    assert [installed(lab, h) for h in ("hv01", "hv03", "hv04")] == [set(), {KB_SOFTWARE}, {KB_SOFTWARE}]
    assert set(recap(by_node.output)) == {"hv04"}
    assert "hv04 stands for cluster hvcl02 (nodes hv03, hv04): succeeded" in flat, by_node.output
    assert "Could not match supplied host pattern" not in by_node.output

    first = cau(lab, tmp_path, cau_continue_on_failure=True)
    assert first.returncode != 0
    failed_hosts = sorted(host for host, counters in recap(first.output).items() if counters["failed"])
    assert failed_hosts == ["hv01"], first.output  # an inventory host AWX can relaunch on
    assert "hv01 stands for cluster hvcl01 (nodes hv01, hv02): failed" in " ".join(first.output.split())
    with lab.host("hv02") as state:  # the operator fixes the node, then relaunches on the failed hosts
        for update in state["cau_updates"]:
            update["fails"] = False
    relaunch = cau(lab, tmp_path, limit=",".join(failed_hosts))
    assert relaunch.returncode == 0, relaunch.output
    assert "updating whole cluster(s) hvcl01" in relaunch.output
    assert set(node_rows(relaunch)) == {"hv01", "hv02"}
    assert installed(lab, "hv02") == {KB_FAILS}


def test_a_cau_update_killed_mid_run_is_followed_to_its_end_by_the_rerun(make_lab, tmp_path):
    """SIGKILL leaves the detached CAU run going on the coordinator: the re-run attaches to it (no second run,
    no "already in progress") and reports the nodes it updated."""
    updates = {"cau_updates": [software()]}
    lab = make_lab({
        "lab": {"time_scale": 0.15},  # the run lasts about half a minute: the re-run finds it still going
        "hosts": {"coord01": {}, "hv01": updates, "hv02": updates},
        "clusters": {"hvcl01": {"mode": "remote_updating", "nodes": ["hv01", "hv02"], "coordinator": "coord01"}},
    })
    variables = {"cau_report_dir": str(tmp_path / "reports"), "cau_poll_interval": POLL}
    command = [str(BIN_DIR / "ansible-playbook"), "-i", str(lab.root / "inventory.yml"), "winfleet.updates.cau_update",
               "-e", json.dumps(variables)]
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "PATH": f"{BIN_DIR}{os.pathsep}{os.environ.get('PATH', '')}"}
    with subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          start_new_session=True) as first:
        deadline = time.monotonic() + 60
        while lab.read_cluster("hvcl01").get("active_run") is None and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1)  # a few polls
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    cluster = lab.read_cluster("hvcl01")
    left_behind = cluster["active_run"]
    assert left_behind is not None and cluster["runs"][left_behind]["finish_at"] > time.time(), \
        "the first run must be killed while CAU is still running"

    rerun = cau(lab, tmp_path)
    assert rerun.returncode == 0, rerun.output
    assert f"CAU hvcl01: attached to run {left_behind}, which an earlier run of this collection started" \
        in rerun.output, rerun.output
    assert "already in progress" not in rerun.output
    rows = node_rows(rerun)
    assert [(rows[n]["status"], rows[n]["updates_installed"]) for n in ("hv01", "hv02")] == [("succeeded", 1)] * 2
    assert [e["event"] for e in cau_events(lab, "coord01")].count("cau_run_started") == 1
    assert installed(lab, "hv01") == installed(lab, "hv02") == {KB_SOFTWARE}


def test_a_coordinator_without_delegation_is_caught_before_cau_runs(make_lab, tmp_path):
    """The second hop: one cheap call from the coordinator to a node says what to set, nothing starts."""
    lab = make_lab({
        "lab": FAST_LAB,
        "hosts": {"coord01": {"cau_second_hop": False}, "hv01": {"cau_updates": [software()]}, "hv02": {}},
        "clusters": {"hvcl01": {"mode": "remote_updating", "nodes": ["hv01", "hv02"], "coordinator": "coord01"}},
    })
    run = cau(lab, tmp_path)
    assert run.returncode != 0
    flat = " ".join(run.output.split())
    assert "cannot reach node hv01 with the credentials of this connection (Access is denied. (0x80070005))" in flat, \
        run.output
    assert "ansible_psrp_negotiate_delegate: true" in flat
    assert installed(lab, "hv01") == set()
    assert not [e for e in cau_events(lab, "coord01") if e["event"] == "cau_run_started"]
    assert "second hop is not allowed" in node_rows(run)["hv01"]["error"]


def test_firmware_from_the_hotfix_root_goes_from_the_file_server_to_each_nodes_report_row(make_lab, tmp_path):
    """cau_hotfix_root -> cau_prepare -> cau_update: the lab's HotfixPlugin reads the root the role built."""
    firmware = tmp_path / "files" / "fw-1.2.exe"
    firmware.parent.mkdir()
    firmware.write_bytes(b"MZ firmware 1.2")
    root = "\\\\fs01\\CauHotfix"
    lab = make_lab({
        "lab": FAST_LAB,
        "hosts": {
            "fs01": {"file_server": {"folders": ["D:\\Data"], "cau_tools": {
                "config": hotfix_bases.PLAIN.decode(), "schema": hotfix_bases.schema().decode()}}},
            "coord01": {},
            "hv01": {},
            "hv02": {"cau_hotfix_exit_codes": {"fw-1.2.exe": 5}},
        },
        "clusters": {"hvcl01": {"mode": "remote_updating", "nodes": ["hv01", "hv02"], "coordinator": "coord01",
                                "vars": {"cau_plugins": [{"name": "Microsoft.HotfixPlugin",
                                                          "arguments": {"HotfixRootFolderPath": root}}]}}},
    })
    inventory = (lab.root / "inventory.yml").read_text(encoding="utf-8")
    assert "cau_file_servers:" in inventory  # make lab puts the fleet's file servers there
    hotfix = {
        "cau_hotfix_root_path": root,
        "cau_hotfix_share": {"name": "CauHotfix", "path": "D:\\CauHotfix", "encrypt_data": True},
        "cau_hotfix_nodes": ["hv01", "hv02"],
        "cau_hotfix_updates": [{"src": str(firmware), "rule": "FirmwareUpdate"}],
        "cau_hotfix_folder_rules": [{"name": "FirmwareUpdate", "always_reboot": True,
                                     "template": {"path": "$update$", "parameters": "/s /norestart"},
                                     "exit_conditions": {"success": [0]}}],
    }
    prepared = cau(lab, tmp_path, "prepare", **hotfix)
    assert prepared.returncode == 0, prepared.output
    assert "Could not match supplied host pattern" not in prepared.output

    updated = cau(lab, tmp_path, cau_max_failed_nodes=1)
    rows = node_rows(updated)
    assert rows["hv01"]["status"] == "succeeded", updated.output
    assert rows["hv01"]["updates"] == ["CAUHotfix_All\\FirmwareUpdate\\fw-1.2.exe [hotfix:CAUHotfix_All\\FirmwareUpdate\\fw-1.2.exe]"]
    assert rows["hv02"]["status"] == "failed"
    assert "fw-1.2.exe exited with code 5, which its rule does not list as success" in rows["hv02"]["error"]
