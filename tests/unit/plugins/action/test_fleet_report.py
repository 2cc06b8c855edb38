"""How a run's report folds into the existing one (the action plugin's merge, called under the lock)."""

from __future__ import annotations

from ansible_collections.winfleet.updates.plugins.action.fleet_report import _merged
from ansible_collections.winfleet.updates.plugins.module_utils._report import Report
from ansible_collections.winfleet.updates.plugins.module_utils._report_kinds import REPORT_KINDS
from ansible_collections.winfleet.updates.plugins.module_utils._rollout_report import rollout_row

KIND = REPORT_KINDS["virtio_rollout"]


def _record(error=None):
    return {"rollout_id": "CHG-1", "started": 100.0, "finished": 110.0, "error": error,
            "update": {"decision": "install"}, "verify": {"verified": True, "rebooted": True}}


def _run(rows, rollout_id="CHG-1", now="2026-01-01T00:10:00+00:00"):
    extra = {"rollout_id": rollout_id, "started_at": now, "check_mode": False, "max_fail_percentage": 0}
    return Report("virtio_rollout", "t", KIND.columns, rows, {}, now, extra)


def test_rows_of_hosts_this_run_did_not_reach_are_kept():
    old = _merged(KIND, _run([rollout_row("a", _record()), rollout_row("b", _record("boom"))]), None, {"batch": ["a", "b"]})
    old_dict = old.as_dict()
    new = _run([rollout_row("b", _record())], now="2026-01-01T01:00:00+00:00")
    merged = _merged(KIND, new, old_dict, {"batch": ["b"], "max_fail_percentage": 0})
    rows = {row["host"]: row for row in merged.rows}
    assert (rows["a"]["status"], rows["b"]["status"]) == ("updated", "updated")
    assert rows["a"]["written_at"] == "2026-01-01T00:10:00+00:00"
    assert rows["b"]["written_at"] == "2026-01-01T01:00:00+00:00"
    assert merged.summary["by_status"]["updated"] == 2 and len(merged.extra["runs"]) == 2


def test_a_host_this_run_never_reached_keeps_the_earlier_result():
    old = _merged(KIND, _run([rollout_row("a", _record())]), None, {}).as_dict()
    new = _run([rollout_row("z", _record("boom")), rollout_row("a", None)], now="2026-01-01T01:00:00+00:00")
    rows = {row["host"]: row for row in _merged(KIND, new, old, {"batch": ["z"]}).rows}
    assert rows["a"]["status"] == "updated" and rows["z"]["status"] == "failed"


def test_another_rollout_id_replaces_the_report():
    old = _merged(KIND, _run([rollout_row("a", _record())]), None, {}).as_dict()
    merged = _merged(KIND, _run([rollout_row("b", _record())], rollout_id="CHG-2"), old, {})
    assert [row["host"] for row in merged.rows] == ["b"] and len(merged.extra["runs"]) == 1
