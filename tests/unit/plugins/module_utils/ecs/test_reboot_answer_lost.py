"""A RebootInstances whose answer was lost is judged by the instance's Status and StartTime, not reported failed."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.winfleet.updates.plugins.module_utils import _ecs_cloud_assistant as c
from ansible_collections.winfleet.updates.plugins.module_utils._alicloud import CONNECTION, AlicloudError, Waiting


class ScriptedClient:
    """Answers DescribeInstances from a script of states; RebootInstances loses its answer."""

    region_id = "cn-hangzhou"

    def __init__(self, states: list[tuple[str, str]], reboot_error_kind: str = CONNECTION) -> None:
        self.states = states
        self.reboot_error_kind = reboot_error_kind
        self.calls: list[str] = []

    def call(self, action: str, params: dict[str, Any], context: str = "", idempotent: bool | None = None) -> dict[str, Any]:
        self.calls.append(action)
        if action == "RebootInstances":
            raise AlicloudError(action, self.reboot_error_kind, "SDK.ConnectionTimeout", "read timed out")
        status, start = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        return {"Instances": {"Instance": [{"InstanceId": "i-bp1a", "Status": status, "StartTime": start}]}}


def waiting() -> Waiting:
    now = [0.0]
    return Waiting(timeout=10, interval=1, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))


def test_an_instance_that_did_reboot_is_reported_rebooted():
    client = ScriptedClient([("Running", "T0"), ("Running", "T0"), ("Starting", "T0"), ("Running", "T1")])
    result = c.reboot(client, ["i-bp1a"], waiting=waiting())
    (row,) = result["results"]
    assert (row["rebooted"], row["succeeded"], row["error_info"]) == (True, True, None)
    assert result["failed_instance_ids"] == []
    assert client.calls.count("RebootInstances") == 1, "a reboot whose answer was lost is never sent twice"


def test_an_instance_that_did_not_reboot_says_the_answer_was_lost():
    client = ScriptedClient([("Running", "T0")])
    result = c.reboot(client, ["i-bp1a"], waiting=waiting())
    (row,) = result["results"]
    assert row["succeeded"] is False
    assert "the answer to RebootInstances was lost" in row["error_info"] and "StartTime did not change" in row["error_info"]


def test_a_refused_reboot_still_fails_the_call():
    client = ScriptedClient([("Running", "T0")], reboot_error_kind="client")
    with pytest.raises(AlicloudError):
        c.reboot(client, ["i-bp1a"], waiting=waiting())
