"""The audit playbook end to end on simulated fleets: the report is right for every case."""

from __future__ import annotations

import csv
from pathlib import Path

from tests.integration.conftest import run_playbook
from tests.simlab.build_lab import build_lab

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_FLEET = REPO_ROOT / "tests" / "simlab" / "fleets" / "demo.yml"


def test_demo_fleet_report_is_right_for_every_case(tmp_path):
    lab = build_lab(DEMO_FLEET, tmp_path / "lab")
    run = run_playbook("winfleet.updates.virtio_audit", lab.root / "inventory.yml", tmp_path / "reports")
    assert run.returncode == 0, run.output
    rows = run.rows("virtio_audit")
    assert list(rows) == ["web01", "web02", "db01", "app01", "bare01", "legacy01", "lost01", "odd01"]

    # dots: online resize yes (58011), serial query no (< 58017)
    assert rows["web01"]["status"] == "ok"
    assert rows["web01"]["virtio_build"] == 58011
    assert rows["web01"]["capabilities"] == {"online_resize": True, "serial_query": False}
    assert rows["web01"]["update_needed"] is True
    # commas with spaces
    assert rows["web02"]["virtio_build"] == 58016
    assert rows["web02"]["file_version"] == "62, 77, 104, 58016"
    assert rows["web02"]["state"] == "update_needed"
    # trailing "(built by: ...)" text
    assert rows["db01"]["virtio_build"] == 58101
    assert rows["db01"]["capabilities"] == {"online_resize": True, "serial_query": True}
    assert rows["db01"]["state"] == "compliant"
    # numeric FileVersionInfo parts win over an odd string
    assert rows["app01"]["virtio_build"] == 57000
    # no virtio files: a distinct answer, not an error
    assert rows["bare01"]["is_virtio_guest"] is False
    assert rows["bare01"]["state"] == "not_virtio"
    assert rows["bare01"]["update_needed"] is False
    # NT 5.2: too old to update
    assert rows["legacy01"]["update_supported"] is False
    assert rows["legacy01"]["state"] == "unsupported"
    # unreachable hosts are reported, not dropped
    assert rows["lost01"]["status"] == "unreachable"
    assert "unreachable" in rows["lost01"]["error"]
    # an unreadable version is a named failure for that host only
    assert rows["odd01"]["status"] == "failed"
    assert "viostor.sys.file_version" in rows["odd01"]["error"]
    assert "v58011-beta" in rows["odd01"]["error"]

    summary = run.report("virtio_audit")["summary"]
    assert summary["total"] == 8
    assert summary["by_status"] == {"ok": 6, "unreachable": 1, "failed": 1}
    assert summary["by_state"] == {"compliant": 1, "update_needed": 3, "unsupported": 1, "not_virtio": 1, "unknown": 2}

    with open(tmp_path / "reports" / "virtio_audit.csv", newline="", encoding="utf-8") as stream:
        csv_rows = list(csv.DictReader(stream))
    assert [r["host"] for r in csv_rows] == list(rows)
    assert csv_rows[0]["capabilities.serial_query"] == "no"
    markdown = (tmp_path / "reports" / "virtio_audit.md").read_text(encoding="utf-8")
    assert "| lost01 | unreachable |" in markdown


def test_each_host_costs_exactly_one_round_trip(make_lab, tmp_path):
    lab = make_lab({"hosts": {f"h{i}": {"drivers": {"viostor.sys": "62.77.104.58017"}} for i in range(5)}})
    run = run_playbook("winfleet.updates.virtio_audit", lab.root / "inventory.yml", tmp_path / "reports")
    assert run.returncode == 0, run.output
    assert [lab.read_host(h)["round_trips"] for h in lab.host_names()] == [1] * 5
    assert run.report("virtio_audit")["summary"]["by_state"]["compliant"] == 5


def test_required_capabilities_and_threshold_override_change_what_needed_means(make_lab, tmp_path):
    lab = make_lab({"hosts": {"a": {"drivers": {"viostor.sys": "62.77.104.58015"}}}})
    inventory = lab.root / "inventory.yml"
    only_resize = run_playbook("winfleet.updates.virtio_audit", inventory, tmp_path / "r1",
                               {"virtio_required_capabilities": ["online_resize"]})
    assert only_resize.rows("virtio_audit")["a"]["update_needed"] is False
    both = run_playbook("winfleet.updates.virtio_audit", inventory, tmp_path / "r2")
    assert both.rows("virtio_audit")["a"]["update_needed"] is True
    english_docs = run_playbook("winfleet.updates.virtio_audit", inventory, tmp_path / "r3",
                                {"virtio_thresholds": {"serial_query": 58015}})
    assert english_docs.rows("virtio_audit")["a"]["capabilities"]["serial_query"] is True


def test_unknown_capability_fails_with_the_valid_choices(make_lab, tmp_path):
    lab = make_lab({"hosts": {"a": {"drivers": {"viostor.sys": "62.77.104.58017"}}}})
    run = run_playbook("winfleet.updates.virtio_audit", lab.root / "inventory.yml", tmp_path / "r",
                       {"virtio_required_capabilities": ["hot_plug"]})
    assert run.returncode != 0
    assert "virtio_required_capabilities[0]: unknown capability 'hot_plug'" in run.output
    assert "online_resize" in run.output and "serial_query" in run.output
    assert lab.read_host("a")["round_trips"] == 0


def test_check_mode_changes_nothing_and_still_reports(make_lab, tmp_path):
    lab = make_lab({"hosts": {"a": {"drivers": {"viostor.sys": "62.77.104.58011"}}}})
    before = lab.read_host("a")
    run = run_playbook("winfleet.updates.virtio_audit", lab.root / "inventory.yml", tmp_path / "r", check=True)
    assert run.returncode == 0, run.output
    after = lab.read_host("a")
    assert {k: v for k, v in after.items() if k != "round_trips"} == {k: v for k, v in before.items() if k != "round_trips"}
    report = run.report("virtio_audit")
    assert report["check_mode"] is True
    assert report["hosts"][0]["virtio_build"] == 58011


def test_a_host_below_powershell_5_1_is_unsupported_with_the_reason_not_failed(make_lab, tmp_path):
    """ansible-core 2.19's bootstrap wrapper refuses every module below Windows PowerShell 5.1."""
    lab = make_lab({"hosts": {
        "old": {"os_version": "6.3.9600", "powershell_version": "4.0", "drivers": {"viostor.sys": "62.77.104.58011"}},
        "new": {"os_version": "6.3.9600", "powershell_version": "5.1", "drivers": {"viostor.sys": "62.77.104.58017"}},
    }})
    run = run_playbook("winfleet.updates.virtio_audit", lab.root / "inventory.yml", tmp_path / "reports")
    assert run.returncode == 0, run.output
    rows = run.rows("virtio_audit")
    assert (rows["old"]["status"], rows["old"]["state"], rows["old"]["error"]) == ("ok", "unsupported", None)
    assert "older than 5.1" in rows["old"]["unsupported_reason"] and "WMF 5.1" in rows["old"]["unsupported_reason"]
    assert (rows["new"]["status"], rows["new"]["state"]) == ("ok", "compliant")
    assert run.report("virtio_audit")["summary"]["by_status"]["failed"] == 0


def test_the_audit_shows_the_cloud_assistant_agent_and_merges_limited_runs(tmp_path):
    fleet = tmp_path / "fleet.yml"
    fleet.write_text(
        "hosts:\n"
        "  a: {drivers: {viostor.sys: '62.77.104.58011'}}\n"
        "  b: {drivers: {viostor.sys: '62.77.104.58011'}, cloud_assistant: false}\n",
        encoding="utf-8",
    )
    lab = build_lab(fleet, tmp_path / "lab")
    first = run_playbook("winfleet.updates.virtio_audit", lab.root / "inventory.yml", tmp_path / "reports",
                         extra_args=["--limit", "a"])
    assert first.returncode == 0, first.output
    written_a = first.rows("virtio_audit")["a"]["written_at"]
    second = run_playbook("winfleet.updates.virtio_audit", lab.root / "inventory.yml", tmp_path / "reports",
                          extra_args=["--limit", "b"])
    assert second.returncode == 0, second.output
    rows = second.rows("virtio_audit")
    # the run limited to b kept a's row (and its time) instead of overwriting the report
    assert list(rows) == ["a", "b"] and rows["a"]["written_at"] == written_a
    assert (rows["a"]["cloud_assistant_agent"], rows["b"]["cloud_assistant_agent"]) == (True, False)
    report = second.report("virtio_audit")
    assert report["summary"]["total"] == 2 and report["summary"]["cloud_assistant_agent"] == 1
    assert report["check_mode"] is False and report["thresholds"] == {"online_resize": 58011, "serial_query": 58017}


def test_the_role_options_are_checked_once_for_the_play_not_once_per_host(tmp_path):
    """Ansible's argument check of a role's main entry point runs on every host, each time in a
    forked controller worker (half of a 1,000-host audit's per-host tasks: docs/performance.md).
    The playbook checks the role's options once, then runs the role's tasks on every host."""
    import json  # pylint: disable=import-outside-toplevel

    fleet = tmp_path / "fleet.yml"
    fleet.write_text("hosts:\n" + "".join(f"  h{i}: {{drivers: {{viostor.sys: '62.77.104.58011'}}}}\n" for i in range(4)),
                     encoding="utf-8")
    lab = build_lab(fleet, tmp_path / "lab")
    run = run_playbook("winfleet.updates.virtio_audit", lab.root / "inventory.yml", tmp_path / "reports",
                       env={"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"})
    assert run.returncode == 0, run.output
    tasks = [task for play in json.loads(run.stdout)["plays"] for task in play["tasks"]]
    checks = [task for task in tasks if "Validating arguments against arg spec" in task["task"]["name"]]
    probes = [task for task in tasks if task["task"]["name"].endswith("Read the driver version and the capabilities it allows")]
    assert [len(task["hosts"]) for task in checks] == [1], [task["task"]["name"] for task in checks]
    assert [sorted(task["hosts"]) for task in probes] == [["h0", "h1", "h2", "h3"]]
    assert len(run.rows("virtio_audit")) == 4
