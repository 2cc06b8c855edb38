"""The one word per host a change manager acts on, from the rollout's per-host record."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.winfleet.updates.plugins.module_utils._report import (
    Report,
    render_csv,
    render_markdown,
)
from ansible_collections.winfleet.updates.plugins.module_utils._rollout_report import (
    ROLLOUT_COLUMNS,
    rollout_action,
    rollout_row,
    rollout_status,
    rollout_summary,
)


def record(
    decision: str | None = "install",
    error: str | None = None,
    check_mode: bool = False,
    update: dict[str, Any] | None = None,
    verify: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "started": 100.0,
        "finished": 112.34,
        "check_mode": check_mode,
        "error": error,
        "update": {
            "decision": decision,
            "decision_msg": "why",
            "build_before": 58011,
            "snapshot_ids": ["s-1"],
            "antivirus_paused": ["SAVService"],
            "reboot_required": True,
            "unreachable": False,
            **(update or {}),
        },
        "verify": None
        if verify is None
        else {"rebooted": True, "build_after": 58017, "verified": True, "unreachable": False, **verify},
    }


@pytest.mark.parametrize(
    ("rec", "status"),
    [
        (None, "not_attempted"),
        ({"in_progress": True}, "failed"),
        (record(verify={}), "updated"),
        (record("attach", verify={}), "updated"),
        (record("reboot_pending", verify={}), "updated"),
        (record("compliant"), "compliant"),
        (record("unsupported"), "unsupported"),
        (record("not_virtio"), "not_virtio"),
        (record(error="the installer exited with code 1603"), "failed"),
        (record(error="verification failed", verify={"verified": False, "build_after": 58012}), "failed"),
        (record(error="x is unreachable", update={"unreachable": True}), "unreachable"),
        (record(error="did not come back", verify={"unreachable": True}), "unreachable"),
        (record(update={"unreachable": True}), "unreachable"),
        (record(check_mode=True), "not_attempted"),
        (record("compliant", check_mode=True), "compliant"),
        # an error on a compliant host (the antivirus of an interrupted run could not be restarted)
        (record("compliant", error="Cannot restart the antivirus service"), "failed"),
        # a record that never got a verification is not an update, whatever else it says
        (record(), "failed"),
        (record(verify={"verified": None}), "failed"),
        (record(None, error="Validating arguments against arg spec"), "failed"),
        # another run holds the host's virtio lock
        (record("busy", error="a is busy: run x (rollout CHG-A, controller c) holds this host's virtio lock"), "busy"),
    ],
)
def test_rollout_status(rec, status):
    assert rollout_status(rec)[0] == status


def test_errors_are_carried_and_explained():
    assert rollout_status(record(error="boom"))[1] == "boom"
    assert rollout_status({"in_progress": True})[1].startswith("interrupted")
    assert "did not record a verified update" in rollout_status(record())[1]
    assert rollout_status(None) == ("not_attempted", None)


@pytest.mark.parametrize(
    ("decision", "action"),
    [
        ("install", "install"),
        ("attach", "install"),
        ("reboot_pending", "reboot"),
        ("compliant", "none"),
        ("unsupported", "none"),
        ("not_virtio", "none"),
        (None, None),
    ],
)
def test_rollout_action(decision, action):
    assert rollout_action(decision) == action


def test_row_of_an_updated_host():
    row = rollout_row("web01", record(verify={}))
    assert list(row) == list(ROLLOUT_COLUMNS)
    assert row == {
        "host": "web01",
        "status": "updated",
        "action": "install",
        "build_before": 58011,
        "build_after": 58017,
        "rebooted": True,
        "snapshot_ids": ["s-1"],
        "antivirus_paused": ["SAVService"],
        "duration_s": 12.3,
        "error": None,
        "note": "why",
    }


@pytest.mark.parametrize("decision", ["compliant", "unsupported"])
def test_row_of_an_untouched_host_keeps_its_build(decision):
    row = rollout_row("a", record(decision, update={"snapshot_ids": [], "antivirus_paused": []}))
    assert (row["build_after"], row["rebooted"], row["action"]) == (58011, False, "none")


def test_row_of_a_host_never_reached():
    row = rollout_row("z", None)
    assert row["status"] == "not_attempted" and row["duration_s"] is None and row["snapshot_ids"] == []
    assert row["note"] == "the rollout stopped before this host's batch"


def test_row_in_check_mode_says_what_would_happen():
    row = rollout_row("a", record(check_mode=True, update={"decision_msg": "build 58011 lacks serial_query"}))
    assert row["note"] == "check mode, nothing changed: would install (build 58011 lacks serial_query)"


def test_summary_says_where_the_rollout_stopped():
    rows = [rollout_row("a", record(verify={})), rollout_row("b", record(error="x")), rollout_row("c", None)]
    summary = rollout_summary(rows)
    assert summary["by_status"] == {
        "updated": 1,
        "compliant": 0,
        "unsupported": 0,
        "not_virtio": 0,
        "failed": 1,
        "unreachable": 0,
        "busy": 0,
        "not_attempted": 1,
    }
    assert (summary["stopped_early"], summary["stopped_after"], summary["needs_attention"]) == (
        True,
        "b",
        ["b"],
    )
    assert summary["rebooted"] == 1
    complete = rollout_summary([rollout_row("a", record(verify={})), rollout_row("b", record(error="x"))])
    assert (complete["stopped_early"], complete["stopped_after"]) == (False, None)


def test_csv_and_markdown_render_lists_and_blanks():
    rows = [rollout_row("a", record(verify={})), rollout_row("b", None)]
    report = Report(
        "virtio_rollout", "virtio driver rollout", ROLLOUT_COLUMNS, rows, rollout_summary(rows), "now"
    )
    lines = render_csv(report).splitlines()
    assert lines[0] == ",".join(ROLLOUT_COLUMNS)
    assert lines[1].startswith("a,updated,install,58011,58017,yes,s-1,SAVService,12.3,,why")
    assert "| b | not_attempted |  |  |  | no |" in render_markdown(report)
