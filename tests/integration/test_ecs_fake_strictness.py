"""The fake ECS refuses what the real endpoint refuses, so the product cannot rely on leniency."""

from __future__ import annotations

import pytest

from ansible_collections.winfleet.updates.plugins.module_utils._alicloud import AlicloudError
from ansible_collections.winfleet.updates.plugins.module_utils._ecs_snapshot import ensure_snapshots
from tests.fakeecs.errors import ApiError
from tests.fakeecs.strict import check_request
from tests.integration.ecs_helpers import FAST, client_for, disk, host

TWO_ESSD = [disk("d-sys", "system"), disk("d-data")]


def lab_with_web01(ecs_lab):
    return ecs_lab({"hosts": host("web01", "i-web01", TWO_ESSD)})


@pytest.mark.parametrize(
    ("action", "params", "code", "text"),
    [
        (
            "RunCommand",
            {"RegionId": "cn-hangzhou", "Type": "RunPowerShellScript", "InstanceId": ["i-web01"]},
            "MissingParameter",
            '"CommandContent" that is mandatory',
        ),
        ("CreateSnapshot", {"SnapshotName": "x1"}, "MissingParameter", '"DiskId" that is mandatory'),
        ("DescribeInstances", {"RegionId": "cn-atlantis"}, "InvalidRegionId.NotFound", "cn-atlantis"),
    ],
)
def test_bad_requests_are_refused(ecs_lab, action, params, code, text):
    lab, fake = lab_with_web01(ecs_lab)
    with pytest.raises(AlicloudError) as err:
        client_for(fake).call(action, params)
    assert err.value.code == code
    assert text in str(err.value)


def test_a_parameter_the_action_does_not_have_is_refused():
    # the SDK drops unknown fields itself, so this is the fake's check on its own
    with pytest.raises(ApiError) as err:
        check_request("DescribeSnapshots", {"RegionId": "cn-hangzhou", "InstanceIdd": "i-web01"})
    assert (err.value.code, err.value.message) == (
        "InvalidParameter",
        "The specified parameter InstanceIdd is not valid for DescribeSnapshots.",
    )
    check_request("DescribeSnapshots", {"RegionId": "cn-hangzhou", "Tag.1.Key": "k", "Tag.1.Value": "v"})


def test_a_client_token_replayed_with_other_parameters_is_refused(ecs_lab):
    lab, fake = lab_with_web01(ecs_lab)
    client = client_for(fake)
    first = client.call("CreateSnapshot", {"DiskId": "d-sys", "ClientToken": "tok-1"})
    again = client.call("CreateSnapshot", {"DiskId": "d-sys", "ClientToken": "tok-1"})
    assert again["SnapshotId"] == first["SnapshotId"]
    with pytest.raises(AlicloudError) as err:
        client.call("CreateSnapshot", {"DiskId": "d-data", "ClientToken": "tok-1"})
    assert err.value.code == "IdempotentParameterMismatch"
    assert len(lab.read_host("web01")["ecs"]["snapshots"]) == 1


@pytest.mark.parametrize(
    ("action", "snapshot_group"), [("CreateSnapshot", "never"), ("CreateSnapshotGroup", "auto")]
)
def test_a_lost_response_is_retried_without_creating_twice(ecs_lab, action, snapshot_group):
    lab, fake = lab_with_web01(ecs_lab)
    fake.lose_response(action)
    result = ensure_snapshots(client_for(fake), "i-web01", "r1", snapshot_group=snapshot_group, waiting=FAST)
    state = lab.read_host("web01")["ecs"]
    assert len(state["snapshots"]) == 2 == len(result["snapshot_ids"])
    assert len(state.get("snapshot_groups", [])) == (1 if snapshot_group == "auto" else 0)
    # the retry reused the first request's ClientToken
    tokens = [p["ClientToken"] for n, p in fake.calls if n == action]
    assert len(tokens) == (3 if action == "CreateSnapshot" else 2)
    assert tokens[0] == tokens[1]


def test_a_throttling_answers_retry_after_is_honoured(ecs_lab):
    from ansible_collections.winfleet.updates.plugins.module_utils._alicloud import ecs_client_from_params
    from tests.fakeecs import TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET

    lab, fake = lab_with_web01(ecs_lab)
    slept = []
    options = {
        "access_key_id": TEST_ACCESS_KEY_ID,
        "access_key_secret": TEST_ACCESS_KEY_SECRET,
        "region_id": "cn-hangzhou",
        "endpoint": fake.url,
        "api_retries": 3,
        "api_retry_delay": 0.001,
    }
    client, _credentials = ecs_client_from_params(options, {}, sleep=slept.append)
    fake.throttle(1, "DescribeInstances", retry_after_ms=1500)
    client.call("DescribeInstances", {"RegionId": "cn-hangzhou"})
    assert slept == [1.5]  # the API's 1.5 s, not the 1 ms back-off
