"""ecs_cloud_assistant's logic with the real SDK against the fake ECS endpoint (signatures verified)."""

from __future__ import annotations

import base64
import json
import time

import pytest

from ansible_collections.winfleet.updates.plugins.module_utils._alicloud import AlicloudError, Waiting
from ansible_collections.winfleet.updates.plugins.module_utils._ecs_cloud_assistant import (
    VIRTIO_COMMON_COMMAND,
    VIRTIO_PLUGIN_CONTENT,
    failure_message,
    reboot,
    run_on_instances,
)
from ansible_collections.winfleet.updates.plugins.module_utils._errors import InputError
from tests.integration.ecs_helpers import FAST, client_for, host, touched

OLD = "62.77.104.58011"
NEW = "62.77.104.58017"


def fleet(*hosts):
    merged = {}
    for item in hosts:
        merged.update(item)
    return {"hosts": merged}


def virtio_host(name, instance_id, **extra):
    return host(
        name, instance_id, drivers={"viostor.sys": OLD, "netkvm.sys": OLD}, update={"to": NEW}, **extra
    )


def by_instance(result):
    return {r["instance_id"]: r for r in result["results"]}


def test_run_command_returns_each_instances_output(ecs_lab):
    lab, fake = ecs_lab(fleet(host("a", "i-a"), host("b", "i-b")))
    content = "Write-Output 'Grüße aus a'\nWrite-Output \"line two\"\n"
    result = run_on_instances(client_for(fake), ["i-a", "i-b"], content=content, waiting=FAST)
    assert result["failed_instance_ids"] == []
    assert [r["instance_id"] for r in result["results"]] == ["i-a", "i-b"]
    for record in result["results"]:
        assert (record["status"], record["exit_code"], record["succeeded"]) == ("Success", 0, True)
        assert record["output"] == "Grüße aus a\nline two"
    ((name, params),) = [(n, p) for n, p in fake.calls if n == "RunCommand"]
    assert params["Type"] == "RunPowerShellScript" and params["ContentEncoding"] == "Base64"
    assert base64.b64decode(params["CommandContent"]).decode("utf-8") == content
    assert (params["InstanceId.1"], params["InstanceId.2"]) == ("i-a", "i-b")


def test_a_non_zero_exit_code_is_that_instances_failure(ecs_lab):
    lab, fake = ecs_lab(fleet(host("a", "i-a")))
    result = run_on_instances(client_for(fake), ["i-a"], content="Write-Output 'bad'\nexit 3\n", waiting=FAST)
    record = result["results"][0]
    assert (record["status"], record["exit_code"], record["error_code"], record["succeeded"]) == (
        "Failed",
        3,
        "ExitCodeNonzero",
        False,
    )
    assert record["output"] == "bad"
    assert result["failed_instance_ids"] == ["i-a"]
    assert (
        failure_message(record)
        == "i-a: the command ended with exit code 3; see its output (ExitCodeNonzero: the "
        "process exited with a non-zero exit code: 3)"
    )


def test_client_not_running_is_reported_per_instance(ecs_lab):
    lab, fake = ecs_lab(fleet(host("a", "i-a"), host("b", "i-b", ecs={"cloud_assistant": False})))
    result = run_on_instances(client_for(fake), ["i-a", "i-b"], content="Write-Output 'x'", waiting=FAST)
    records = by_instance(result)
    assert records["i-a"]["succeeded"] is True
    # found by DescribeCloudAssistantStatus before the call: left out of it, reported on its own
    assert (records["i-b"]["status"], records["i-b"]["error_code"]) == ("ClientNotRunning", "ClientNotRunning")
    assert "the Cloud Assistant agent is not running on the instance" in failure_message(records["i-b"])
    assert result["failed_instance_ids"] == ["i-b"]
    ((_name, params),) = [(n, p) for n, p in fake.calls if n == "RunCommand"]
    assert [v for k, v in params.items() if k.startswith("InstanceId.")] == ["i-a"]


def test_more_than_100_instances_are_batched(ecs_lab):
    # RunCommand takes 1 to 100 InstanceId.N (the pinned SDK's RunCommandRequest; older pages said 50)
    hosts = [host(f"h{n:03d}", f"i-h{n:03d}") for n in range(105)]
    lab, fake = ecs_lab(fleet(*hosts))
    ids = [f"i-h{n:03d}" for n in range(105)]
    result = run_on_instances(
        client_for(fake), ids, content="Write-Output 'ok'", waiting=Waiting(timeout=60, interval=0.05)
    )
    assert [len(b) for b in result["batches"]] == [100, 5]
    assert fake.count("RunCommand") == 2
    assert [r["instance_id"] for r in result["results"]] == ids
    assert all(r["succeeded"] for r in result["results"])
    assert len({r["invoke_id"] for r in result["results"]}) == 2


def test_output_above_24_kb_is_cut_and_dropped_is_reported(ecs_lab):
    lab, fake = ecs_lab(fleet(host("a", "i-a")))
    result = run_on_instances(client_for(fake), ["i-a"], content="Write-Output ('x' * 30000)", waiting=FAST)
    record = result["results"][0]
    assert len(record["output"]) == 24 * 1024
    assert (record["dropped"], record["output_truncated"]) == (30000 - 24 * 1024, True)


def test_the_common_command_installs_and_the_api_reboot_applies_it(ecs_lab):
    lab, fake = ecs_lab(fleet(virtio_host("web01", "i-web01"), virtio_host("web02", "i-web02")))
    client = client_for(fake)
    result = run_on_instances(client, ["i-web01", "i-web02"], command_id=VIRTIO_COMMON_COMMAND, waiting=FAST)
    assert all(r["succeeded"] for r in result["results"])
    assert f"The virtio driver {NEW} is installed" in result["results"][0]["output"]
    ((name, params),) = [(n, p) for n, p in fake.calls if n == "InvokeCommand"]
    assert params["CommandId"] == VIRTIO_COMMON_COMMAND
    state = touched(lab, "web01")
    # the same representation as the rollout's install path: a winhost run that staged the driver
    (run,) = state["virtio_runs"].values()
    assert (run["source"], run["state"], run["exit_code"]) == ("cloud_assistant_api", "finished", 0)
    assert state["pending_driver"] == NEW
    assert state["drivers"]["viostor.sys"]["file_version"] == OLD  # not before the reboot

    rebooted = reboot(client, ["i-web01", "i-web02"], waiting=FAST)
    assert rebooted["failed_instance_ids"] == []
    assert all(r["rebooted"] and r["status"] == "Running" for r in rebooted["results"])
    for name in ("web01", "web02"):
        state = touched(lab, name)
        assert state["drivers"]["viostor.sys"]["file_version_parts"] == [62, 77, 104, 58017]
        assert "pending_driver" not in state and state["boots"] == 1
        assert [e["event"] for e in state["events"]] == [
            "install_started", "ecs_virtio_install", "install_finished", "reboot_requested", "ecs_reboot",
            "went_down", "booted",
        ]


def test_the_plugin_content_installs_too(ecs_lab):
    lab, fake = ecs_lab(fleet(virtio_host("web01", "i-web01")))
    result = run_on_instances(client_for(fake), ["i-web01"], content=VIRTIO_PLUGIN_CONTENT, waiting=FAST)
    assert result["results"][0]["succeeded"] is True
    assert touched(lab, "web01")["pending_driver"] == NEW


def test_the_install_drops_the_network_for_a_moment(ecs_lab):
    lab, fake = ecs_lab(fleet(virtio_host("web01", "i-web01", faults={"nic_drop_s": 100000})))
    run_on_instances(client_for(fake), ["i-web01"], command_id=VIRTIO_COMMON_COMMAND, waiting=FAST)
    (outage,) = lab.read_host("web01")["outages"]
    assert outage["until"] > time.time()
    assert "the network is down while the virtio NIC driver is replaced" in outage["reason"]


def test_reboot_waits_until_running_again(ecs_lab):
    lab, fake = ecs_lab(fleet(host("a", "i-a")))
    fake.world.reboot_seconds = 50  # 0.5 s
    seen = []
    client = client_for(fake)
    original = client.call

    def spy(action, params, **kwargs):
        body = original(action, params, **kwargs)
        if action == "DescribeInstances":
            seen.extend(i["Status"] for i in body["Instances"]["Instance"])
        return body

    client.call = spy
    started = time.monotonic()
    result = reboot(client, ["i-a"], waiting=Waiting(timeout=30, interval=0.05))
    assert time.monotonic() - started >= 0.5
    assert result["results"][0]["rebooted"] is True
    assert "Stopping" in seen and "Starting" in seen and seen[-1] == "Running"
    ((name, params),) = [(n, p) for n, p in fake.calls if n == "RebootInstances"]
    assert (params["InstanceId.1"], params["ForceReboot"].lower()) == (
        "i-a",
        "false",
    )  # the SDK sends "False"


def test_reboot_timeout_is_reported_per_instance(ecs_lab):
    lab, fake = ecs_lab(fleet(host("a", "i-a")))
    fake.world.reboot_seconds = 100000
    result = reboot(client_for(fake), ["i-a"], waiting=Waiting(timeout=0.2, interval=0.05))
    assert result["failed_instance_ids"] == ["i-a"]
    assert "not Running again after 0.2 s" in failure_message(result["results"][0])


def test_missing_and_stopped_instances_are_skipped_the_others_run(ecs_lab):
    lab, fake = ecs_lab(fleet(host("a", "i-a"), host("b", "i-b", ecs={"status": "Stopped"})))
    result = run_on_instances(
        client_for(fake), ["i-a", "i-b", "i-gone"], content="Write-Output 'x'", waiting=FAST
    )
    records = by_instance(result)
    assert records["i-a"]["succeeded"] is True
    assert (records["i-b"]["status"], records["i-b"]["error_info"]) == (
        "InstanceNotRunning",
        "the instance is Stopped, not Running",
    )
    assert records["i-gone"]["status"] == "NotFound"
    assert (
        "no instance i-gone in region cn-hangzhou; check ecs_instance_id and alicloud_region"
        in failure_message(records["i-gone"])
    )
    assert sorted(result["failed_instance_ids"]) == ["i-b", "i-gone"]
    ((name, params),) = [(n, p) for n, p in fake.calls if n == "RunCommand"]
    assert [v for k, v in params.items() if k.startswith("InstanceId.")] == ["i-a"]


def test_content_over_24_kb_is_refused_before_any_call(ecs_lab):
    lab, fake = ecs_lab(fleet(host("a", "i-a")))
    with pytest.raises(InputError) as err:
        run_on_instances(client_for(fake), ["i-a"], content="x" * 19000, waiting=FAST)
    assert err.value.field == "content"
    assert fake.calls == []


def test_an_execution_timeout(ecs_lab):
    lab, fake = ecs_lab(fleet(host("a", "i-a")))
    fake.world.invocation_seconds = 120
    result = run_on_instances(client_for(fake), ["i-a"], content="Write-Output 'x'", timeout=30, waiting=FAST)
    record = result["results"][0]
    assert (record["status"], record["error_code"]) == ("Timeout", "ExecutionTimeout")
    assert "raise timeout" in failure_message(record)


def test_the_wait_timeout_leaves_instances_unfinished(ecs_lab):
    lab, fake = ecs_lab(fleet(host("a", "i-a")))
    fake.world.invocation_seconds = 100000
    result = run_on_instances(
        client_for(fake),
        ["i-a"],
        content="Write-Output 'x'",
        timeout=86400,
        waiting=Waiting(timeout=0.2, interval=0.05),
    )
    record = result["results"][0]
    assert (record["status"], record["finished"]) == ("Running", False)
    assert result["failed_instance_ids"] == ["i-a"]
    assert "still Running when the wait ended; raise wait_timeout" in failure_message(record)


@pytest.mark.parametrize("action", ["run", "reboot"])
def test_check_mode_runs_nothing(ecs_lab, action):
    lab, fake = ecs_lab(fleet(virtio_host("web01", "i-web01"), virtio_host("web02", "i-web02")))
    client = client_for(fake)
    if action == "run":
        result = run_on_instances(
            client, ["i-web01", "i-web02"], command_id=VIRTIO_COMMON_COMMAND, check_mode=True
        )
        assert [r["status"] for r in result["results"]] == ["WouldRun", "WouldRun"]
    else:
        result = reboot(client, ["i-web01", "i-web02"], check_mode=True)
        assert [r["status"] for r in result["results"]] == ["WouldReboot", "WouldReboot"]
    assert result["changed"] is True and result["batches"] == [["i-web01", "i-web02"]]
    reads = {"DescribeInstances", "DescribeCloudAssistantStatus"} if action == "run" else {"DescribeInstances"}
    assert {name for name, _p in fake.calls} == reads
    assert "virtio_runs" not in lab.read_host("web01") and "reboot" not in lab.read_host("web01")


def test_throttled_run_command_is_retried_with_the_same_client_token(ecs_lab):
    lab, fake = ecs_lab(fleet(host("a", "i-a")))
    fake.throttle(2, action="RunCommand")
    result = run_on_instances(client_for(fake), ["i-a"], content="Write-Output 'x'", waiting=FAST)
    assert result["results"][0]["succeeded"] is True
    tokens = {p["ClientToken"] for n, p in fake.calls if n == "RunCommand"}
    assert fake.count("RunCommand") == 3 and len(tokens) == 1
    assert len(lab.read_host("a")["ecs"]["invocations"]) == 1


def test_a_denied_run_command_names_the_permission(ecs_lab):
    lab, fake = ecs_lab(fleet(host("a", "i-a")))
    fake.deny("RunCommand")
    with pytest.raises(AlicloudError) as err:
        run_on_instances(client_for(fake), ["i-a"], content="Write-Output 'x'", waiting=FAST)
    assert "grant ecs:RunCommand" in str(err.value)


def test_an_unknown_common_command_is_explained(ecs_lab):
    lab, fake = ecs_lab(fleet(host("a", "i-a")))
    with pytest.raises(AlicloudError) as err:
        run_on_instances(client_for(fake), ["i-a"], command_id="ACS-ECS-DoesNotExist.ps1", waiting=FAST)
    assert err.value.code == "InvalidCommandId.NotFound"
    assert "ACS-ECS-DoesNotExist.ps1 on 1 instance(s)" in str(err.value)


def test_a_wrong_secret_is_rejected_with_the_real_error_shape(ecs_lab):
    lab, fake = ecs_lab(fleet(host("a", "i-a")))
    with pytest.raises(AlicloudError) as err:
        run_on_instances(
            client_for(fake, access_key_secret="wrong"), ["i-a"], content="Write-Output 'x'", waiting=FAST
        )
    assert err.value.code == "SignatureDoesNotMatch"
    assert err.value.request_id
    assert "the credentials were not accepted" in str(err.value)
    assert fake.calls == [] and fake.rejected == [("DescribeInstances", "SignatureDoesNotMatch")]
    assert "wrong" not in json.dumps(str(err.value))


@pytest.mark.parametrize(
    ("timeout", "interval", "field"), [(-1, 1, "wait_timeout"), (60, 0, "poll_interval")]
)
def test_bad_wait_bounds_fail_before_anything_runs(ecs_lab, timeout, interval, field):
    lab, fake = ecs_lab(fleet(host("a", "i-a")))
    with pytest.raises(InputError) as err:
        run_on_instances(
            client_for(fake), ["i-a"], content="Write-Output 'x'", waiting=Waiting(timeout, interval)
        )
    assert err.value.field == field
    with pytest.raises(InputError):
        reboot(client_for(fake), ["i-a"], waiting=Waiting(timeout, interval))
    assert fake.calls == []
