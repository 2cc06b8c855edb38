"""Every option of a shipped playbook is checked before any host, and named as the user wrote it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from ansible_collections.winfleet.updates.plugins.module_utils import _preflight
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError

SCRIPT = {"virtio_script_src": "InstallVirtIo.ps1"}


def problems(kind: str, values: dict[str, Any], names: dict[str, str] | None = None) -> list[str]:
    try:
        _preflight.validate(kind, values, names)
    except _preflight.PreflightError as err:
        return [str(problem) for problem in err.problems]
    return []


@pytest.mark.parametrize(
    "values",
    [
        SCRIPT,
        {**SCRIPT, "virtio_serial": 3, "virtio_max_fail_percentage": 0},
        {**SCRIPT, "virtio_serial": "2", "virtio_max_fail_percentage": "50"},  # -e k=v gives strings
        {**SCRIPT, "virtio_serial": "25%"},
        {**SCRIPT, "virtio_serial": [1, "25%", "3"]},
        {**SCRIPT, "virtio_max_fail_percentage": 100, "virtio_reboot_timeout": "1800"},
        {"virtio_source": "cloud_assistant", "virtio_snapshot_provider": "alicloud_ecs"},
        {"virtio_source": "cloud_assistant_api", "reboot_verify_method": "ecs_api"},
        {"virtio_source": "package", "virtio_package_src": "/srv/virtio.zip"},
        {"virtio_script_url": "https://example.com/InstallVirtIo.ps1", "virtio_script_checksum": "a" * 64},
        {**SCRIPT, "virtio_required_capabilities": ["online_resize"], "virtio_thresholds": {"serial_query": 58015}},
        {**SCRIPT, "virtio_antivirus_services": ["SAVService"], "virtio_poll_interval": 0.5},
        {**SCRIPT, "virtio_update_snapshot_retention": "delete_after_verify", "virtio_update_snapshot_grace_minutes": 0},
        {**SCRIPT, "virtio_rollout_id": "CHG0012345", "some_other_variable": object()},
    ],
)
def test_valid_rollout_options_pass(values):
    assert problems("virtio_rollout", values) == []


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, "virtio_script_src: virtio_source=script needs exactly one of virtio_script_src"),
        ({**SCRIPT, "virtio_serial": 0}, "virtio_serial: expected a number of hosts of at least 1"),
        ({**SCRIPT, "virtio_serial": -2}, "virtio_serial: expected a number of hosts of at least 1"),
        ({**SCRIPT, "virtio_serial": "two"}, "virtio_serial: expected a number of hosts"),
        ({**SCRIPT, "virtio_serial": "0%"}, "virtio_serial: expected a percentage greater than 0%"),
        ({**SCRIPT, "virtio_serial": [2, 0]}, "virtio_serial[1]: expected a number of hosts"),
        ({**SCRIPT, "virtio_serial": []}, "virtio_serial: expected at least one batch size"),
        ({**SCRIPT, "virtio_serial": True}, "virtio_serial: expected a number of hosts"),
        ({**SCRIPT, "virtio_max_fail_percentage": 150}, "virtio_max_fail_percentage: expected a number at least 0 and at most 100"),
        ({**SCRIPT, "virtio_max_fail_percentage": -50}, "virtio_max_fail_percentage: expected a number at least 0"),
        ({**SCRIPT, "virtio_max_fail_percentage": "lots"}, "virtio_max_fail_percentage: expected a number"),
        ({**SCRIPT, "virtio_reboot_timeout": -1}, "virtio_reboot_timeout: expected a whole number of seconds greater than 0"),
        ({**SCRIPT, "virtio_reboot_timeout": 0}, "virtio_reboot_timeout: expected a whole number of seconds greater than 0"),
        ({**SCRIPT, "virtio_poll_interval": 0}, "virtio_poll_interval: expected a number of seconds greater than 0"),
        ({**SCRIPT, "virtio_install_timeout": 10, "virtio_poll_interval": 20}, "virtio_poll_interval: must not exceed virtio_install_timeout"),
        ({**SCRIPT, "virtio_required_capabilities": []}, "run the audit (winfleet.updates.virtio_audit) to only report"),
        ({**SCRIPT, "virtio_required_capabilities": ["hot_plug"]}, "virtio_required_capabilities[0]: unknown capability 'hot_plug'"),
        ({**SCRIPT, "virtio_required_capabilities": "online_resize"}, "virtio_required_capabilities: expected a list"),
        ({**SCRIPT, "virtio_thresholds": {"serial_query": 0}}, "virtio_thresholds.serial_query: expected a build number"),
        ({**SCRIPT, "virtio_thresholds": {"hot_plug": 1}}, "virtio_thresholds.hot_plug: unknown capability"),
        ({"virtio_source": "floppy"}, "virtio_source: expected one of script, package, cloud_assistant, cloud_assistant_api"),
        ({"virtio_source": "package"}, "virtio_package_src: virtio_source=package needs virtio_package_src"),
        ({**SCRIPT, "virtio_package_src": "x.zip"}, "virtio_package_src: is only used with virtio_source=package"),
        ({**SCRIPT, "virtio_script_checksum": "abc"}, "virtio_script_checksum: expected a SHA-256 digest"),
        ({**SCRIPT, "virtio_antivirus_services": ["WinDefend"]}, "virtio_antivirus_services[0]: 'WinDefend' is part of the built-in"),
        ({**SCRIPT, "virtio_antivirus_services": "SAVService"}, "virtio_antivirus_services: expected a list of Windows service names"),
        ({**SCRIPT, "virtio_snapshot_provider": "ebs"}, "virtio_snapshot_provider: expected one of none, alicloud_ecs, custom"),
        ({**SCRIPT, "virtio_snapshot_provider": "custom"}, "snapshot_custom_tasks: virtio_snapshot_provider=custom needs"),
        ({**SCRIPT, "snapshot_timeout": 0}, "snapshot_timeout: expected a number of seconds greater than 0"),
        ({**SCRIPT, "snapshot_disk_scope": "data"}, "snapshot_disk_scope: expected one of all, system"),
        ({**SCRIPT, "snapshot_rollout_id": "x" * 129}, "snapshot_rollout_id: must be at most 128 characters"),
        ({**SCRIPT, "virtio_update_snapshot_retention": "forever"}, "virtio_update_snapshot_retention: expected one of keep"),
        ({**SCRIPT, "virtio_update_snapshot_grace_minutes": -5}, "virtio_update_snapshot_grace_minutes: expected a whole number of minutes at least 0"),
        ({**SCRIPT, "reboot_verify_method": "ipmi"}, "reboot_verify_method: expected one of winrm, ecs_api"),
        ({**SCRIPT, "virtio_rollout_id": "CHG1\nCHG2"}, "virtio_rollout_id: must not contain control characters"),
        ({**SCRIPT, "virtio_report_dir": ""}, "virtio_report_dir: expected a string, got an empty string"),
        ({"virtio_script_src": "Install\x00.ps1"}, "virtio_script_src: must not contain control characters"),
    ],
)
def test_each_bad_rollout_option_is_named_by_the_users_variable(values, expected):
    found = problems("virtio_rollout", values)
    assert any(expected in problem for problem in found), found


def test_every_problem_is_reported_at_once():
    found = problems("virtio_rollout", {"virtio_serial": 0, "virtio_reboot_timeout": -1, "virtio_max_fail_percentage": 150})
    assert [problem.split(":")[0] for problem in found] == [
        "virtio_script_src",
        "virtio_reboot_timeout",
        "virtio_serial",
        "virtio_max_fail_percentage",
    ]


def test_names_show_a_variable_under_the_callers_name():
    found = problems("virtio_rollout", {**SCRIPT, "virtio_serial": 0}, {"virtio_serial": "virtio_rollout_serial"})
    assert found and found[0].startswith("virtio_rollout_serial: ")


def test_a_secret_in_a_bad_script_url_is_not_repeated():
    found = problems("virtio_rollout", {"virtio_script_url": "ftp://user:hunter2@example.com/x.ps1?sig=s3cr3t"})
    assert found and all("hunter2" not in problem and "s3cr3t" not in problem for problem in found), found


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"virtio_required_capabilities": []}, None),  # the audit may only report
        ({"virtio_audit_fail_on": ["failed", "update_needed"]}, None),
        ({"virtio_audit_fail_on": ["broken"]}, "virtio_audit_fail_on[0]: expected one of unreachable, failed, compliant"),
        ({"virtio_audit_fail_on": "failed"}, "virtio_audit_fail_on: expected a list of statuses"),
        ({"virtio_required_capabilities": ["hot_plug"]}, "virtio_required_capabilities[0]: unknown capability"),
    ],
)
def test_audit_options(values, expected):
    found = problems("virtio_audit", values)
    assert (found == []) if expected is None else any(expected in p for p in found), found


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"cau_clusters_per_batch": 2, "cau_poll_interval": 15, "cau_target_clusters": ["hvcl01"]}, None),
        ({"cau_clusters_per_batch": 0}, "cau_clusters_per_batch: expected a number of hosts of at least 1"),
        ({"cau_poll_interval": 0}, "cau_poll_interval: expected a number of seconds greater than 0"),
        ({"cau_timeout": -1}, "cau_timeout: expected a whole number of seconds greater than 0"),
        ({"cau_target_clusters": "hvcl01"}, "cau_target_clusters: expected a list of cluster names"),
        ({"cau_target_clusters": ["hvcl01\n"]}, "cau_target_clusters[0]: must not contain control characters"),
        ({"cau_continue_on_failure": "maybe"}, "cau_continue_on_failure: expected true or false"),
    ],
)
def test_cau_update_options(values, expected):
    found = problems("cau_update", values)
    assert (found == []) if expected is None else any(expected in p for p in found), found


def test_an_unknown_kind_is_refused():
    with pytest.raises(InputError, match="kind: expected one of virtio_rollout"):
        _preflight.validate("virtio_dance", {})


@pytest.mark.parametrize(("limit", "where"), [(None, ""), ("web*", " within --limit 'web*'")])
def test_a_pattern_that_matches_no_host_is_an_error(limit, where):
    with pytest.raises(InputError, match=re.escape(f"virtio_hosts: the host pattern 'db'{where} matches no host")):
        _preflight.hosts_matched("virtio_rollout", "db", [], limit)
    assert _preflight.hosts_matched("virtio_rollout", "db", ["db1"], limit) == ["db1"]
