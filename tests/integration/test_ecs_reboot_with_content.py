"""ecs_cloud_assistant action=reboot with a command is refused before any API call, under ansible-playbook.

RebootInstances runs nothing (https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-rebootinstances):
a command given with action=reboot used to be dropped silently while the instance rebooted.
"""

from __future__ import annotations

import pytest
import yaml

from tests.fakeecs import TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET
from tests.integration.conftest import run_playbook


@pytest.mark.parametrize(("option", "value"), [("content", "Restart-Service netkvm"), ("command_id", "c-hz01abc")])
def test_a_command_with_action_reboot_is_refused_and_nothing_reboots(ecs_lab, tmp_path, option, value):
    lab, fake = ecs_lab({"hosts": {"web01": {"ecs": {"instance_id": "i-web01", "region_id": "cn-hangzhou"},
                                             "drivers": {"viostor.sys": "62.77.104.58011"}}}})
    playbook = tmp_path / "reboot.yml"
    playbook.write_text(yaml.safe_dump([{
        "hosts": "localhost", "gather_facts": False,
        "tasks": [{"name": "Reboot with a command", "winfleet.updates.ecs_cloud_assistant": {
            "action": "reboot", option: value, "instance_ids": ["i-web01"], "region_id": "cn-hangzhou",
            "poll_interval": 0.2, "wait_timeout": 30}}],
    }]), encoding="utf-8")
    run = run_playbook(str(playbook), lab.root / "inventory.yml", tmp_path / "reports", env={
        "ALIBABA_CLOUD_ACCESS_KEY_ID": TEST_ACCESS_KEY_ID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": TEST_ACCESS_KEY_SECRET,
        "WINFLEET_ECS_ENDPOINT": fake.url})
    assert run.returncode != 0
    assert f"{option}: is only used with action=run; action=reboot only restarts the instances" in " ".join(
        run.output.split()), run.output
    assert fake.calls == [], "refused before any API call"
    assert "went_down" not in [event["event"] for event in lab.read_host("web01").get("events", [])]
