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
    batch_verdict,
    rollout_action,
    rollout_parameters,
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
        (record(check_mode=True), "would_update"),
        (record("reboot_pending", check_mode=True), "would_update"),
        (record(None, check_mode=True), "not_attempted"),
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
    row = rollout_row("web01", {**record(verify={"snapshots_deleted": ["s-1"]}), "rollout_id": "CHG-1",
                                "ecs_instance_id": "i-1", "region": "cn-hangzhou"})
    assert list(row) == list(ROLLOUT_COLUMNS)
    assert row == {
        "host": "web01",
        "status": "updated",
        "action": "install",
        "build_before": 58011,
        "build_after": 58017,
        "rebooted": True,
        "snapshot_ids": ["s-1"],
        "snapshots": [{"id": "s-1", "state": "deleted"}],
        "antivirus_paused": ["SAVService"],
        "steps": ["install", "reboot", "verify"],
        "started_at": "1970-01-01T00:01:40+00:00",
        "finished_at": "1970-01-01T00:01:52+00:00",
        "duration_s": 12.3,
        "ecs_instance_id": "i-1",
        "region": "cn-hangzhou",
        "error": None,
        "note": "why",
        "rollout_id": "CHG-1",
        "written_at": None,
    }


def test_snapshots_kept_by_retention_say_so():
    row = rollout_row("a", record(verify={"snapshots_kept": ["s-1"]}))
    assert row["snapshots"] == [{"id": "s-1", "state": "kept"}]


def test_check_mode_row_lists_the_steps_it_would_take():
    rec = record(check_mode=True, update={"snapshot_provider": "alicloud_ecs", "antivirus_services": ["SAVService"]})
    row = rollout_row("a", rec)
    assert row["status"] == "would_update"
    assert row["steps"] == ["snapshot (alicloud_ecs)", "pause antivirus (SAVService)", "install",
                            "resume antivirus", "reboot", "verify"]


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
    summary = rollout_summary(rows, {"batch": ["a", "b"], "max_fail_percentage": 0})
    assert summary["by_status"] == {
        "updated": 1,
        "compliant": 0,
        "unsupported": 0,
        "not_virtio": 0,
        "failed": 1,
        "unreachable": 0,
        "busy": 0,
        "not_attempted": 1,
        "would_update": 0,
    }
    assert (summary["stopped_early"], summary["stopped_after"], summary["needs_attention"]) == (
        True,
        "b",
        ["b"],
    )
    assert summary["rebooted"] == 1
    assert "stops after this batch" in summary["last_batch"]["message"]
    complete = rollout_summary([rollout_row("a", record(verify={})), rollout_row("b", record(error="x"))],
                               {"batch": ["a", "b"], "max_fail_percentage": 0})
    assert (complete["stopped_early"], complete["stopped_after"]) == (False, None)
    assert "the last one" in complete["last_batch"]["message"]


def test_a_tolerated_failure_does_not_say_the_rollout_stopped():
    rows = [rollout_row("a", record(verify={})), rollout_row("b", record(error="x")), rollout_row("c", None)]
    summary = rollout_summary(rows, {"batch": ["a", "b"], "max_fail_percentage": "50"})
    assert (summary["stopped_early"], summary["stopped_after"]) == (False, None)
    assert summary["last_batch"]["stops"] is False
    assert "goes on with the next batch" in summary["last_batch"]["message"]


@pytest.mark.parametrize(
    ("size", "failed", "limit", "stops"),
    [
        (2, 0, 0, False),
        (2, 1, 0, True),
        (2, 1, 50, False),   # 50 % is not above 50
        (3, 2, 50, True),
        (2, 2, 100, True),   # every host of the batch failed: Ansible stops whatever the limit
        (1, 1, None, True),
        (4, 1, None, False),  # without max_fail_percentage one failed host does not stop the play
        (4, 1, 24.9, True),
    ],
)
def test_batch_verdict_is_ansibles_rule(size, failed, limit, stops):
    batch = [f"h{n}" for n in range(size)]
    assert batch_verdict(batch, batch[:failed], limit)["stops"] is stops


@pytest.mark.parametrize(
    ("given", "typed"),
    [
        ({"serial": "2", "max_fail_percentage": "50"}, {"serial": 2, "max_fail_percentage": 50}),
        ({"serial": "25%", "max_fail_percentage": "12.5"}, {"serial": "25%", "max_fail_percentage": 12.5}),
        ({"serial": ["1", "50%"]}, {"serial": [1, "50%"]}),
        ({"serial": 3}, {"serial": 3}),
    ],
)
def test_parameters_are_typed(given, typed):
    assert rollout_parameters(given) == typed


def test_thresholds_in_the_report_are_the_ones_the_decision_used():
    assert rollout_parameters({"thresholds": {"serial_query": "58015"}})["thresholds"] == {
        "online_resize": 58011, "serial_query": 58015}


def test_csv_and_markdown_render_lists_and_blanks():
    rows = [rollout_row("a", record(verify={})), rollout_row("b", None)]
    report = Report(
        "virtio_rollout", "virtio driver rollout", ROLLOUT_COLUMNS, rows, rollout_summary(rows), "now"
    )
    lines = render_csv(report).splitlines()
    assert lines[0] == ",".join(ROLLOUT_COLUMNS)
    assert lines[1].startswith("a,updated,install,58011,58017,yes,s-1,s-1 kept,SAVService,install; reboot; verify,")
    assert "| b | not_attempted |  |  |  | no |" in render_markdown(report)


def test_thresholds_given_as_survey_text_are_read_too():
    assert rollout_parameters({"thresholds": "serial_query=58015"})["thresholds"] == {
        "online_resize": 58011, "serial_query": 58015}


def test_an_interrupted_row_names_every_cause_and_where_to_look_not_only_a_lost_controller():
    error = rollout_status({"in_progress": True})[1]
    assert error.startswith("interrupted: the rollout stopped before it recorded this host's outcome")
    assert "an included task file could not be loaded" in error
    assert "this report could not be written afterwards ('cannot write the report files')" in error
    assert "resumes where it stopped" in error


def test_row_of_a_host_an_interrupted_run_of_this_rollout_updated():
    # the decision read the host's run record: installed by this rollout, restarted since
    record = {"rollout_id": "CHG-1", "started": 1.0, "finished": 2.0, "update": {
        "decision": "updated", "build_before": 58011, "build_after": 58017,
        "decision_msg": "rollout CHG-1 updated this host: its install (run r1) from 62.77.104.58011 finished"}}
    row = rollout_row("a", record)
    assert (row["status"], row["action"], row["build_before"], row["build_after"], row["rebooted"]) == (
        "updated", "install", 58011, 58017, True)
    assert row["error"] is None and "rollout CHG-1 updated this host" in row["note"]
    assert rollout_status({**record, "check_mode": True}) == ("compliant", None)
