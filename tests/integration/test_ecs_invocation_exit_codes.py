"""The Cloud Assistant API install path judges the installer's real exit code, and passes Timeout.

DescribeInvocationResults reports any non-zero exit code as InvocationStatus ``Failed`` with
ErrorCode ``ExitCodeNonzero``; the fake keeps the installer's code (3010 stays 3010), and the
module reads 3010 / 1641 as "installed, restart required".
"""

from __future__ import annotations

import pytest

from ansible_collections.winfleet.updates.plugins.module_utils._ecs_cloud_assistant import (
    VIRTIO_COMMON_COMMAND,
    run_on_instances,
)
from tests.integration.ecs_helpers import FAST, client_for, host, touched

OLD = "62.77.104.58011"
NEW = "62.77.104.58017"


def virtio_fleet(**update):
    return {
        "hosts": host(
            "web01",
            "i-web01",
            drivers={"viostor.sys": OLD, "netkvm.sys": OLD},
            update={"to": NEW, **update},
        )
    }


def test_the_fake_reports_the_installers_3010_as_describe_invocation_results_does(ecs_lab):
    lab, fake = ecs_lab(virtio_fleet(exit_code=3010))
    result = run_on_instances(client_for(fake), ["i-web01"], command_id=VIRTIO_COMMON_COMMAND, waiting=FAST)
    (record,) = result["results"]
    assert (record["status"], record["error_code"], record["exit_code"]) == (
        "Failed",
        "ExitCodeNonzero",
        3010,
    )
    # ... and the module reads it as success with a reboot
    assert (record["succeeded"], record["reboot_required"]) == (True, True)
    assert result["failed_instance_ids"] == []
    assert touched(lab, "web01")["pending_driver"] == NEW


@pytest.mark.parametrize(
    ("code", "succeeded", "reboot"),
    [(0, True, False), (3010, True, True), (1641, True, True), (1603, False, False)],
)
def test_content_exit_codes_are_judged_by_the_installer_convention(ecs_lab, code, succeeded, reboot):
    lab, fake = ecs_lab({"hosts": host("a", "i-a")})
    result = run_on_instances(
        client_for(fake), ["i-a"], content=f"Write-Output 'x'\nexit {code}\n", waiting=FAST
    )
    (record,) = result["results"]
    assert record["exit_code"] == code
    assert (record["succeeded"], record["reboot_required"]) == (succeeded, reboot)
    assert result["failed_instance_ids"] == ([] if succeeded else ["i-a"])


def test_invoke_command_passes_the_modules_timeout(ecs_lab):
    # the install takes 120 simulated seconds; a 60 s timeout must stop it, not the command's 3600 s
    lab, fake = ecs_lab(virtio_fleet(duration_s=120))
    result = run_on_instances(
        client_for(fake), ["i-web01"], command_id=VIRTIO_COMMON_COMMAND, timeout=60, waiting=FAST
    )
    ((_name, params),) = [(n, p) for n, p in fake.calls if n == "InvokeCommand"]
    assert params["Timeout"] == "60"
    (record,) = result["results"]
    assert (record["status"], record["error_code"], record["succeeded"]) == (
        "Timeout",
        "ExecutionTimeout",
        False,
    )
