"""The fake's DescribeInvocations: the documented filters, tags, per-instance and overall statuses, paging."""

from __future__ import annotations

from tests.fakeecs import invocations

NOW = 1_000.0


def record(invoke_id: str, instance: str, final: str, ends: float, tags=(), name="winfleet-virtio-install",
           exit_code=0) -> dict:
    return {"InvokeId": invoke_id, "InstanceId": instance, "CommandId": "c-1", "CommandName": name,
            "CommandType": "RunPowerShellScript", "Tags": [dict(t) for t in tags], "StartTime": "2026-01-01T10:00:00Z",
            "ends": ends, "final": final, "ExitCode": exit_code, "ErrorCode": ""}


def hosts(*records: dict) -> list:
    by_host: dict[str, dict] = {}
    for item in records:
        by_host.setdefault(item["InstanceId"], {"ecs": {"invocations": {}}})["ecs"]["invocations"][item["InvokeId"]] = item
    return list(by_host.items())


TAG = [{"Key": "winfleet-virtio-rollout-id", "Value": "CHG-1"}]
LAB = hosts(
    record("t-run", "i-a", "Success", NOW + 10, TAG),
    record("t-run", "i-b", "Success", NOW - 1, TAG),
    record("t-part", "i-a", "Failed", NOW - 1, TAG, exit_code=1603),
    record("t-part", "i-b", "Success", NOW - 1, TAG),
    record("t-other", "i-c", "Success", NOW - 1, [{"Key": "winfleet-virtio-rollout-id", "Value": "CHG-2"}]),
    record("t-untagged", "i-c", "Failed", NOW - 1, name="probe", exit_code=1),
)


def ids(answer: dict) -> list[str]:
    return sorted(i["InvokeId"] for i in answer["Invocations"]["Invocation"])


def test_the_tag_filter_needs_key_and_value_to_match_and_a_key_alone_matches_any_value():
    assert ids(invocations.describe({"Tag.1.Key": "winfleet-virtio-rollout-id", "Tag.1.Value": "CHG-1"}, LAB, NOW)) == [
        "t-part", "t-run"]
    assert ids(invocations.describe({"Tag.1.Key": "winfleet-virtio-rollout-id"}, LAB, NOW)) == [
        "t-other", "t-part", "t-run"]


def test_overall_and_per_instance_statuses_follow_the_reference():
    answer = {i["InvokeId"]: i for i in invocations.describe({}, LAB, NOW)["Invocations"]["Invocation"]}
    assert answer["t-run"]["InvokeStatus"] == "Running"
    per_instance = {i["InstanceId"]: i for i in answer["t-run"]["InvokeInstances"]["InvokeInstance"]}
    assert per_instance["i-a"]["InvocationStatus"] == "Running" and per_instance["i-a"]["ExitCode"] is None
    assert per_instance["i-b"]["InvocationStatus"] == "Success"
    assert answer["t-part"]["InvokeStatus"] == "PartialFailed"
    assert answer["t-untagged"]["InvokeStatus"] == "Failed"
    assert answer["t-other"]["Tags"]["Tag"] == [{"TagKey": "winfleet-virtio-rollout-id", "TagValue": "CHG-2"}]


def test_instance_status_name_filters_and_paging():
    assert ids(invocations.describe({"InstanceId": "i-c"}, LAB, NOW)) == ["t-other", "t-untagged"]
    assert ids(invocations.describe({"InvokeStatus": "Running"}, LAB, NOW)) == ["t-run"]
    assert ids(invocations.describe({"CommandName": "probe"}, LAB, NOW)) == ["t-untagged"]
    first = invocations.describe({"PageSize": "2", "PageNumber": "1"}, LAB, NOW)
    second = invocations.describe({"PageSize": "2", "PageNumber": "2"}, LAB, NOW)
    assert first["TotalCount"] == 4 and len(first["Invocations"]["Invocation"]) == 2
    assert len(second["Invocations"]["Invocation"]) == 2 and not set(ids(first)) & set(ids(second))
