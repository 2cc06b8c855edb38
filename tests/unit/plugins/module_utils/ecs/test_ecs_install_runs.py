"""An interrupted ECS API install found again: Cloud Assistant's record as the WinRM path's last run, then decide()."""

from __future__ import annotations

import pytest

from ansible_collections.winfleet.updates.plugins.module_utils._ecs_install_runs import (
    ROLLOUT_TAG,
    describe_params,
    host_status,
    install_tags,
    latest_invocations,
)
from ansible_collections.winfleet.updates.plugins.module_utils._ecs_rollout import decision_record

OLD_PROBE = {"is_virtio_guest": True, "update_supported": True, "update_needed": True, "virtio_build": 58011,
             "file_version": "62.77.104.58011", "missing_capabilities": ["serial_query"],
             "required_capabilities": ["online_resize", "serial_query"]}
NEW_PROBE = {**OLD_PROBE, "update_needed": False, "virtio_build": 58017, "file_version": "62.77.104.58017",
             "missing_capabilities": []}


def invocation(invoke_id: str, status: str, start: str, exit_code=None, rollout: str = "CHG-1", instance: str = "i-a"):
    return {"InvokeId": invoke_id, "Tags": {"Tag": [{"TagKey": ROLLOUT_TAG, "TagValue": rollout}]},
            "InvokeInstances": {"InvokeInstance": [{"InstanceId": instance, "InvocationStatus": status,
                                                    "ExitCode": exit_code, "StartTime": start,
                                                    "FinishTime": None if status == "Running" else start}]}}


def test_the_install_is_tagged_and_listed_by_its_rollout_id():
    assert install_tags("CHG-1") == [{"Key": ROLLOUT_TAG, "Value": "CHG-1"}]
    assert install_tags("") == []
    assert describe_params("cn-hangzhou", "CHG-1") == {"RegionId": "cn-hangzhou", "Tag": install_tags("CHG-1"),
                                                        "IncludeOutput": False}


def test_the_latest_invocation_of_this_rollout_wins_and_others_are_ignored():
    found = latest_invocations([
        invocation("t-old", "Failed", "2026-01-01T10:00:00Z", 1603),
        invocation("t-new", "Running", "2026-01-01T11:00:00Z"),
        invocation("t-other", "Success", "2026-01-01T12:00:00Z", 0, rollout="CHG-2"),
    ], "CHG-1")
    assert found["i-a"]["invoke_id"] == "t-new" and found["i-a"]["status"] == "Running"


BOOT_BEFORE = "2026-01-01T09:00:00Z"
BOOT_AFTER = "2026-01-01T12:00:00Z"


@pytest.mark.parametrize(
    ("status", "exit_code", "boot", "probe", "decision"),
    [
        ("Running", None, BOOT_BEFORE, OLD_PROBE, "attach"),
        ("Pending", None, BOOT_BEFORE, OLD_PROBE, "attach"),
        ("Success", 0, BOOT_BEFORE, OLD_PROBE, "reboot_pending"),
        # 3010 "restart required" is reported Failed / ExitCodeNonzero by Cloud Assistant: still a success
        ("Failed", 3010, BOOT_BEFORE, OLD_PROBE, "reboot_pending"),
        # the file may show the new version before the restart: the running driver is still the old one
        ("Success", 0, BOOT_BEFORE, NEW_PROBE, "reboot_pending"),
        ("Success", 0, BOOT_AFTER, NEW_PROBE, "updated"),
        ("Failed", 1603, BOOT_BEFORE, OLD_PROBE, "install"),
        ("Timeout", None, BOOT_BEFORE, OLD_PROBE, "install"),
        # no readable boot time: never "only the reboot"; installed again where still needed
        ("Success", 0, None, OLD_PROBE, "install"),
    ],
)
def test_cloud_assistants_record_decides_like_the_winrm_run_record(status, exit_code, boot, probe, decision):
    latest = latest_invocations([invocation("t-1", status, "2026-01-01T10:00:00Z", exit_code)], "CHG-1")
    record = decision_record(probe, host_status(latest["i-a"], "CHG-1", boot), "CHG-1")
    assert record["decision"] == decision, record["decision_msg"]
    if decision in ("attach", "reboot_pending"):
        assert record["invoke_id"] == "t-1"
    if decision == "updated":
        assert record["build_after"] == 58017 and "rollout CHG-1 updated this host" in record["decision_msg"]


def test_without_an_invocation_the_probe_alone_decides():
    assert decision_record(OLD_PROBE, host_status(None, "CHG-1", BOOT_BEFORE), "CHG-1")["decision"] == "install"
    assert decision_record(NEW_PROBE, host_status(None, "CHG-1", BOOT_BEFORE), "CHG-1")["decision"] == "compliant"


def test_the_install_of_a_taken_over_rollout_is_attached_to_but_reports_updated_only_for_its_own_rollout():
    invocations = [invocation("t-1", "Running", "2026-01-01T10:00:00Z", rollout="CHG-OLD")]
    latest = latest_invocations(invocations, {"CHG-NEW", "CHG-OLD"})
    assert latest["i-a"]["rollout_id"] == "CHG-OLD"
    assert decision_record(OLD_PROBE, host_status(latest["i-a"], "CHG-NEW", BOOT_BEFORE), "CHG-NEW")["decision"] == "attach"
    done = latest_invocations([invocation("t-1", "Success", "2026-01-01T10:00:00Z", 0, rollout="CHG-OLD")],
                              {"CHG-NEW", "CHG-OLD"})
    # updated by another rollout and restarted since: this rollout finds the host compliant, as over WinRM
    record = decision_record(NEW_PROBE, host_status(done["i-a"], "CHG-NEW", BOOT_AFTER), "CHG-NEW")
    assert record["decision"] == "compliant"
    assert latest_invocations(invocations, "CHG-NEW") == {}
