"""Configuration errors fail the play once, before any host is contacted, naming the user's variable.

Each case is a real ``ansible-playbook`` run against the simulated lab; the lab counts every round
trip, so "no host was contacted" is measured, not assumed. Every run here ends in the first play
(about 3 s each).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import REPO_ROOT, PlaybookRun, recap, run_playbook
from tests.simlab.state import Lab

OLD = {"drivers": {"viostor.sys": "62.77.104.58011", "netkvm.sys": "62.77.104.58011"}}
NEW = {"drivers": {"viostor.sys": "62.77.104.58017", "netkvm.sys": "62.77.104.58017"}}


def assert_refused_before_any_host(lab: Lab, run: PlaybookRun, expected: str) -> None:
    assert run.returncode != 0, run.output
    assert expected in run.output, run.output
    assert run.output.count("configuration problem") <= 2, "one failure (Ansible prints it as error and result)"
    for noise in ("Traceback", "Unexpected Exception", "argument_spec", "validate_argument_spec"):
        assert noise not in run.output, run.output
    assert {h: lab.read_host(h)["round_trips"] for h in lab.host_names()} == {h: 0 for h in lab.host_names()}
    # the only host in the recap is the controller's preflight play: no fleet host is marked failed
    assert set(recap(run.output)) == {"localhost"}, run.output


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "InstallVirtIo.ps1"
    path.write_text("# stand-in\n", encoding="utf-8")
    return path


ROLLOUT_CASES = [
    pytest.param({"virtio_script_src": None}, "virtio_script_src: virtio_source=script needs exactly one of", id="no-script"),
    pytest.param({"virtio_script_src": "/nonexistent/InstallVirtIo.ps1"}, "virtio_script_src: cannot find '/nonexistent/InstallVirtIo.ps1' on the controller", id="missing-script"),
    pytest.param({"virtio_script_src": None, "virtio_source": "package", "virtio_package_src": "/nonexistent/virtio.zip"},
                 "virtio_package_src: cannot find '/nonexistent/virtio.zip'", id="missing-package"),
    pytest.param({"virtio_required_capabilities": ["hot_plug"]}, "virtio_required_capabilities[0]: unknown capability 'hot_plug'", id="unknown-capability"),
    pytest.param({"virtio_required_capabilities": []}, "to only report the drivers", id="no-capability"),
    pytest.param({"virtio_thresholds": {"serial_query": -1}}, "virtio_thresholds.serial_query: expected a build number", id="bad-threshold"),
    pytest.param({"virtio_reboot_timeout": -1}, "virtio_reboot_timeout: expected a whole number of seconds greater than 0, got -1", id="reboot-timeout"),
    pytest.param({"virtio_serial": 0}, "virtio_serial: expected a number of hosts of at least 1", id="serial-0"),
    pytest.param({"virtio_serial": "abc"}, "virtio_serial: expected a number of hosts", id="serial-not-a-number"),
    pytest.param({"virtio_max_fail_percentage": 150}, "virtio_max_fail_percentage: expected a number at least 0 and at most 100", id="max-fail-150"),
    pytest.param({"virtio_max_fail_percentage": -50}, "virtio_max_fail_percentage: expected a number at least 0", id="max-fail-negative"),
    pytest.param({"virtio_poll_interval": 0}, "virtio_poll_interval: expected a number of seconds greater than 0", id="poll-0"),
    pytest.param({"virtio_snapshot_provider": "alicloud_ecs", "virtio_update_snapshot_retention": "forever"},
                 "virtio_update_snapshot_retention: expected one of keep, delete_after_verify", id="retention"),
    pytest.param({"virtio_update_snapshot_grace_minutes": -1}, "virtio_update_snapshot_grace_minutes: expected a whole number of minutes", id="grace"),
    pytest.param({"reboot_verify_method": "ipmi"}, "reboot_verify_method: expected one of winrm, ecs_api", id="reboot-method"),
    pytest.param({"virtio_snapshot_provider": "ebs"}, "virtio_snapshot_provider: expected one of none, alicloud_ecs, custom", id="snapshot-provider"),
    pytest.param({"virtio_source": "floppy"}, "virtio_source: expected one of script, package, cloud_assistant", id="unknown-source"),
    pytest.param({"virtio_antivirus_services": ["WinDefend"]}, "virtio_antivirus_services[0]: 'WinDefend' is part of the built-in", id="defender"),
    pytest.param({"virtio_hosts": "db*"}, "virtio_hosts: the host pattern 'db*' matches no host", id="no-host-matched"),
]


@pytest.mark.parametrize(("variables", "expected"), ROLLOUT_CASES)
def test_a_rollout_configuration_error_fails_once_before_any_host(make_lab, tmp_path, script, variables, expected):
    lab = make_lab({"hosts": {"a": OLD, "b": OLD}})
    extra: dict[str, Any] = {"virtio_source": "script", "virtio_script_src": str(script), **variables}
    extra = {key: value for key, value in extra.items() if value is not None}
    run = run_playbook("winfleet.updates.virtio_rollout", lab.root / "inventory.yml", tmp_path / "reports", extra)
    assert_refused_before_any_host(lab, run, expected)
    assert not (tmp_path / "reports" / "virtio_rollout.json").exists()


def test_extra_vars_given_as_strings_and_ansibles_serial_forms_are_accepted(make_lab, tmp_path, script):
    lab = make_lab({"hosts": {"a": NEW, "b": NEW, "c": NEW}})
    inventory = lab.root / "inventory.yml"
    # -e k=v gives strings: they are numbers to the preflight as to the play keywords
    run = run_playbook("winfleet.updates.virtio_rollout", inventory, tmp_path / "r1", None,
                       extra_args=["-e", f"virtio_script_src={script}", "-e", "virtio_serial=2",
                                   "-e", "virtio_max_fail_percentage=50", "-e", "virtio_reboot_timeout=30"])
    assert run.returncode == 0, run.output
    run = run_playbook("winfleet.updates.virtio_rollout", inventory, tmp_path / "r2",
                       {"virtio_script_src": str(script), "virtio_serial": ["34%", 2]})
    assert run.returncode == 0, run.output
    assert {row["status"] for row in run.rows("virtio_rollout").values()} == {"compliant"}


def test_with_a_limit_that_skips_the_first_play_the_options_are_still_checked_before_any_host(
    make_lab, tmp_path, script
):
    # --limit also applies to localhost, so the first play is skipped; the rollout play checks on
    # the controller instead (its hosts are then marked failed, but none is contacted)
    lab = make_lab({"hosts": {"a": OLD, "b": OLD}})
    run = run_playbook("winfleet.updates.virtio_rollout", lab.root / "inventory.yml", tmp_path / "reports",
                       {"virtio_script_src": str(script), "virtio_reboot_timeout": -1}, extra_args=["--limit", "a"])
    assert run.returncode != 0
    assert "virtio_reboot_timeout: expected a whole number of seconds greater than 0, got -1" in run.output, run.output
    assert [lab.read_host(h)["round_trips"] for h in ("a", "b")] == [0, 0]
    assert not (tmp_path / "reports" / "virtio_rollout.json").exists()


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        pytest.param({"virtio_required_capabilities": ["hot_plug"]}, "virtio_required_capabilities[0]: unknown capability", id="capability"),
        pytest.param({"virtio_audit_fail_on": ["broken"]}, "virtio_audit_fail_on[0]: expected one of", id="fail-on"),
        pytest.param({"virtio_hosts": "nothing-here"}, "virtio_hosts: the host pattern 'nothing-here' matches no host", id="no-host"),
    ],
)
def test_an_audit_configuration_error_fails_once_before_any_host(make_lab, tmp_path, variables, expected):
    lab = make_lab({"hosts": {"a": OLD}})
    run = run_playbook("winfleet.updates.virtio_audit", lab.root / "inventory.yml", tmp_path / "reports", variables)
    assert_refused_before_any_host(lab, run, expected)


def test_an_audit_in_which_no_host_answered_fails_after_writing_the_report(make_lab, tmp_path):
    lab = make_lab({"hosts": {"a": {"reachable": False}, "b": {"reachable": False}}})
    run = run_playbook("winfleet.updates.virtio_audit", lab.root / "inventory.yml", tmp_path / "reports")
    assert run.returncode != 0
    assert "No host of the audit could be probed (0 failed, 2 unreachable)" in run.output, run.output
    assert run.report("virtio_audit")["summary"]["by_status"]["unreachable"] == 2


def test_an_audit_in_which_every_probe_failed_fails_after_writing_the_report(make_lab, tmp_path):
    # reachable hosts whose driver version cannot be read: every probe fails, none is unreachable
    garbage = {"drivers": {"viostor.sys": "garbage", "netkvm.sys": "garbage"}}
    lab = make_lab({"hosts": {"a": garbage, "b": garbage}})
    run = run_playbook("winfleet.updates.virtio_audit", lab.root / "inventory.yml", tmp_path / "reports")
    assert run.returncode != 0
    assert "No host of the audit could be probed (2 failed, 0 unreachable)" in run.output, run.output
    assert run.report("virtio_audit")["summary"]["by_status"]["failed"] == 2


def test_audit_fail_on_fails_the_play_after_the_report_for_awx_workflows(make_lab, tmp_path):
    lab = make_lab({"hosts": {"a": OLD, "b": NEW}})
    inventory = lab.root / "inventory.yml"
    passing = run_playbook("winfleet.updates.virtio_audit", inventory, tmp_path / "r1",
                           {"virtio_audit_fail_on": ["failed", "unreachable"]})
    assert passing.returncode == 0, passing.output
    failing = run_playbook("winfleet.updates.virtio_audit", inventory, tmp_path / "r2",
                           {"virtio_audit_fail_on": ["update_needed"]})
    assert failing.returncode != 0
    assert "The audit found hosts with a status listed in virtio_audit_fail_on: update_needed=1." in failing.output
    assert failing.report("virtio_audit")["summary"]["total"] == 2


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        pytest.param({"cau_clusters_per_batch": 0}, "cau_clusters_per_batch: expected a number of hosts of at least 1", id="per-batch-0"),
        pytest.param({"cau_poll_interval": 0}, "cau_poll_interval: expected a number of seconds greater than 0", id="poll-0"),
        pytest.param({"cau_target_clusters": "hvcl01"}, "cau_target_clusters: expected a list of cluster names", id="string-targets"),
    ],
)
def test_a_cau_configuration_error_fails_once_before_any_host(make_lab, tmp_path, variables, expected):
    lab = make_lab({
        "hosts": {"coord01": {}, "h1": {}, "h2": {}},
        "clusters": {"hvcl01": {"mode": "remote_updating", "nodes": ["h1", "h2"], "coordinator": "coord01"}},
    })
    run = run_playbook("winfleet.updates.cau_update", lab.root / "inventory.yml", tmp_path / "reports",
                       {"cau_report_dir": str(tmp_path / "reports"), **variables})
    assert_refused_before_any_host(lab, run, expected)


def test_a_script_path_relative_to_where_ansible_playbook_runs_is_found(make_lab, tmp_path, script):
    # run_playbook runs from the repository root; the path is relative to it, as an operator's ./x.ps1
    lab = make_lab({"hosts": {"a": OLD}})
    relative = os.path.relpath(script, REPO_ROOT)
    assert not os.path.isabs(relative)
    run = run_playbook("winfleet.updates.virtio_rollout", lab.root / "inventory.yml", tmp_path / "reports",
                       {"virtio_script_src": relative}, check=True)
    assert run.returncode == 0, run.output
    # check mode writes the preview report, never the rollout's own
    assert run.rows("virtio_rollout_preview")["a"]["action"] == "install"


# --limit skips the controller's preflight play (it applies to localhost too); the play keywords are
# then the first thing Ansible evaluates, before any task of the fleet's play.
LIMIT_CASES = [
    pytest.param("winfleet.updates.virtio_rollout", {"virtio_hosts": "b"},
                 "virtio_hosts: the host pattern 'b' within --limit 'a' matches no host of the inventory", id="rollout-hosts"),
    pytest.param("winfleet.updates.virtio_rollout", {"virtio_waves": ["b"]},
                 "virtio_waves: the host pattern 'b' within --limit 'a' matches no host of the inventory", id="rollout-waves"),
    pytest.param("winfleet.updates.virtio_audit", {"virtio_hosts": "b"},
                 "virtio_hosts: the host pattern 'b' within --limit 'a' matches no host of the inventory", id="audit-hosts"),
    pytest.param("winfleet.updates.virtio_rollout", {"virtio_serial": "abc"},
                 "virtio_serial: expected a number of hosts of at least 1, a percentage such as '25%'", id="serial-not-a-number"),
    pytest.param("winfleet.updates.virtio_rollout", {"virtio_serial": "12.5%"},
                 "virtio_serial: expected a number of hosts of at least 1, a percentage such as '25%'", id="serial-decimal-percent"),
    pytest.param("winfleet.updates.virtio_rollout", {"virtio_serial": 0},
                 "virtio_serial: expected a number of hosts of at least 1", id="serial-0"),
]


@pytest.mark.parametrize(("playbook", "variables", "expected"), LIMIT_CASES)
def test_with_a_limit_that_skips_the_first_play_the_play_keywords_are_refused_before_any_host(
    make_lab, tmp_path, script, playbook, variables, expected
):
    lab = make_lab({"hosts": {"a": OLD, "b": OLD}})
    run = run_playbook(playbook, lab.root / "inventory.yml", tmp_path / "reports",
                       {"virtio_script_src": str(script), **variables}, extra_args=["--limit", "a"], timeout=120)
    assert run.returncode != 0, run.output
    assert expected in run.output, run.output
    for noise in ("Traceback", "Unexpected Exception", "no hosts matched\n\nPLAY RECAP"):
        assert noise not in run.output, run.output
    assert [lab.read_host(h)["round_trips"] for h in ("a", "b")] == [0, 0]
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").iterdir())
