"""Rows and summary of the CAU report (module_utils._cau_report): every node of every cluster."""

from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.winfleet.updates.plugins.module_utils._cau_report import cau_rows, cau_summary, cluster_status
from ansible_collections.winfleet.updates.plugins.module_utils._report import Report, render_csv, render_markdown
from ansible_collections.winfleet.updates.plugins.module_utils._report_kinds import REPORT_KINDS


def record(run: dict[str, Any] | None, nodes: tuple[str, ...] = ("n1", "n2"), cluster: str = "hvcl01") -> dict[str, Any]:
    return {"cluster": cluster, "mode": "remote_updating", "runner": "coord01", "nodes": list(nodes), "run": run}


FINISHED = {
    "changed": True, "status": "failed", "failed": True, "msg": "n2 failed",
    "nodes": [
        {"node": "n1", "status": "succeeded", "installed": [{"id": "g1", "title": "KB1"}], "failed": [], "reboots": 1, "error": None},
        {"node": "n2", "status": "failed", "installed": [], "failed": [{"id": "g2", "title": "KB2", "error": "0x80070005"}],
         "reboots": 0, "error": None},
    ],
}


@pytest.mark.parametrize(
    ("run", "expected"),
    [
        (None, ("not_run", "not run: the update stopped before this cluster (cau_continue_on_failure is false)")),
        ({"unreachable": True, "msg": "timed out"}, ("unreachable", "timed out")),
        ({"failed": True, "msg": "plug-in not registered"}, ("failed", "plug-in not registered")),
        ({"status": "timed_out", "failed": True, "msg": "left running"}, ("timed_out", "left running")),
        ({"status": "succeeded"}, ("succeeded", None)),
        ({"status": "scanned"}, ("scanned", None)),
        ({"changed": False}, ("succeeded", None)),
    ],
)
def test_cluster_status(run, expected):
    assert cluster_status(run) == expected


def test_a_finished_run_gives_one_row_per_node_with_updates_reboots_and_failures():
    rows = cau_rows("cau-cluster-hvcl01", record(FINISHED))
    assert [(r["node"], r["status"], r["updates_installed"], r["updates_failed"], r["reboots"]) for r in rows] == [
        ("n1", "succeeded", 1, 0, 1), ("n2", "failed", 0, 1, 0)]
    assert rows[0]["updates"] == ["KB1 [g1]"] and rows[1]["failures"] == ["KB2 [g2]: 0x80070005"]
    assert {r["cluster_status"] for r in rows} == {"failed"}
    assert rows[0]["error"] is None  # the cluster's failure is not n1's


@pytest.mark.parametrize("run", [None, {"unreachable": True, "msg": "coord01 unreachable"}, {"failed": True, "msg": "boom"}])
def test_a_cluster_without_node_data_still_lists_every_expected_node_with_the_reason(run):
    rows = cau_rows("cau-cluster-hvcl01", record(run))
    assert [(r["node"], r["status"]) for r in rows] == [("n1", "not_updated"), ("n2", "not_updated")]
    assert all(r["error"] for r in rows)


def test_a_scan_lists_the_applicable_updates():
    scan = {"status": "scanned", "nodes": [{"node": "n1", "status": "scanned", "applicable": [{"id": "g", "title": "KB"}]}]}
    rows = cau_rows("h", record(scan, nodes=("n1",)))
    assert (rows[0]["status"], rows[0]["updates_applicable"], rows[0]["updates"]) == ("scanned", 1, ["KB [g]"])


def test_summary_counts_clusters_nodes_and_updates():
    rows = cau_rows("a", record(FINISHED)) + cau_rows("b", record(None, ("m1",), "second"))
    summary = cau_summary(rows)
    assert (summary["clusters"], summary["nodes"], summary["updates_installed"], summary["updates_failed"], summary["reboots"]) == (
        2, 3, 1, 1, 1)
    assert summary["by_cluster_status"] == {"succeeded": 0, "failed": 1, "scanned": 0, "timed_out": 0, "unreachable": 0,
                                            "not_run": 1}
    assert summary["by_node_status"]["not_updated"] == 1
    assert summary["per_cluster"]["second"] == {"status": "not_run", "nodes": 1, "updates_installed": 0, "updates_failed": 0,
                                                "updates_applicable": 0, "reboots": 0, "error": rows[-1]["cluster_error"]}


def test_the_report_kind_renders_csv_and_markdown_from_the_same_rows():
    kind = REPORT_KINDS["cau_report"]
    rows = kind.rows("a", record(FINISHED))
    report = Report("cau_report", kind.title, kind.columns, rows, kind.summary(rows), "2026-01-01T00:00:00+00:00")
    assert render_csv(report).splitlines()[0].startswith("cluster,node,mode,runner,cluster_status,status")
    assert "| hvcl01 | n2 | remote_updating | coord01 | failed | failed |" in render_markdown(report)
    assert REPORT_KINDS["virtio_audit"].rows("h", None)[0]["status"] == "failed"  # one row per host there


def test_report_rows_match_inventory_fqdns_to_cau_short_names_and_keep_unknown():
    record = {"cluster": "c", "nodes": ["hv01.contoso.com", "hv02.contoso.com"],
              "run": {"status": "failed", "nodes": [
                  {"node": "HV01", "status": "unknown", "cau_status": "Paused", "error": "CAU reported status 'Paused'"},
                  {"node": "HV02", "status": "failed", "failed": [{"id": "u", "title": "Firmware", "error": "exit 5"}]},
              ]}}
    rows = cau_rows("c", record)
    assert [(r["node"], r["status"]) for r in rows] == [("HV01", "unknown"), ("HV02", "failed")]
    assert rows[1]["error"] == "Firmware [u]: exit 5"
